/**
 * The APDU transport against scripted cards: each script is the exact hex exchange a card does
 * (C-APDU expected → R-APDU answered), so a test fails if the transport sends anything else.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { exchange, MAX_ROUNDS_PER_COMMAND, type RawTransmit } from "../../src/pcsc/apdu-transport.ts";
import { isPasserelleError } from "../../src/errors.ts";

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ""), "hex"));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString("hex").toUpperCase();

function scripted(
  script: Array<[command: string, response: string]>,
): RawTransmit & { remaining: () => number } {
  const steps = [...script];
  const transmit = async (command: Uint8Array): Promise<Uint8Array> => {
    const step = steps.shift();
    assert.ok(step, `unexpected command ${toHex(command)}`);
    assert.equal(toHex(command), step[0].replace(/\s+/g, ""));
    return hex(step[1]);
  };
  return Object.assign(transmit, { remaining: () => steps.length });
}

const SHORT = { extendedLength: false };
const EXTENDED = { extendedLength: true };

test("61xx: GET RESPONSE until the card is done, data concatenated", async () => {
  const card = scripted([
    ["0084000008", "0102030461 04"],
    ["00C0000004", "05060708 9000"],
  ]);
  const response = await exchange({ cla: 0, ins: 0x84, p1: 0, p2: 0, le: 4 + 4 }, card, SHORT);
  assert.equal(toHex(response.data), "0102030405060708");
  assert.equal(response.sw, 0x9000);
  assert.equal(card.remaining(), 0);
});

test("61xx on a T=0 case 4: GET RESPONSE with Le=00 means 256", async () => {
  const card = scripted([
    ["00A4040C02 3F00 00", "6100"],
    ["00C0000000", "AA".repeat(256) + "6102"],
    ["00C0000002", "BBCC9000"],
  ]);
  const response = await exchange(
    { cla: 0, ins: 0xa4, p1: 4, p2: 0x0c, data: hex("3F00"), le: 256 },
    card,
    SHORT,
  );
  assert.equal(response.data.length, 256 + 2);
  assert.equal(response.sw, 0x9000);
});

test("T=0: a case-4 command goes without its Le, the answer comes through GET RESPONSE (Cryptolib, real CPx: issue #2275)", async () => {
  // The bytes a real CPS3 exchanged with the ANS middleware for the PIN counter.
  const card = scripted([
    ["00CB3FFF0A4D087006BF810102A080", "6118"],
    ["00C0000018", "7016BF810112A0109A01039B0103A1088C06F3000013FF00 9000"],
  ]);
  const response = await exchange(
    { cla: 0, ins: 0xcb, p1: 0x3f, p2: 0xff, data: hex("4D087006BF810102A080"), le: 256 },
    card,
    { extendedLength: false, t0: true },
  );
  assert.equal(toHex(response.data), "7016BF810112A0109A01039B0103A1088C06F3000013FF00");
  assert.equal(card.remaining(), 0);
  // Case 2 keeps its Le on T=0 (P3 is the Le); T=1 keeps a case-4 Le.
  const read = scripted([["00B000000C", "5A0A8025000001992138450F9000"]]);
  await exchange({ cla: 0, ins: 0xb0, p1: 0, p2: 0, le: 12 }, read, { extendedLength: false, t0: true });
  const t1 = scripted([["00CB3FFF0A4D087006BF810102A08000", "9000"]]);
  await exchange(
    { cla: 0, ins: 0xcb, p1: 0x3f, p2: 0xff, data: hex("4D087006BF810102A080"), le: 256 },
    t1,
    SHORT,
  );
});

test("a capped GET RESPONSE after 61 00: Le E7, then the rest as the card says (Cryptolib on a real CPx: issue #2275)", async () => {
  // PSO CDS on a real CPx under the ANS middleware: 61 00, then 00 C0 00 00 E7 → 0xE7 bytes ‖ 61 19,
  // then 00 C0 00 00 19 → 0x19 bytes ‖ 90 00 (the signature's bytes are the lab's).
  const signature = "AB".repeat(0xe7 + 0x19);
  const card = scripted([
    ["002A9E9A00", "6100"],
    ["00C00000E7", `${signature.slice(0, 0xe7 * 2)}6119`],
    ["00C0000019", `${signature.slice(0xe7 * 2)}9000`],
  ]);
  const response = await exchange({ cla: 0, ins: 0x2a, p1: 0x9e, p2: 0x9a, le: 256 }, card, {
    extendedLength: false,
    t0: true,
    maxGetResponse: 0xe7,
  });
  assert.equal(toHex(response.data), signature);
  assert.equal(card.remaining(), 0);
  // Without the cap, 61 00 asks all 256 bytes at once (ISO/IEC 7816-3: Le 00).
  const uncapped = scripted([
    ["002A9E9A00", "6100"],
    ["00C0000000", `${"CD".repeat(256)}9000`],
  ]);
  await exchange({ cla: 0, ins: 0x2a, p1: 0x9e, p2: 0x9a, le: 256 }, uncapped, {
    extendedLength: false,
    t0: true,
  });
  assert.equal(uncapped.remaining(), 0);
});

test("6Cxx: the same command again with the Le the card asked for", async () => {
  const card = scripted([
    ["00B0000000", "6C10"],
    ["00B0000010", "00112233445566778899AABBCCDDEEFF9000"],
  ]);
  const response = await exchange({ cla: 0, ins: 0xb0, p1: 0, p2: 0, le: 256 }, card, SHORT);
  assert.equal(response.data.length, 16);
  assert.equal(response.sw, 0x9000);
});

test("61xx offering more than Le (case 4S): GET RESPONSE asks only what the driver still wants", async () => {
  const card = scripted([
    ["00A4040C02A000 04", "6108"],
    ["00C0000004", "01020304 9000"],
  ]);
  const response = await exchange(
    { cla: 0, ins: 0xa4, p1: 4, p2: 0x0c, data: hex("A000"), le: 4 },
    card,
    SHORT,
  );
  assert.equal(toHex(response.data), "01020304");
  assert.equal(response.sw, 0x9000);
  assert.equal(card.remaining(), 0);
});

test("61xx across GET RESPONSEs: each asks min(xx, Ne - received); a 61xx past Ne goes back to the driver", async () => {
  const card = scripted([
    ["00CA010006", "AABB 6110"],
    ["00C0000004", "CCDDEEFF 610C"],
  ]);
  const response = await exchange({ cla: 0, ins: 0xca, p1: 1, p2: 0, le: 6 }, card, SHORT);
  assert.equal(toHex(response.data), "AABBCCDDEEFF");
  assert.equal(response.sw, 0x610c); // the card still has 12 bytes: the driver may ask for them
  assert.equal(card.remaining(), 0);
});

test("GSM 9Fxx offering more than Le: GET RESPONSE bounded the same way", async () => {
  const card = scripted([
    ["A0B2010408", "9F16"],
    ["A0C0000008", "0011223344556677 9000"],
  ]);
  const response = await exchange({ cla: 0xa0, ins: 0xb2, p1: 1, p2: 4, le: 8 }, card, SHORT);
  assert.equal(toHex(response.data), "0011223344556677");
});

test("6Cxx with xx over Le: resent with Le = xx, the answer cut to the driver's Le", async () => {
  const card = scripted([
    ["00B0000004", "6C08"],
    ["00B0000008", "0102030405060708 9000"],
  ]);
  const response = await exchange({ cla: 0, ins: 0xb0, p1: 0, p2: 0, le: 4 }, card, SHORT);
  assert.equal(toHex(response.data), "01020304");
  assert.equal(response.sw, 0x9000);
  assert.equal(card.remaining(), 0);
});

test("a second 6Cxx is returned to the driver, not looped on", async () => {
  const card = scripted([
    ["00B0000000", "6C10"],
    ["00B0000010", "6C08"],
  ]);
  const response = await exchange({ cla: 0, ins: 0xb0, p1: 0, p2: 0, le: 256 }, card, SHORT);
  assert.equal(response.sw, 0x6c08);
});

test("GSM class A0: 9Fxx is 'response available' (CPS2ter volet)", async () => {
  const card = scripted([
    ["A0A40000027F01", "9F16"],
    ["A0C0000016", "00".repeat(0x16) + "9000"],
  ]);
  const response = await exchange({ cla: 0xa0, ins: 0xa4, p1: 0, p2: 0, data: hex("7F01") }, card, SHORT);
  assert.equal(response.data.length, 0x16);
  // With an ISO class, 9Fxx is just a status word.
  const iso = scripted([["00A40000027F01", "9F16"]]);
  assert.equal(
    (await exchange({ cla: 0, ins: 0xa4, p1: 0, p2: 0, data: hex("7F01") }, iso, SHORT)).sw,
    0x9f16,
  );
});

test("data over 255 bytes without extended length: command chaining", async () => {
  const data = "11".repeat(300);
  const card = scripted([
    ["102A8086FF" + "11".repeat(255), "9000"],
    ["002A80862D" + "11".repeat(45) + "00", "22".repeat(256) + "9000"],
  ]);
  const response = await exchange(
    { cla: 0, ins: 0x2a, p1: 0x80, p2: 0x86, data: hex(data), le: 256 },
    card,
    SHORT,
  );
  assert.equal(response.data.length, 256);
  assert.equal(card.remaining(), 0);
});

test("a chain part refused by the card ends the chain with that status", async () => {
  const card = scripted([["102A8086FF" + "11".repeat(255), "6A80"]]);
  const response = await exchange(
    { cla: 0, ins: 0x2a, p1: 0x80, p2: 0x86, data: new Uint8Array(300).fill(0x11) },
    card,
    SHORT,
  );
  assert.equal(response.sw, 0x6a80);
});

test("with extended length: one extended APDU, Le over 256", async () => {
  const card = scripted([["00B00000000400", "55".repeat(1024) + "9000"]]);
  const response = await exchange({ cla: 0, ins: 0xb0, p1: 0, p2: 0, le: 1024 }, card, EXTENDED);
  assert.equal(response.data.length, 1024);
});

test("Le over 256 without extended length: asks 256, collects the rest through 61xx", async () => {
  const card = scripted([
    ["00B0000000", "55".repeat(256) + "6100"],
    ["00C0000000", "55".repeat(256) + "9000"],
  ]);
  const response = await exchange({ cla: 0, ins: 0xb0, p1: 0, p2: 0, le: 512 }, card, SHORT);
  assert.equal(response.data.length, 512);
});

test("garbage answers are CARD_ERROR: no SW, short, more data than Le, invalid SW1", async () => {
  const cases: Array<[string, string]> = [
    ["00B0000004", ""],
    ["00B0000004", "90"],
    ["00B0000004", "0102030405069000"], // six bytes for Le 4
    ["00B0000004", "01020304A5A5"],
  ];
  for (const [command, answer] of cases) {
    await assert.rejects(
      exchange({ cla: 0, ins: 0xb0, p1: 0, p2: 0, le: 4 }, scripted([[command, answer]]), SHORT),
      (error) => isPasserelleError(error, "CARD_ERROR"),
      answer,
    );
  }
});

test("a card that answers 61xx forever is cut off", async () => {
  let calls = 0;
  const endless: RawTransmit = async () => {
    calls += 1;
    return hex("00 6101");
  };
  // Le 256 ("as much as fits") sets no bound: only the round-trip cap stops it.
  await assert.rejects(exchange({ cla: 0, ins: 0xb0, p1: 0, p2: 0, le: 256 }, endless, SHORT), (error) =>
    isPasserelleError(error, "CARD_ERROR"),
  );
  assert.equal(calls, MAX_ROUNDS_PER_COMMAND);
});

test("transport errors pass through unchanged", async () => {
  const failing: RawTransmit = async () => {
    throw new Error("link down");
  };
  await assert.rejects(exchange({ cla: 0, ins: 0xb0, p1: 0, p2: 0, le: 1 }, failing, SHORT), /link down/);
});
