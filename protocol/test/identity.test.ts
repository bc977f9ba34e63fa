import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import {
  GS,
  IdentityRuleError,
  InsDatamatrixError,
  assessIdentity,
  checkIdentityAttributes,
  insDatamatrix,
  insiEvidence,
  parseInsDatamatrix,
  type IdentityEvidence,
} from "../src/identity/index.ts";

// RNIV EXI SI 07 (FR Core identity-status code system): status from INSi × document.
test("the four RNIV statuses: qualified only with INSi and a high-trust document", () => {
  const table: [IdentityEvidence, string, string][] = [
    [{ insi: "none", document: "none" }, "provisoire", "PROV"],
    [{ insi: "none", document: "low-trust" }, "provisoire", "PROV"],
    [{ insi: "none", document: "high-trust" }, "validee", "VALI"],
    [{ insi: "retrieved", document: "none" }, "recuperee", "RECUP"],
    [{ insi: "retrieved", document: "low-trust" }, "recuperee", "RECUP"],
    [{ insi: "retrieved", document: "high-trust" }, "qualifiee", "QUAL"],
  ];
  for (const [evidence, status, code] of table) {
    const assessed = assessIdentity(evidence);
    assert.equal(assessed.status, status, JSON.stringify(evidence));
    assert.equal(assessed.code, code);
    assert.equal(assessed.insUsable, status === "qualifiee");
    assert.equal(assessed.insiCallAllowed, true);
  }
});

test("douteuse and fictive force the provisional status and block the INSi call; homonyme does not", () => {
  const full = { insi: "retrieved", document: "high-trust" } as const;
  for (const attributes of [["douteuse"], ["fictive"], ["douteuse", "homonyme"]] as const) {
    const assessed = assessIdentity({ ...full, attributes });
    assert.equal(assessed.status, "provisoire", attributes.join("+"));
    assert.equal(assessed.insiCallAllowed, false);
    assert.equal(assessed.insUsable, false);
  }
  const homonym = assessIdentity({ ...full, attributes: ["homonyme"] });
  assert.equal(homonym.status, "qualifiee");
  assert.equal(homonym.insiCallAllowed, true);
});

test("attributes: each alone, only douteuse + homonyme together; unknown ones refused", () => {
  assert.deepEqual(checkIdentityAttributes(["homonyme", "douteuse", "homonyme"]), ["douteuse", "homonyme"]);
  for (const attributes of [
    ["douteuse", "fictive"],
    ["fictive", "homonyme"],
    ["douteuse", "fictive", "homonyme"],
  ]) {
    assert.throws(
      () => checkIdentityAttributes(attributes),
      (error: unknown) => error instanceof IdentityRuleError && error.rule === "INCOMPATIBLE_ATTRIBUTES",
      attributes.join("+"),
    );
  }
  assert.throws(
    () => checkIdentityAttributes(["sensible"]),
    (error: unknown) => error instanceof IdentityRuleError && error.rule === "UNKNOWN_ATTRIBUTE",
  );
  assert.throws(
    () => assessIdentity({ insi: "maybe" as "none", document: "none" }),
    (error: unknown) => error instanceof IdentityRuleError && error.rule === "INVALID_EVIDENCE",
  );
});

test("INSi evidence: a confirmed verification counts; a found search only once its traits are compared", () => {
  assert.equal(insiEvidence({ outcome: "confirmed" }), "retrieved");
  assert.equal(insiEvidence({ outcome: "found" }), "none");
  assert.equal(insiEvidence({ outcome: "found" }, { traitsCompared: true }), "retrieved");
  for (const outcome of ["notFound", "multiple", "mismatch"]) {
    assert.equal(insiEvidence({ outcome }, { traitsCompared: true }), "none", outcome);
  }
});

// A CNDA test identity (ADRTROIS DOMINIQUE, qualification environment; keys checked) written out by
// hand from the format: header IS01 + 22 zeros, S1 fixed 15, S2/S3/S4 closed by <GS>, S5, S6 JJ-MM-AAAA, S7.
const ADRTROIS = {
  ins: { value: "297022A020778", key: "78", oid: "1.2.250.1.213.1.4.8" },
  birthName: "ADRTROIS",
  firstNames: ["DOMINIQUE"],
  sex: "F",
  birthDate: "1997-02-26",
  birthPlace: "2A020",
} as const;
const ADRTROIS_DATAMATRIX =
  "IS010000000000000000000000" +
  "S1297022A02077878" +
  "S21.2.250.1.213.1.4.8\u001d" +
  "S3DOMINIQUE\u001d" +
  "S4ADRTROIS\u001d" +
  "S5F" +
  "S626-02-1997" +
  "S72A020";

test("INS datamatrix: the CNDA identity ADRTROIS DOMINIQUE as the format lays it out, and back", () => {
  assert.equal(insDatamatrix(ADRTROIS, "qualifiee"), ADRTROIS_DATAMATRIX);
  assert.deepEqual(parseInsDatamatrix(ADRTROIS_DATAMATRIX), { ...ADRTROIS, firstNames: ["DOMINIQUE"] });
});

test("INS datamatrix: several first names, a NIA, no birth place, a lunar date (a made-up identity), names at their maximum", () => {
  const madeUpNia = {
    ins: { value: "1090763220888", key: "35", oid: "1.2.250.1.213.1.4.9" },
    birthName: "ECETINSI",
    firstNames: ["PIERRE-ALAIN", "MURIEL", "FLORIANT"],
    sex: "M",
    birthDate: "1982-00-00",
  } as const;
  const text = insDatamatrix(madeUpNia, "qualifiee");
  assert.equal(
    text,
    "IS010000000000000000000000S1109076322088835S21.2.250.1.213.1.4.9\u001dS3PIERRE-ALAIN MURIEL FLORIANT\u001d" +
      "S4ECETINSI\u001dS5MS600-00-1982",
  );
  assert.deepEqual(parseInsDatamatrix(text), { ...madeUpNia, firstNames: [...madeUpNia.firstNames] });

  // At its maximum length a variable field takes no <GS>: the next field identifier follows at once.
  const longName = "A".repeat(100);
  const long = insDatamatrix({ ...ADRTROIS, birthName: longName }, "qualifiee");
  assert.ok(long.includes(`S4${longName}S5F`));
  assert.equal(parseInsDatamatrix(long).birthName, longName);
});

test("INS datamatrix: refused unless qualified, and each bad field named", () => {
  for (const status of ["provisoire", "recuperee", "validee"]) {
    assert.throws(
      () => insDatamatrix(ADRTROIS, status),
      (error: unknown) => error instanceof InsDatamatrixError && error.field === "status",
    );
  }
  const cases: [Record<string, unknown>, string][] = [
    [{ ins: { ...ADRTROIS.ins, key: "7" } }, "S1"],
    [{ ins: { ...ADRTROIS.ins, value: "29702XA020778" } }, "S1"],
    [{ ins: { ...ADRTROIS.ins, oid: "INS-NIR" } }, "S2"],
    [{ ins: { ...ADRTROIS.ins, oid: "1.2.250.1.213.1.4.8.1234567890" } }, "S2"],
    [{ firstNames: ["dominique"] }, "S3"],
    [{ firstNames: [] }, "S3"],
    [{ firstNames: [`DOMI${GS}NIQUE`] }, "S3"],
    [{ birthName: "ADRTROIS\u00c9" }, "S4"],
    [{ birthName: "B".repeat(101) }, "S4"],
    [{ sex: "I" }, "S5"],
    [{ birthDate: "26/02/1997" }, "S6"],
    [{ birthPlace: "2C020" }, "S7"],
  ];
  for (const [change, field] of cases) {
    assert.throws(
      () => insDatamatrix({ ...ADRTROIS, ...change } as never, "qualifiee"),
      (error: unknown) => error instanceof InsDatamatrixError && error.field === field,
      `${JSON.stringify(change)} → ${field}`,
    );
  }
});

test("INS datamatrix reader: truncated, reordered or trailing input is an InsDatamatrixError", () => {
  const bad = [
    "",
    "IS02" + ADRTROIS_DATAMATRIX.slice(4),
    ADRTROIS_DATAMATRIX.slice(0, -3),
    ADRTROIS_DATAMATRIX + "X",
    ADRTROIS_DATAMATRIX.replace("S5F", "S5X"),
    ADRTROIS_DATAMATRIX.replace("S3DOMINIQUE\u001dS4ADRTROIS\u001d", "S4ADRTROIS\u001dS3DOMINIQUE\u001d"),
  ];
  for (const text of bad) {
    assert.throws(() => parseInsDatamatrix(text), InsDatamatrixError, JSON.stringify(text));
  }
  fc.assert(
    fc.property(fc.string({ maxLength: 300 }), (tail) => {
      try {
        parseInsDatamatrix(ADRTROIS_DATAMATRIX.slice(0, 40) + tail);
      } catch (error) {
        assert.ok(error instanceof InsDatamatrixError, String(error));
      }
    }),
    { numRuns: 500 },
  );
});
