/**
 * CardSession against a scripted PcscCard: what the session does with the buffers it hands the
 * backend, how it bounds each PC/SC call, and how it reads a failure.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { CardSession, CONTROL_TIMEOUT_MS, type CardSessionOptions } from "../../src/pcsc/card-session.ts";
import { PIN_PAD_TIMEOUT_SECONDS } from "../../src/cards/cps/pin.ts";
import type { CardStatus, PcscCard } from "../../src/pcsc/backend.ts";
import { SCARD_PROTOCOL_T1 } from "../../src/pcsc/constants.ts";
import { isPasserelleError } from "../../src/errors.ts";
import { pcscError } from "../../src/pcsc/return-codes.ts";

const VERIFY_PIN = {
  cla: 0x00,
  ins: 0x20,
  p1: 0x00,
  p2: 0x01,
  data: Uint8Array.from([0x31, 0x32, 0x33, 0x34, 0xff, 0xff, 0xff, 0xff]),
};

/** A card whose transmit/control answers are up to the test; it keeps every command buffer it got. */
class RecordingCard implements PcscCard {
  readonly protocol = SCARD_PROTOCOL_T1;
  readonly commands: Uint8Array[] = [];
  answerTransmit: (command: Uint8Array) => Promise<Uint8Array> = async () => Uint8Array.of(0x90, 0x00);
  answerControl: (code: number, data: Uint8Array) => Promise<Uint8Array> = async () => new Uint8Array();

  transmit(command: Uint8Array): Promise<Uint8Array> {
    this.commands.push(command);
    return this.answerTransmit(command);
  }
  control(code: number, data: Uint8Array): Promise<Uint8Array> {
    return this.answerControl(code, data);
  }
  async reconnect(): Promise<number> {
    return this.protocol;
  }
  async disconnect(): Promise<void> {}
  async beginTransaction(): Promise<void> {}
  async endTransaction(): Promise<void> {}
  async status(): Promise<CardStatus> {
    throw new Error("not used");
  }
  async getAttrib(): Promise<Uint8Array> {
    throw new Error("not used");
  }
}

function session(card: PcscCard, options: Partial<CardSessionOptions> = {}): CardSession {
  return new CardSession(card, {
    readerId: "Lab Reader 00 00",
    atr: Uint8Array.of(0x3b, 0x00),
    insertion: 1,
    capabilities: { extendedLength: false },
    apduTimeoutMs: 1_000,
    controlTimeoutMs: CONTROL_TIMEOUT_MS,
    cardStillThere: async () => true,
    ...options,
  });
}

const isZero = (bytes: Uint8Array): boolean => bytes.every((b) => b === 0);

test("the C-APDU buffer handed to SCardTransmit (a PIN block for VERIFY) is zeroed once the call returns", async () => {
  const card = new RecordingCard();
  let seenByCard = "";
  card.answerTransmit = async (command) => {
    seenByCard = Buffer.from(command).toString("hex");
    return Uint8Array.of(0x90, 0x00);
  };
  const response = await session(card).transmit(VERIFY_PIN);
  assert.equal(response.sw, 0x9000);
  // The backend saw the real command, then nothing of it stays in the buffer.
  assert.equal(seenByCard, "002000010831323334ffffffff");
  assert.equal(card.commands.length, 1);
  assert.ok(isZero(card.commands[0] as Uint8Array), "the PIN block was wiped");
  // The driver's own CommandApdu is the driver's business: untouched.
  assert.deepEqual([...VERIFY_PIN.data], [0x31, 0x32, 0x33, 0x34, 0xff, 0xff, 0xff, 0xff]);
});

test("a failing SCardTransmit wipes the buffer too", async () => {
  const card = new RecordingCard();
  card.answerTransmit = async () => {
    throw new Error("link down");
  };
  await assert.rejects(session(card).transmit(VERIFY_PIN), /link down/);
  assert.ok(isZero(card.commands[0] as Uint8Array));
});

test("at the APDU timeout the buffer is left alone (the native call still reads it), wiped when it returns", async () => {
  const card = new RecordingCard();
  let answer!: (response: Uint8Array) => void;
  card.answerTransmit = () => new Promise<Uint8Array>((resolve) => (answer = resolve));
  const channel = session(card, { apduTimeoutMs: 20 });
  await assert.rejects(channel.transmit(VERIFY_PIN), (e) => isPasserelleError(e, "TIMEOUT"));
  const pending = card.commands[0] as Uint8Array;
  assert.equal(Buffer.from(pending).toString("hex"), "002000010831323334ffffffff");
  answer(Uint8Array.of(0x90, 0x00));
  await channel.abandoned;
  assert.ok(isZero(pending), "wiped once the abandoned call returned");
});

test("SCardControl has its own bound: a PIN pad answering after the APDU timeout is still heard", async () => {
  const card = new RecordingCard();
  // The user types slowly: the pad answers well after one APDU timeout.
  card.answerControl = () =>
    new Promise((resolve) => setTimeout(() => resolve(Uint8Array.of(0x90, 0x00)), 100));
  const channel = session(card, { apduTimeoutMs: 20 });
  assert.deepEqual([...(await channel.control(0x42000d48, new Uint8Array(4)))], [0x90, 0x00]);
  assert.equal(channel.abandoned, undefined);
});

test("SCardControl is still bounded, by controlTimeoutMs", async () => {
  const card = new RecordingCard();
  let answer!: (response: Uint8Array) => void;
  card.answerControl = () => new Promise((resolve) => (answer = resolve));
  const channel = session(card, { apduTimeoutMs: 10_000, controlTimeoutMs: 20 });
  await assert.rejects(channel.control(0x42000d48, new Uint8Array()), (e) => isPasserelleError(e, "TIMEOUT"));
  assert.notEqual(channel.abandoned, undefined);
  answer(new Uint8Array());
  await channel.abandoned;
});

test("CONTROL_TIMEOUT_MS outlasts the PIN pad's own timers (bTimerOut + bTimerOut2)", () => {
  assert.ok(CONTROL_TIMEOUT_MS > 2 * PIN_PAD_TIMEOUT_SECONDS * 1000);
});

test("a failure of the service is not taken for a removal: the card is not even asked after", async () => {
  const card = new RecordingCard();
  card.answerTransmit = async () => {
    throw pcscError(0x8010001d, "SCardTransmit"); // SCARD_E_NO_SERVICE
  };
  let asked = 0;
  const channel = session(card, {
    cardStillThere: async () => {
      asked += 1;
      return false;
    },
  });
  await assert.rejects(
    channel.transmit({ cla: 0x80, ins: 0xb0, p1: 0, p2: 0, le: 4 }),
    (e) => isPasserelleError(e, "PCSC_UNAVAILABLE") && e.details["pcsc"] === "SCARD_E_NO_SERVICE",
  );
  assert.equal(asked, 0);
});

test("a card-level failure: CARD_REMOVED if the card is gone, the failure itself if the service cannot tell", async () => {
  const card = new RecordingCard();
  card.answerTransmit = async () => {
    throw pcscError(0x80100016, "SCardTransmit"); // SCARD_E_NOT_TRANSACTED: what a pull mid-APDU gives
  };
  const read = { cla: 0x80, ins: 0xb0, p1: 0, p2: 0, le: 4 };
  await assert.rejects(session(card, { cardStillThere: async () => false }).transmit(read), (e) =>
    isPasserelleError(e, "CARD_REMOVED"),
  );
  await assert.rejects(
    session(card, { cardStillThere: async () => true }).transmit(read),
    (e) => isPasserelleError(e, "CARD_ERROR") && e.details["pcsc"] === "SCARD_E_NOT_TRANSACTED",
  );
  const serviceGone = async (): Promise<boolean> => {
    throw pcscError(0x8010001d, "SCardGetStatusChange");
  };
  await assert.rejects(
    session(card, { cardStillThere: serviceGone }).transmit(read),
    (e) => isPasserelleError(e, "CARD_ERROR") && e.details["pcsc"] === "SCARD_E_NOT_TRANSACTED",
  );
  // An answer without SW while the service is gone: the service's error, not a guessed removal.
  card.answerTransmit = async () => new Uint8Array();
  await assert.rejects(session(card, { cardStillThere: serviceGone }).transmit(read), (e) =>
    isPasserelleError(e, "PCSC_UNAVAILABLE"),
  );
});
