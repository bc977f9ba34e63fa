/**
 * Card identity across time for the CPS4, as for the CPS3 (../cps/card-identity.test.ts): the daemon's
 * PIN page waits with the card's transaction released, then the card is checked again before VERIFY
 * — the ChipDoc applet selected anew (a reset closes channel 1), the serial the same, the counter
 * read again. Through the real PC/SC layer (PcscReaders + CardSession) over the virtual backend.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Cps4Emulator, type Cps4Options } from "../../../src/simulator/cards/cps4/index.ts";
import { createTestPki, generateRsaKeyPair } from "../../../src/simulator/pki/test-pki.ts";
import { Cps4Driver } from "../../../src/cards/cps4/index.ts";
import { isPasserelleError } from "../../../src/errors.ts";
import { READER, anotherApplicationCanLock, page, prompted, setup } from "../pin-page-lab.ts";

const pki = createTestPki();
const keys = { authentication: generateRsaKeyPair(), signature: generateRsaKeyPair() };
const cps4 = (options: Cps4Options = {}) => new Cps4Emulator({ pki, keys, ...options });
const SERIAL_A = Uint8Array.of(0x11, 0x11, 0x11, 0x11, 0x11);
const SERIAL_B = Uint8Array.of(0x22, 0x22, 0x22, 0x22, 0x22);

const verifies = (card: Cps4Emulator): number => card.log.filter((c) => c.ins === 0x20).length;

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
