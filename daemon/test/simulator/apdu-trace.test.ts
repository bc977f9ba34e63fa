import { test } from "node:test";
import assert from "node:assert/strict";
import { commandForm, formKey, formatTrace, redact, TracingCard } from "../../src/simulator/apdu-trace.ts";
import { Cps3Emulator } from "../../src/simulator/cards/cps3/emulator.ts";

const h = (text: string): Uint8Array => Uint8Array.from(Buffer.from(text.replace(/\s/g, ""), "hex"));

test("command forms: the four ISO cases, extended, malformed", () => {
  assert.equal(formKey(commandForm(h("00A4090C023F00"))), "00 A4 09 0C case 3");
  assert.equal(formKey(commandForm(h("00A40904023F0000"))), "00 A4 09 04 case 4");
  assert.equal(formKey(commandForm(h("00B00000E7"))), "00 B0 00 00 case 2");
  assert.equal(formKey(commandForm(h("00200001"))), "00 20 00 01 case 1");
  assert.equal(formKey(commandForm(h("00B0000000 0100"))), "00 B0 00 00 case 2 ext");
  assert.equal(commandForm(h("00A4090C053F00")).case, 0);
  assert.equal(commandForm(h("00A4")).case, 0);
});

test("VERIFY's PIN block never reaches a trace; the card still gets it", async () => {
  assert.equal(
    Buffer.from(redact(h("002000010831323334FFFFFFFF"))).toString("hex"),
    "00200001080000000000000000",
  );
  const card = new TracingCard(new Cps3Emulator());
  const answer = await card.transmit(h("002000010831323334FFFFFFFF"));
  assert.equal(Buffer.from(answer).toString("hex"), "9000", "the real block was sent to the card");
  assert.match(formatTrace(card.trace), /^C: 00 20 00 01 08 00 00 00 00 00 00 00 00\nR: 90 00\n$/);
  card.clear();
  card.record(false);
  await card.transmit(h("00A4090C023F00"));
  assert.equal(card.trace.length, 0);
});
