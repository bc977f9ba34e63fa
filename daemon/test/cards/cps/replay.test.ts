/**
 * The trace-replay card (simulator/cards/replay/) and what the published real-card traces prove
 * about our CPS3 driver: the commands it sends, through the real transport (T=0: case 4 without
 * Le, 61xx followed by GET RESPONSE), answered byte for byte from OpenSC issue #2275's log of a
 * real CPx under the ANS middleware. What the public traces do not cover: docs/cards.md, "Replay".
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { CpsDriver, type PinPrompt } from "../../../src/cards/cps/index.ts";
import { isPasserelleError } from "../../../src/errors.ts";
import { parseTrace, ReplayCard } from "../../../src/simulator/cards/replay/index.ts";
import { emulator } from "./fixtures.ts";
import { TransportChannel } from "./transport-channel.ts";
import { ISSUE_2223_OPENSC, ISSUE_2275_CRYPTOLIB, ISSUE_2275_SERIAL } from "./public-traces.ts";

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString("hex").toUpperCase();
const h = (text: string): Uint8Array => Uint8Array.from(Buffer.from(text.replace(/\s+/g, ""), "hex"));

test("the replay card answers a trace's commands in order, and refuses what it lacks: 6D00, 6E00 for an unseen class", () => {
  const card = new ReplayCard(
    parseTrace(
      "C: 00 A4 00 0C 02 3F 00\nR: 90 00\nC: 00 CB 3F FF 00\nR: 61 02\nC: 00 C0 00 00 02\nR: 01 02 90 00\n",
    ),
    h("3B00"),
  );
  assert.equal(hex(card.transmit(h("00 CB 3F FF 00"))), "6102", "found anywhere in the trace");
  assert.equal(hex(card.transmit(h("00 C0 00 00 02"))), "01029000", "GET RESPONSE right after its command");
  assert.equal(hex(card.transmit(h("00 C0 00 00 02"))), "6D00", "GET RESPONSE with nothing before it");
  assert.equal(hex(card.transmit(h("00 A4 00 0C 02 3F 00"))), "9000");
  assert.equal(hex(card.transmit(h("00 A4 00 0C 02 3F 01"))), "6D00", "one byte off: not in the trace");
  assert.equal(hex(card.transmit(h("80 CA 00 00 00"))), "6E00", "a class the trace never used");
  assert.deepEqual(card.refused.map(hex), ["00C0000002", "00A4000C023F01", "80CA000000"]);
  assert.throws(() => parseTrace("APDU: 00 A4\nAPDU: 00 B0"), SyntaxError);
  assert.throws(() => parseTrace("SW: 90 00"), SyntaxError);
});

test("the public logs parse as published: #2275 (ANS middleware) and #2223 (OpenSC), one answer per command", () => {
  assert.equal(ISSUE_2275_CRYPTOLIB.length, 10);
  assert.equal(ISSUE_2223_OPENSC.length, 7);
  for (const e of [...ISSUE_2275_CRYPTOLIB, ...ISSUE_2223_OPENSC]) assert.ok(e.response.length >= 2);
});

test("#2275's real CPx answers our driver's counter reads and same-card check byte for byte; VERIFY is the first command it lacks", async () => {
  // Our cold read on an emulated card with #2275's serial and PIN reference 01 (the trace's GET
  // DATA names BF 81 01); then the same channel answered only by the real card's trace.
  const emulated = emulator({ serial: ISSUE_2275_SERIAL });
  const channel = new TransportChannel(emulated);
  const driver = new CpsDriver();
  await driver.read(channel);
  const replay = new ReplayCard(ISSUE_2275_CRYPTOLIB, emulated.atr);
  channel.card = replay;
  channel.raw.length = 0;
  const asked: number[] = [];
  const told: unknown[] = [];
  const prompt: PinPrompt = {
    ask: async ({ triesRemaining }) => {
      asked.push(triesRemaining);
      return "1234";
    },
    answered: (outcome) => told.push(outcome),
  };
  await assert.rejects(
    driver.verifyPin(channel, {
      origin: "https://ehr.example",
      pinFromPage: false,
      prompt,
      usePinPad: false,
    }),
    (error) =>
      isPasserelleError(error, "CARD_ERROR") &&
      error.details["step"] === "VERIFY" &&
      error.details["sw"] === "6D00",
  );
  // Counter (SELECT MF, GET DATA, GET RESPONSE 18), then after the PIN page: EF.SN.ICC (SELECT with
  // FCP, GET RESPONSE 27, READ BINARY 0C) and the counter again — all the real card's bytes.
  assert.deepEqual(channel.raw.slice(0, -1).map(hex), [
    "00A4090C023F00",
    "00CB3FFF0A4D087006BF810102A080",
    "00C0000018",
    "00A40904043F00D003",
    "00C0000027",
    "00B000000C",
    "00A4090C023F00",
    "00CB3FFF0A4D087006BF810102A080",
    "00C0000018",
  ]);
  assert.equal(replay.refused.length, 1);
  assert.equal(replay.refused[0]![1], 0x20, "VERIFY: the public log shows none");
  assert.deepEqual(asked, [3], "the tries the real card's DOCP says (9B 01 03)");
  assert.equal(told.length, 1, "the PIN page is told the card's answer");
});
