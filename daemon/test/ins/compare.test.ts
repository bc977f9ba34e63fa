import { test } from "node:test";
import assert from "node:assert/strict";
import { compareIns, compareTraits } from "../../src/ins/compare.ts";
import type { NormalisedTraits } from "../../src/ins/traits.ts";

const reference = {
  birthName: "ECETINSI",
  firstNames: ["PIERRE-ALAIN", "MURIEL", "FLORIANT"],
  sex: "M",
  birthDate: "2009-07-14",
  birthPlace: "63220",
};
const local: NormalisedTraits = {
  birthName: "ECETINSI",
  firstNames: ["PIERRE-ALAIN"],
  firstName: "PIERRE-ALAIN",
  sex: "M",
  birthDate: "2009-07-14",
};

test("leading given names and no local birth place: no difference", () => {
  assert.deepEqual(compareTraits(local, reference), []);
  assert.deepEqual(compareTraits({ ...local, firstNames: ["PIERRE-ALAIN", "MURIEL"] }, reference), []);
});

test("each differing field is reported with both values", () => {
  const differences = compareTraits(
    {
      ...local,
      birthName: "ECETINSY",
      firstNames: ["MURIEL"],
      sex: "F",
      birthDate: "2009-07-15",
      birthPlace: "63221",
    },
    reference,
  );
  assert.deepEqual(
    differences.map((d) => d.field),
    ["birthName", "firstNames", "sex", "birthDate", "birthPlace"],
  );
  assert.deepEqual(differences[1], {
    field: "firstNames",
    local: "MURIEL",
    insi: "PIERRE-ALAIN MURIEL FLORIANT",
  });
});

test("an extra local given name is a difference", () => {
  const differences = compareTraits(
    { ...local, firstNames: ["PIERRE-ALAIN", "MURIEL", "FLORIANT", "JEAN"] },
    reference,
  );
  assert.deepEqual(
    differences.map((d) => d.field),
    ["firstNames"],
  );
});

test("matricule", () => {
  assert.equal(compareIns("1090763220834", "1090763220834"), undefined);
  assert.deepEqual(compareIns("2090763220834", "1090763220834"), {
    field: "ins",
    local: "2090763220834",
    insi: "1090763220834",
  });
});
