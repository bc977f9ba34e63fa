/**
 * Card identity across time for the CPS4, as for the CPS3 (../cps/card-identity.test.ts): the daemon's
 * PIN page waits with the card's transaction released, then the card is checked again before VERIFY
 * — the ChipDoc applet selected anew (a reset closes channel 1), the serial the same, the counter
 * read again. Through the real PC/SC layer (PcscReaders + CardSession) over the virtual backend.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { createReaders, type PcscReaders } from "../../../src/pcsc/index.ts";
import { VirtualPcsc, VIRTUAL_READER_NAMES } from "../../../src/simulator/virtual-pcsc.ts";
import { Cps4Emulator, type Cps4Options } from "../../../src/simulator/cards/cps4/index.ts";
import { createTestPki, generateRsaKeyPair } from "../../../src/simulator/pki/test-pki.ts";
import { Cps4Driver } from "../../../src/cards/cps4/index.ts";
import type { PinPrompt } from "../../../src/cards/cps/index.ts";
import { isPasserelleError } from "../../../src/errors.ts";
import { SCARD_LEAVE_CARD, SCARD_PROTOCOL_ANY, SCARD_SHARE_SHARED } from "../../../src/pcsc/constants.ts";

const [SLOT0] = VIRTUAL_READER_NAMES;
const READER = SLOT0!;
const ORIGIN = "https://app.example";
const pki = createTestPki();
const keys = { authentication: generateRsaKeyPair(), signature: generateRsaKeyPair() };
const cps4 = (options: Cps4Options = {}) => new Cps4Emulator({ pki, keys, ...options });
const SERIAL_A = Uint8Array.of(0x11, 0x11, 0x11, 0x11, 0x11);
const SERIAL_B = Uint8Array.of(0x22, 0x22, 0x22, 0x22, 0x22);

const verifies = (card: Cps4Emulator): number => card.log.filter((c) => c.ins === 0x20).length;

async function setup(card: Cps4Emulator): Promise<{ lab: VirtualPcsc; readers: PcscReaders }> {
  const lab = new VirtualPcsc();
  lab.insert(READER, card);
  const readers = await createReaders({
    backend: lab,
    backoffMinMs: 5,
    backoffMaxMs: 20,
    transactionTimeoutMs: 2_000,
  });
  return { lab, readers };
}

/** Can another application take the card's transaction right now? (bounded: false after 500 ms) */
async function anotherApplicationCanLock(lab: VirtualPcsc): Promise<boolean> {
  const context = await lab.establishContext();
  try {
    const handle = await context.connect(READER, SCARD_SHARE_SHARED, SCARD_PROTOCOL_ANY);
    const begun = handle.beginTransaction().then(() => true);
    const got = await Promise.race([begun, new Promise<false>((resolve) => setTimeout(resolve, 500, false))]);
    if (got) await handle.endTransaction(SCARD_LEAVE_CARD);
    void begun.then(() => handle.endTransaction(SCARD_LEAVE_CARD).catch(() => undefined));
    await handle.disconnect(SCARD_LEAVE_CARD).catch(() => undefined);
    return got;
  } finally {
    await context.release();
  }
}

function page(pin: string, whileTyping: () => Promise<void>): PinPrompt & { outcomes: unknown[] } {
  const outcomes: unknown[] = [];
  return {
    outcomes,
    async ask() {
      await whileTyping();
      return pin;
    },
    answered: (outcome) => void outcomes.push(outcome),
  };
}

const prompted = (prompt: PinPrompt) => ({ origin: ORIGIN, pinFromPage: false, prompt, usePinPad: false });

test("CPS4: the PIN page waits with the card's transaction released; the PIN is verified after", async () => {
  const card = cps4({ serial: SERIAL_A });
  const { lab, readers } = await setup(card);
  try {
    const driver = new Cps4Driver();
    let freeWhileTyping: boolean | undefined;
    const prompt = page("1234", async () => {
      freeWhileTyping = await anotherApplicationCanLock(lab);
    });
    const result = await readers.withCard(READER, (channel) => driver.verifyPin(channel, prompted(prompt)));
    assert.deepEqual(result, { verified: true, triesRemaining: 3 });
    assert.equal(freeWhileTyping, true, "another application could take the card while the person typed");
    assert.deepEqual(prompt.outcomes, [{ verified: true, triesRemaining: 3 }]);
    assert.equal(verifies(card) >= 1, true);
    assert.equal((await readers.withCard(READER, (channel) => driver.read(channel))).pin.verified, true);
  } finally {
    await readers.close();
  }
});

test("CPS4: a same-ATR card PC/SC did not see arriving is caught by its serial; the PIN goes to no card", async () => {
  const cardA = cps4({ serial: SERIAL_A });
  const cardB = cps4({ serial: SERIAL_B, pin: "9999", triesRemaining: 2 });
  assert.deepEqual(cardA.atr, cardB.atr);
  const { lab, readers } = await setup(cardA);
  try {
    const driver = new Cps4Driver();
    await readers.withCard(READER, (channel) => driver.read(channel));
    const verifiesBefore = verifies(cardB);
    const prompt = page("1234", async () => lab.swapUnnoticed(READER, cardB, 0));
    await assert.rejects(
      readers.withCard(READER, (channel) => driver.verifyPin(channel, prompted(prompt))),
      (error) =>
        isPasserelleError(error, "CARD_REMOVED") &&
        error.details["replaced"] === true &&
        /serial differs/.test(error.message),
    );
    assert.equal(verifies(cardB), verifiesBefore, "card A's PIN was never tried on card B");
    assert.equal(cardB.triesRemaining, 2);
    assert.equal(prompt.outcomes.length, 1, "the page is told");
    const read = await readers.withCard(READER, (channel) => driver.read(channel));
    assert.deepEqual(read.pin, { verified: false, triesRemaining: 2 });
  } finally {
    await readers.close();
  }
});
