import { test } from "node:test";
import assert from "node:assert/strict";
import {
  decodeDataFile,
  decodePointerFile,
  formatBirthDate,
  latin1,
  MAX_POINTER_ENTRIES,
  splitNir,
} from "../../../src/cards/vitale/decode.ts";
import { PUBLIC_BENEFICIARY_LAYOUT } from "../../../src/cards/vitale/layout.ts";

const hex = (text: string): Uint8Array => Uint8Array.from(Buffer.from(text.replace(/\s+/g, ""), "hex"));

// E0 { A0 { 82 0001 0000 D250000002564954414C45 } 80 "BENEF1  " 0001 2004 }
const POINTERS = "E0 21 A0 11 82 0F 0001 0000 D250000002564954414C45 80 0C 42454E45463120FF 0001 2004";

test("pointer file: applications and files", () => {
  const decoded = decodePointerFile(hex(POINTERS + "FFFF"));
  assert.ok(decoded.ok);
  assert.deepEqual(
    decoded.value.applications.map((app) => [app.entry, Buffer.from(app.aid).toString("hex")]),
    [[1, "d250000002564954414c45"]],
  );
  // a non-printable byte in a name never reaches a warning as is
  assert.deepEqual(decoded.value.files, [{ name: "BENEF1", entry: 1, fid: 0x2004 }]);
});

test("pointer file: malformed shapes are refused with a reason", () => {
  const problem = (text: string): string => {
    const decoded = decodePointerFile(hex(text));
    assert.equal(decoded.ok, false);
    return decoded.ok ? "" : decoded.problem;
  };
  assert.match(problem("66 00"), /not one E0/);
  assert.match(problem(POINTERS + "66 00"), /not one E0/);
  assert.match(problem("E0 06 A0 04 82 02 00 01"), /application entry too short/);
  assert.match(problem("E0 05 80 03 41 42 43"), /not 12 bytes/);
  assert.match(
    problem("E0 21 A0 10 82 0E 0001 0000 D250000002564954414C45"),
    /malformed TLV \(VALUE_OVERRUN/,
  );
  const entry = "80 0C 42454E4546312020 0001 2004";
  const many = entry.repeat(MAX_POINTER_ENTRIES + 1).replace(/\s+/g, "");
  const length = many.length / 2;
  assert.match(problem(`E0 82 ${length.toString(16).padStart(4, "0")} ${many}`), /too many entries/);
});

test("data file: non-TLV content is skipped, malformed TLV is a problem, other objects ignored", () => {
  for (const empty of ["", "00 00 00", "04 00 12 34"]) {
    const decoded = decodeDataFile(hex(empty), PUBLIC_BENEFICIARY_LAYOUT);
    assert.ok(decoded.ok);
    assert.equal(decoded.value.records.length, 0);
  }
  const bad = decodeDataFile(hex("65 80 00 00"), PUBLIC_BENEFICIARY_LAYOUT);
  assert.deepEqual(bad, { ok: false, problem: "malformed TLV (INDEFINITE_LENGTH at offset 0)" });
  // a certificate (7F21) is not a beneficiary
  const certificate = decodeDataFile(hex("7F21 03 5F37 00"), PUBLIC_BENEFICIARY_LAYOUT);
  assert.ok(certificate.ok);
  assert.equal(certificate.value.records.length, 0);
});

test("data file: repeated known tags stay raw, the first one wins", () => {
  const file = hex("65 10 80 02 4C 45 80 02 4D 41 93 00 81 00 82 00 90 00");
  const decoded = decodeDataFile(file, PUBLIC_BENEFICIARY_LAYOUT);
  assert.ok(decoded.ok);
  const [beneficiary] = decoded.value.records;
  assert.equal(beneficiary?.lastName, "LE");
  assert.deepEqual(beneficiary?.raw, { "80": "4D41", "90": "" });
});

test("NIR split: 15, 13 and other lengths", () => {
  assert.deepEqual(splitNir("180012A00412397"), {
    nir: "180012A004123",
    key: "97",
    valid: (97n - (1800119004123n % 97n)).toString() === "97",
  });
  assert.deepEqual(splitNir("2822099350045"), { nir: "2822099350045", valid: true });
  assert.deepEqual(splitNir("28220993500"), { nir: "28220993500", valid: false });
  assert.deepEqual(splitNir("282209935004X12"), { nir: "282209935004X", key: "12", valid: false });
});

test("birth dates stay strings, lunar 00 kept; text padding trimmed", () => {
  assert.equal(formatBirthDate("19820000"), "1982-00-00");
  assert.equal(formatBirthDate("19821300"), "1982-13-00");
  assert.equal(formatBirthDate("1982-01-01"), undefined);
  assert.equal(formatBirthDate("198201"), undefined);
  assert.equal(latin1(hex("20 4D 41 C3 AB 4C 00 FF")), "MA\u00c3\u00abL");
  assert.equal(latin1(hex("4D 41 CB 4C 4C 45")), "MAËLLE");
});
