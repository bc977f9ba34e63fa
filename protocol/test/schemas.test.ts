import assert from "node:assert/strict";
import { test } from "node:test";
import { InsiSearchByTraitsParams, InsiVerifyParams } from "../src/index.ts";

const traits = { birthName: "CORSE", firstNames: ["ANTHONY"], sex: "M", birthDate: "1980-03-02" };

test("insi.verify accepts a NIR or NIA of 13 characters, Corsican 2A/2B in the department", () => {
  for (const ins of ["2751263220749", "180012A004123", "160012B020777", "1090763220888"]) {
    assert.ok(InsiVerifyParams.safeParse({ ins, ...traits }).success, ins);
  }
  for (const ins of ["27512632207", "2751263220749 74", "1A0012A004123", "18001AA004123", "275126322074X"]) {
    assert.ok(!InsiVerifyParams.safeParse({ ins, ...traits }).success, ins);
  }
});

test("birth place is a 5-character COG code, Corsica and abroad included; lunar dates pass", () => {
  for (const birthPlace of ["63220", "2A004", "2B020", "99350"]) {
    assert.ok(InsiSearchByTraitsParams.safeParse({ ...traits, birthPlace }).success, birthPlace);
  }
  for (const birthPlace of ["6322", "2C004", "632200", "A2004"]) {
    assert.ok(!InsiSearchByTraitsParams.safeParse({ ...traits, birthPlace }).success, birthPlace);
  }
  assert.ok(InsiSearchByTraitsParams.safeParse({ ...traits, birthDate: "1982-00-00" }).success);
});
