/**
 * Card identity across time, through the real PC/SC layer (PcscReaders + CardSession) over the
 * in-process virtual backend:
 * - the daemon's PIN page waits with the card's transaction released (Windows resets a card held
 *   idle in a transaction for more than 5 s), and the card is checked again before VERIFY: by
 *   PC/SC (insertion, event counter) and by its serial (two CPS with the same ATR differ only there);
 * - what a card unlocked (PIN state, per-origin signing right, the assertion cache's tie to it)
 *   does not survive the card leaving the reader.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import type { PcscReaders } from "../../../src/pcsc/index.ts";
import { CpsDriver, type PinPrompt } from "../../../src/cards/cps/index.ts";
import { createCpsSigner } from "../../../src/cards/cps/signer.ts";
import { isPasserelleError } from "../../../src/errors.ts";
import type { Cps3Emulator } from "../../../src/simulator/cards/cps3/emulator.ts";
import { emulator } from "./fixtures.ts";
import { ORIGIN, READER, anotherApplicationCanLock, page, prompted, setup } from "../pin-page-lab.ts";

const SERIAL_A = Uint8Array.of(0x11, 0x11, 0x11, 0x11, 0x11);
const SERIAL_B = Uint8Array.of(0x22, 0x22, 0x22, 0x22, 0x22);

const verifies = (card: Cps3Emulator): number => card.log.filter((c) => c.ins === 0x20).length;

/** Resolves once the monitor has seen `count` more insertions in the reader. */
async function insertionReaches(readers: PcscReaders, insertion: number): Promise<void> {
  for (let i = 0; i < 200; i += 1) {
    if (readers.list().find((r) => r.id === READER)?.insertion === insertion) return;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error(`insertion ${insertion} never seen`);
}

test("the PIN page waits with the card's transaction released; the PIN is verified after", async () => {
  const card = emulator({ serial: SERIAL_A });
  const { lab, readers } = await setup(card);
  try {
    const driver = new CpsDriver();
    let freeWhileTyping: boolean | undefined;
    const prompt = page("1234", async () => {
      freeWhileTyping = await anotherApplicationCanLock(lab);
    });
    const result = await readers.withCard(READER, (channel) => driver.verifyPin(channel, prompted(prompt)));
    assert.deepEqual(result, { verified: true, triesRemaining: 3 });
    assert.equal(freeWhileTyping, true, "another application could take the card while the person typed");
    assert.deepEqual(prompt.outcomes, [{ verified: true, triesRemaining: 3 }]);
    // the operation ended cleanly: the card is free again, and usable
    assert.equal(await anotherApplicationCanLock(lab), true);
    assert.equal((await readers.withCard(READER, (channel) => driver.read(channel))).pin.verified, true);
  } finally {
    await readers.close();
  }
});

test("a same-ATR CPS swapped in while the PIN is typed (PC/SC sees it): CARD_REMOVED, replaced, no VERIFY", async () => {
  const cardA = emulator({ serial: SERIAL_A });
  const cardB = emulator({ serial: SERIAL_B });
  assert.deepEqual(cardA.atr, cardB.atr);
  const { lab, readers } = await setup(cardA);
  try {
    const driver = new CpsDriver();
    const prompt = page("1234", async () => {
      lab.remove(READER);
      lab.insert(READER, cardB);
      await insertionReaches(readers, 2);
    });
    await assert.rejects(
      readers.withCard(READER, (channel) => driver.verifyPin(channel, prompted(prompt))),
      (error) =>
        isPasserelleError(error, "CARD_REMOVED") &&
        error.details["replaced"] === true &&
        /another card was inserted/.test(error.message),
    );
    assert.equal(verifies(cardA) + verifies(cardB), 0, "the PIN went to no card");
    assert.equal(prompt.outcomes.length, 1, "the page is told");
  } finally {
    await readers.close();
  }
});

test("a same-ATR CPS that PC/SC did not see arriving: the serial catches it, no VERIFY, the new card read fresh", async () => {
  const cardA = emulator({ serial: SERIAL_A });
  const cardB = emulator({ serial: SERIAL_B, pin: "9999", triesRemaining: 2 });
  const { lab, readers } = await setup(cardA);
  try {
    const driver = new CpsDriver();
    await readers.withCard(READER, (channel) => driver.read(channel));
    // The reader reports nothing: same ATR, no event; only the serial differs.
    const prompt = page("1234", async () => lab.swapUnnoticed(READER, cardB, 0));
    await assert.rejects(
      readers.withCard(READER, (channel) => driver.verifyPin(channel, prompted(prompt))),
      (error) =>
        isPasserelleError(error, "CARD_REMOVED") &&
        error.details["replaced"] === true &&
        /serial differs/.test(error.message),
    );
    assert.equal(verifies(cardB), 0, "card A's PIN was never tried on card B");
    assert.equal(cardB.triesRemaining, 2);
    // what was known of card A is gone: the next read reads card B (its counter, not A's)
    const read = await readers.withCard(READER, (channel) => driver.read(channel));
    assert.deepEqual(read.pin, { verified: false, triesRemaining: 2 });
  } finally {
    await readers.close();
  }
});

test("the same CPS pulled and pushed back while the PIN is typed: CARD_REMOVED, nothing verified", async () => {
  const card = emulator({ serial: SERIAL_A });
  const { lab, readers } = await setup(card);
  try {
    const driver = new CpsDriver();
    const prompt = page("1234", async () => {
      lab.remove(READER);
      lab.insert(READER, card);
      await insertionReaches(readers, 2);
    });
    await assert.rejects(
      readers.withCard(READER, (channel) => driver.verifyPin(channel, prompted(prompt))),
      (error) => isPasserelleError(error, "CARD_REMOVED"),
    );
    assert.equal(verifies(card), 0);
  } finally {
    await readers.close();
  }
});

test("the person cancels: the reader is left free and usable", async () => {
  const card = emulator({ serial: SERIAL_A });
  const { lab, readers } = await setup(card);
  try {
    const driver = new CpsDriver();
    const cancelled: PinPrompt = {
      async ask() {
        throw new (await import("../../../src/errors.ts")).PasserelleError("USER_CANCELLED");
      },
    };
    await assert.rejects(
      readers.withCard(READER, (channel) => driver.verifyPin(channel, prompted(cancelled))),
      (error) => isPasserelleError(error, "USER_CANCELLED"),
    );
    assert.equal(await anotherApplicationCanLock(lab), true);
    assert.equal((await readers.withCard(READER, (channel) => driver.read(channel))).pin.verified, false);
  } finally {
    await readers.close();
  }
});

test("PIN state and per-origin signing right do not survive the card leaving; the signer's presence changes", async () => {
  const card = emulator({ serial: SERIAL_A });
  const { lab, readers } = await setup(card);
  try {
    const driver = new CpsDriver();
    const withCard = <T>(operation: Parameters<typeof readers.withCard<T>>[1]) =>
      readers.withCard(READER, operation);
    const signer = createCpsSigner({ origin: ORIGIN, withCard }, driver);
    await signer.signatureCertificatePem();
    const before = signer.presence();
    await withCard((channel) =>
      driver.verifyPin(channel, { origin: ORIGIN, pin: "1234", pinFromPage: true }),
    );
    assert.ok((await signer.sign(Uint8Array.of(1, 2, 3))).length > 0);

    lab.remove(READER);
    lab.insert(READER, card);
    await insertionReaches(readers, 2);
    await signer.signatureCertificatePem();
    assert.notEqual(
      signer.presence(),
      before,
      "a new insertion is a new presence (the assertion cache's key)",
    );
    assert.equal((await withCard((channel) => driver.read(channel))).pin.verified, false);
    await assert.rejects(signer.sign(Uint8Array.of(1, 2, 3)), (error) =>
      isPasserelleError(error, "PIN_REQUIRED"),
    );
  } finally {
    await readers.close();
  }
});
