/** The --simulate lab: default cards, insert/replace/remove by slot, the INSi fault switch. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { Lab } from "../../src/simulator/lab.ts";
import { VIRTUAL_READER_NAMES } from "../../src/simulator/virtual-pcsc.ts";
import { recognizeCard } from "../../src/cards/recognize.ts";

test("the defaults put a CPS in slot 0 and a Vitale in slot 1", async () => {
  const lab = new Lab();
  assert.deepEqual(await lab.insertDefaults(), []);
  assert.deepEqual(
    lab.slots.map((slot) => slot.card),
    ["cps", "vitale"],
  );
  assert.equal(
    recognizeCard(lab.backend.cardIn(VIRTUAL_READER_NAMES[0])?.atr ?? new Uint8Array()).type,
    "cps",
  );
  assert.equal(
    recognizeCard(lab.backend.cardIn(VIRTUAL_READER_NAMES[1])?.atr ?? new Uint8Array()).type,
    "vitale",
  );
});

test("insert replaces the card in a slot; remove empties it; bad slots and profiles are refused", async () => {
  const lab = new Lab();
  await lab.insert(1, "vitale");
  await lab.insert(1, "echo");
  assert.equal(lab.slots[1]?.card, "echo");
  lab.remove(1);
  assert.equal(lab.slots[1]?.card, null);
  assert.equal(lab.backend.cardIn(VIRTUAL_READER_NAMES[1]), undefined);
  lab.remove(1); // removing from an empty slot is harmless
  await assert.rejects(lab.insert(0, "no-such-card"), /unknown card profile/);
  await assert.rejects(lab.insert(7, "echo"), /no virtual slot 7/);
  assert.ok(lab.profiles.includes("cps") && lab.profiles.includes("vitale1"));
});

test("the INSi fault chosen on the page reaches the simulator's listener", () => {
  const lab = new Lab();
  const seen: string[] = [];
  lab.onInsiFault((fault) => seen.push(fault));
  lab.setInsiFault("http500");
  lab.setInsiFault("none");
  assert.deepEqual(seen, ["http500", "none"]);
  assert.equal(lab.insiFault, "none");
});
