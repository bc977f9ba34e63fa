import { test } from "node:test";
import assert from "node:assert/strict";
import { compileCardTable, recognizeCard } from "../../src/cards/recognize.ts";
import tableJson from "../../src/cards/card-table.json" with { type: "json" };

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ""), "hex"));

test("CPS3 and CPS4 by ATR (masked bytes may vary), and the CPx marker as fallback", () => {
  assert.deepEqual(
    [recognizeCard(hex("3BAC00402A001225006480000310009000"))].map((c) => [c.type, c.id, c.generation]),
    [["cps", "cps3-contact", "CPS3"]],
  );
  // smartcard_list variant: masked bytes differ.
  assert.equal(recognizeCard(hex("3BAC00402A00122500648082021200 9000")).id, "cps3-contact");
  assert.equal(recognizeCard(hex("3B8F80010031B86404B0ECC1739401808290000E")).id, "cps3-contactless");
  assert.equal(recognizeCard(hex("3B9B188001001225006480040100009044")).id, "cps4-contact");
  assert.equal(recognizeCard(hex("3BDC18FF00001225006480000401009000")).id, "cps4-t0");
  // An unknown CPx generation still carries the ANS marker.
  const future = recognizeCard(hex("3B9F96801FC78031E073FE211B1225006480059000AA"));
  assert.equal(future.type, "cps");
  assert.equal(future.id, "cpx-marker");
});

test("Vitale 1 and 2 by ATR", () => {
  for (const x of ["43", "44", "45", "46", "47", "48", "49"]) {
    assert.equal(recognizeCard(hex(`3B75130000${x}09EA9000`)).id, "vitale2", x);
  }
  assert.equal(recognizeCard(hex("3B751300004509FA9000")).id, "vitale2-fa");
  for (const atr of [
    "3F65250022096990 00",
    "3F652500 2C 09F99000",
    "3F65250052096A9000",
    "3F652500A3096A9000",
    "3F652500A4096A9000",
  ]) {
    const card = recognizeCard(hex(atr));
    assert.equal(card.type, "vitale", atr);
    assert.equal(card.generation, "Vitale 1", atr);
  }
});

test("anything else is unknown (reader names play no part)", () => {
  assert.equal(recognizeCard(hex("3B8581018073C021C0D7")).type, "unknown");
  assert.equal(recognizeCard(hex("3B751300004709EA9001")).type, "unknown"); // last byte differs
  assert.equal(recognizeCard(hex("3B7513000047")).type, "unknown"); // truncated
  assert.equal(recognizeCard(new Uint8Array()).type, "unknown");
});

test("the table is validated: bad hex, mask length, duplicate ids, unknown keys", () => {
  const entry = { id: "x", type: "cps", label: "X", match: { atr: "3B00" } };
  assert.doesNotThrow(() => compileCardTable({ version: 1, cards: [entry] }));
  assert.throws(() => compileCardTable({ version: 1, cards: [{ ...entry, match: { atr: "3B0" } }] }));
  assert.throws(() =>
    compileCardTable({ version: 1, cards: [{ ...entry, match: { atr: "3B00", mask: "FF" } }] }),
  );
  assert.throws(() => compileCardTable({ version: 1, cards: [entry, entry] }));
  assert.throws(() => compileCardTable({ version: 1, cards: [{ ...entry, extra: 1 }] }));
  assert.throws(() => compileCardTable({ version: 2, cards: [entry] }));
  assert.throws(() => compileCardTable({ version: 1, cards: [{ ...entry, type: "bank" }] }));
});

test("the shipped table passes its schema and lists specific entries before the generic marker", () => {
  const recognize = compileCardTable(tableJson);
  assert.equal(recognize(hex("3BAC00402A001225006480000310009000")).id, "cps3-contact");
  const ids = tableJson.cards.map((c) => c.id);
  assert.equal(ids.at(-1), "cpx-marker");
});

test("contactless CPx ATRs: the contactless CPS3 and the French public-hospital card (smartcard_list)", () => {
  const cl = recognizeCard(Uint8Array.from(Buffer.from("3B8F80010031B86404B0ECC1739401808290000E", "hex")));
  assert.equal(cl.type, "cps");
  assert.equal(cl.contactless, true);
  const hospital = recognizeCard(
    Uint8Array.from(Buffer.from("3B8F80010031B86404B0ECC173940180FFFFFFE3", "hex")),
  );
  assert.equal(hospital.type, "cps");
  assert.equal(hospital.id, "cps3-contactless-hospital");
  assert.equal(hospital.contactless, true);
  const contact = recognizeCard(Uint8Array.from(Buffer.from("3BAC00402A001225006480820212009000", "hex")));
  assert.equal(contact.id, "cps3-contact", "the CPS3 variant of smartcard_list matches the contact mask");
  assert.equal(contact.contactless, undefined);
});
