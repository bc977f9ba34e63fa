import { test } from "node:test";
import assert from "node:assert/strict";
import { decodeTlv, findTlv } from "../../../src/cards/tlv.ts";
import { decodePointerFile } from "../../../src/cards/vitale/decode.ts";
import {
  createVitale1Emulator,
  createVitale2Emulator,
  FAMILY_OF_6,
  FAMILY_OF_4,
  VITALE2_MAX_BENEFICIARIES,
} from "../../../src/simulator/cards/vitale2/index.ts";

const hex = (text: string): Uint8Array => Uint8Array.from(Buffer.from(text.replace(/\s+/g, ""), "hex"));
const toHex = (bytes: Uint8Array): string => Buffer.from(bytes).toString("hex").toUpperCase();

const SELECT_VITALE_FCI = "00 A4 04 00 0B D2 50 00 00 02 56 49 54 41 4C 45 00";
const SELECT_VITALE = "00 A4 04 0C 0B D2 50 00 00 02 56 49 54 41 4C 45";
const SELECT_POINTERS = "00 A4 02 0C 02 20 01";

function send(
  emulator: { transmit(apdu: Uint8Array): Uint8Array | Promise<Uint8Array> },
  apdu: string,
): string {
  const out = emulator.transmit(hex(apdu));
  assert.ok(out instanceof Uint8Array);
  return toHex(out);
}

test("ATR is a Vitale 2 ATR (T=0: no TD1)", () => {
  assert.equal(toHex(createVitale2Emulator().atr), "3B75130000" + "4409EA9000");
  assert.equal(toHex(createVitale1Emulator().atr), "3F6525002C09699000");
});

test("SELECT application with FCI: 61xx, then GET RESPONSE returns the FCI", () => {
  const card = createVitale2Emulator();
  assert.equal(send(card, SELECT_VITALE_FCI), "610F");
  // asking for too much → 6C with the exact length
  assert.equal(send(card, "00 C0 00 00 20"), "6C0F");
  assert.equal(send(card, "00 C0 00 00 0F"), "6F0D840BD250000002564954414C45" + "9000");
  // the data is gone once delivered
  assert.equal(send(card, "00 C0 00 00 0F"), "6985");
});

test("GET RESPONSE in parts, and any other command drops what is pending", () => {
  const card = createVitale2Emulator();
  send(card, SELECT_VITALE_FCI);
  assert.equal(send(card, "00 C0 00 00 05"), "6F0D840BD2" + "610A");
  assert.equal(send(card, "00 C0 00 00 0A"), "50000002564954414C45" + "9000");
  send(card, SELECT_VITALE_FCI);
  assert.equal(send(card, SELECT_POINTERS), "9000");
  assert.equal(send(card, "00 C0 00 00 0F"), "6985");
});

test("READ BINARY on T=0: Le too long → 6Cxx; exact Le → 61xx; GET RESPONSE → the file", () => {
  const card = createVitale2Emulator();
  assert.equal(send(card, SELECT_VITALE), "9000");
  assert.equal(send(card, SELECT_POINTERS), "9000");
  const wrongLength = send(card, "00 B0 00 00 00");
  assert.match(wrongLength, /^6C[0-9A-F]{2}$/);
  const length = wrongLength.slice(2);
  assert.equal(send(card, `00 B0 00 00 ${length}`), `61${length}`);
  const response = send(card, `00 C0 00 00 ${length}`);
  assert.ok(response.endsWith("9000"));
  const pointer = decodePointerFile(hex(response.slice(0, -4)));
  assert.ok(pointer.ok);
  // CARTE + 4 beneficiaries in the VITALE application, PAN in MF_VITALE
  assert.deepEqual(
    pointer.value.files.map((file) => [file.name, file.entry, file.fid.toString(16)]),
    [
      ["CARTE", 1, "2002"],
      ["BENEF1", 1, "2004"],
      ["BENEF2", 1, "2005"],
      ["BENEF3", 1, "2006"],
      ["BENEF4", 1, "2007"],
      ["PAN", 2, "2f02"],
    ],
  );
  assert.deepEqual(
    pointer.value.applications.map((app) => [app.entry, toHex(app.aid)]),
    [
      [1, "D250000002564954414C45"],
      [2, "D2500000024D465F564954414C45"],
    ],
  );
});

test("a beneficiary file holds one 65 record with the public tags", () => {
  const card = createVitale2Emulator({ getResponse: false });
  send(card, SELECT_VITALE);
  assert.equal(send(card, "00 A4 02 0C 02 20 04"), "9000");
  const length = send(card, "00 B0 00 00 00").slice(2);
  const response = send(card, `00 B0 00 00 ${length}`);
  assert.ok(response.endsWith("9000"));
  const tlv = decodeTlv(hex(response.slice(0, -4)));
  assert.ok(tlv.ok);
  const record = tlv.nodes[0];
  assert.equal(record?.tag, 0x65);
  const text = (tag: number): string =>
    Buffer.from(findTlv(record?.children ?? [], tag)?.value ?? []).toString("latin1");
  assert.equal(text(0x80), FAMILY_OF_4[0]!.lastName);
  assert.equal(text(0x81), FAMILY_OF_4[0]!.firstName);
  assert.equal(text(0x82), FAMILY_OF_4[0]!.birthDate);
  assert.equal(text(0x93).slice(0, 13), FAMILY_OF_4[0]!.nir);
  assert.equal(text(0x93).length, 15);
});

test("offsets, errors and edge cases", () => {
  const card = createVitale2Emulator();
  assert.equal(send(card, "00 B0 00 00 10"), "6986"); // no current EF
  assert.equal(send(card, SELECT_POINTERS), "6A82"); // application not selected yet
  send(card, SELECT_VITALE);
  assert.equal(send(card, "00 A4 02 0C 02 3F 99"), "6A82");
  send(card, SELECT_POINTERS);
  assert.equal(send(card, "00 B0 7F 00 10"), "6B00");
  assert.equal(send(card, "00 B0 85 00 10"), "6A82"); // no file with short EF identifier 5
  assert.equal(send(card, "00 B0 00 00"), "6700"); // no Le
  assert.equal(send(card, "BC B0 00 00 10"), "6E00");
  assert.equal(send(card, "00 84 00 00 08"), "6D00");
  assert.equal(send(card, "00 A4"), "6700");
  assert.equal(send(card, "00 A4 04 00 0B D2 50"), "6700"); // Lc longer than the data
  assert.equal(send(card, "00 A4 08 00 02 20 01"), "6A86");
  card.reset();
  assert.equal(send(card, "00 B0 00 00 10"), "6986"); // reset forgets the selection
});

test("fault injection: a status error on one beneficiary file", () => {
  const card = createVitale2Emulator({ failingBeneficiary: { index: 2, sw: 0x6982 } });
  send(card, SELECT_VITALE);
  send(card, `00 A4 02 0C 02 ${card.beneficiaryFiles[2]!.toString(16)}`);
  assert.equal(send(card, "00 B0 00 00 00"), "6982");
  send(card, `00 A4 02 0C 02 ${card.beneficiaryFiles[1]!.toString(16)}`);
  assert.match(send(card, "00 B0 00 00 00"), /^6C/);
});

test("1 to 6 beneficiaries; fewer or more is refused", () => {
  assert.equal(createVitale2Emulator({ beneficiaries: FAMILY_OF_6 }).beneficiaryFiles.length, 6);
  assert.throws(() => createVitale2Emulator({ beneficiaries: [] }), RangeError);
  const seven = [...FAMILY_OF_6, FAMILY_OF_6[0]!];
  assert.equal(seven.length, VITALE2_MAX_BENEFICIARIES + 1);
  assert.throws(() => createVitale2Emulator({ beneficiaries: seven }), RangeError);
  assert.throws(() => createVitale2Emulator({ failingBeneficiary: { index: 4, sw: 0x6982 } }), RangeError);
});

test("Vitale 1 stand-in refuses the ISO class", () => {
  const card = createVitale1Emulator();
  assert.equal(send(card, SELECT_VITALE_FCI), "6E00");
  assert.equal(send(card, "BC B0 00 00 10"), "6D00");
});

test("split layout: Rufus's own commands find the names in the MF and the NIRs under VITALE", () => {
  const card = createVitale2Emulator({ layout: "split", getResponse: false });
  const readShortFile2 = (): Uint8Array => {
    const wrongLength = send(card, "00 B0 82 00 00");
    assert.match(wrongLength, /^6C[0-9A-F]{2}$/);
    const response = send(card, `00 B0 82 00 ${wrongLength.slice(2)}`);
    assert.ok(response.endsWith("9000"));
    return hex(response.slice(0, -4));
  };
  assert.equal(send(card, "00 A4 00 00 02 3F 00"), "6F10840E" + "D2500000024D465F564954414C45" + "9000");
  const identities = decodeTlv(readShortFile2(), { trailingPadding: true });
  assert.ok(identities.ok);
  assert.equal(identities.nodes.length, FAMILY_OF_4.length);
  const first = identities.nodes[0]!;
  assert.equal(
    Buffer.from(findTlv(first.children, 0x80)!.value).toString("latin1"),
    FAMILY_OF_4[0]!.lastName,
  );
  assert.equal(findTlv(first.children, 0x93), undefined, "no NIR in the MF");

  assert.equal(send(card, "00 A4 04 00 0B D2 50 00 00 02 56 49 54 41 4C 45").slice(-4), "9000");
  const nirs = decodeTlv(readShortFile2(), { trailingPadding: true });
  assert.ok(nirs.ok);
  assert.deepEqual(
    nirs.nodes.map((node) =>
      Buffer.from(findTlv(node.children, 0x93)!.value).toString("latin1").slice(0, 13),
    ),
    FAMILY_OF_4.map((f) => f.nir),
  );
  assert.equal(findTlv(nirs.nodes[0]!.children, 0x80), undefined, "no name under VITALE");
  // the single layout has no file behind the MF's short file 2
  const single = createVitale2Emulator();
  send(single, "00 A4 00 0C 02 3F 00");
  assert.equal(send(single, "00 B0 82 00 00"), "6A82");
});
