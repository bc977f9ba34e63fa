import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  normaliseBirthDate,
  normaliseBirthPlace,
  normaliseFirstNames,
  normaliseName,
  normaliseTraits,
  splitListePrenom,
} from "../../src/ins/traits.ts";

function ok(raw: string): string {
  const result = normaliseName(raw);
  assert.ok(result.ok, `${raw} should normalise`);
  return result.value;
}
function refused(raw: string): string {
  const result = normaliseName(raw);
  assert.ok(!result.ok, `${raw} should be refused`);
  return result.issues.map((i) => i.message).join("; ");
}

test("accents removed, upper case", () => {
  assert.equal(ok("Hélène"), "HELENE");
  assert.equal(ok("françois"), "FRANCOIS");
  assert.equal(ok("Zoë"), "ZOE");
});

test("apostrophe and dash variants unified, separators kept", () => {
  assert.equal(ok("d’Artagnan de l‘Hérault"), "D'ARTAGNAN DE L'HERAULT");
  assert.equal(ok("Pierre–Alain"), "PIERRE-ALAIN");
  assert.equal(ok("MARTIN--DUPONT"), "MARTIN--DUPONT");
  assert.equal(ok("  jean   -  pierre  "), "JEAN-PIERRE");
  assert.equal(ok("D ' ARTAGNAN"), "D'ARTAGNAN");
});

test("Æ and Œ refused with a reason naming the ligature", () => {
  assert.match(refused("D’ÆION"), /ligature Æ or Œ/);
  assert.match(refused("CŒUR"), /ligature/);
  assert.match(refused("cœur"), /ligature/);
});

test("other characters refused with their code point", () => {
  assert.match(refused("STRAẞE"), /U\+1E9E/);
  assert.match(refused("ØSTERGAARD"), /U\+00D8/);
  assert.match(refused("R2D2"), /U\+0032/);
  assert.match(refused("MARTIN---DUPONT"), /separators/);
  assert.match(refused("-MARTIN"), /separators/);
  assert.match(refused("   "), /empty/);
});

test("given names: entries with spaces or commas are split; first is first", () => {
  const result = normaliseFirstNames(["Pierre-Alain Muriel", "floriant"]);
  assert.deepEqual(result, { ok: true, value: ["PIERRE-ALAIN", "MURIEL", "FLORIANT"] });
  assert.deepEqual(normaliseFirstNames(["Anne, Marie"]), { ok: true, value: ["ANNE", "MARIE"] });
  const bad = normaliseFirstNames(["Anne", "Œdipe"]);
  assert.ok(!bad.ok);
  assert.deepEqual(bad.issues[0]?.path, ["firstNames", 1]);
  assert.deepEqual(splitListePrenom("PIERRE-ALAIN MURIEL  FLORIANT"), ["PIERRE-ALAIN", "MURIEL", "FLORIANT"]);
});

test("lunar dates kept as strings; impossible months refused", () => {
  assert.deepEqual(normaliseBirthDate("1950-00-00"), { ok: true, value: "1950-00-00" });
  assert.deepEqual(normaliseBirthDate("1950-02-31"), { ok: true, value: "1950-02-31" });
  assert.equal(normaliseBirthDate("1950-13-01").ok, false);
  assert.equal(normaliseBirthDate("1950-01-32").ok, false);
  assert.equal(normaliseBirthDate("01/02/1950").ok, false);
});

test("COG birth place: 5 characters, Corsica, abroad", () => {
  assert.deepEqual(normaliseBirthPlace("2a020"), { ok: true, value: "2A020" });
  assert.deepEqual(normaliseBirthPlace("99134"), { ok: true, value: "99134" });
  assert.equal(normaliseBirthPlace("2C020").ok, false);
  assert.equal(normaliseBirthPlace("6322").ok, false);
});

test("all traits: every issue reported at once", () => {
  const result = normaliseTraits({
    birthName: "CŒUR",
    firstNames: [""],
    sex: "X",
    birthDate: "1999-14-01",
    birthPlace: "ABCDE",
  });
  assert.ok(!result.ok);
  assert.deepEqual(
    result.issues.map((i) => i.path[0]),
    ["birthName", "firstNames", "sex", "birthDate", "birthPlace"],
  );
  const good = normaliseTraits({
    birthName: "ecetinsi",
    firstNames: ["Pierre-Alain"],
    sex: "m",
    birthDate: "2009-07-14",
  });
  assert.deepEqual(good, {
    ok: true,
    value: {
      birthName: "ECETINSI",
      firstNames: ["PIERRE-ALAIN"],
      firstName: "PIERRE-ALAIN",
      sex: "M",
      birthDate: "2009-07-14",
    },
  });
});

const letters = fc.string({
  unit: fc.constantFrom(..."abcdefghijklmnopqrstuvwxyzéèêàçïôûÉÈÂ".split("")),
  minLength: 1,
  maxLength: 12,
});
const separator = fc.constantFrom("-", "--", "'", " ", "’", "–");
const nameArb = fc
  .tuple(letters, fc.array(fc.tuple(separator, letters), { maxLength: 3 }))
  .map(([first, rest]) => first + rest.map(([s, w]) => s + w).join(""));

test("property: normalised names match INSi's pattern and normalising is idempotent", () => {
  fc.assert(
    fc.property(nameArb, (raw) => {
      const once = normaliseName(raw);
      assert.ok(once.ok, raw);
      assert.match(once.value, /^'?[A-Z]+(?:(?:--|[-' ])[A-Z]+)*'?$/);
      assert.deepEqual(normaliseName(once.value), once);
    }),
  );
});

test("property: any string either normalises to the pattern or is refused with an issue — never throws", () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 120 }), (raw) => {
      const result = normaliseName(raw);
      if (result.ok) assert.match(result.value, /^'?[A-Z]+(?:(?:--|[-' ])[A-Z]+)*'?$/);
      else assert.ok(result.issues.length > 0);
    }),
  );
});

test("property: case and accents do not change the result", () => {
  fc.assert(
    fc.property(nameArb, (raw) => {
      const upper = normaliseName(raw.toUpperCase());
      const lower = normaliseName(raw.toLowerCase());
      assert.deepEqual(upper, lower);
    }),
  );
});
