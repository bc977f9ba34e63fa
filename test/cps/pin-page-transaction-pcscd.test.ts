/**
 * The daemon's PIN page waits outside the card's transaction, through the real pcscd: while the
 * person "types", another PC/SC application (a second context of the system library) takes the
 * card's transaction at once; then the PIN is verified. And a CPS with the same ATR but another
 * serial, swapped in while the PIN is typed, gets no VERIFY: CARD_REMOVED, replaced.
 * Needs root and pcscd + vsmartcard-vpcd (scripts/system-deps.sh); holds the lab lock.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { acquirePcscd, type PcscdLab } from "../helpers/pcscd.ts";
import { createReaders, type Readers } from "../../daemon/src/pcsc/index.ts";
import { createSystemBackend } from "../../daemon/src/pcsc/binding/koffi-backend.ts";
import { SCARD_LEAVE_CARD, SCARD_PROTOCOL_ANY, SCARD_SHARE_SHARED } from "../../daemon/src/pcsc/constants.ts";
import { VpcdBridge } from "../../daemon/src/simulator/vpcd-bridge.ts";
import { Cps3Emulator } from "../../daemon/src/simulator/cards/cps3/emulator.ts";
import { CpsDriver, type PinPrompt } from "../../daemon/src/cards/cps/index.ts";
import { isPasserelleError } from "../../daemon/src/errors.ts";
import { waitForCard } from "../helpers/vpcd-slots.ts";

const SLOT = 1;
const ORIGIN = "https://app.example";

let lab: PcscdLab;
let readers: Readers;
const bridges = new Set<VpcdBridge>();

before(async () => {
  lab = await acquirePcscd();
  readers = await createReaders({ backend: createSystemBackend() });
});

after(async () => {
  for (const bridge of bridges) await bridge.close();
  await readers?.close();
  await lab?.release();
});

async function insert(emulator: Cps3Emulator): Promise<string> {
  const bridge = new VpcdBridge({ emulator, slot: SLOT, reconnect: false });
  bridges.add(bridge);
  await bridge.start();
  return waitForCard(readers, SLOT, true);
}

async function pullAll(): Promise<void> {
  for (const bridge of bridges) await bridge.close();
  bridges.clear();
  await waitForCard(readers, SLOT, false);
}

/** Another application takes the card's transaction: resolves true if it got it within 1 s. */
async function otherApplicationLocks(readerName: string): Promise<boolean> {
  const context = await createSystemBackend().establishContext();
  try {
    const handle = await context.connect(readerName, SCARD_SHARE_SHARED, SCARD_PROTOCOL_ANY);
    const begun = handle.beginTransaction().then(() => true);
    const got = await Promise.race([
      begun,
      new Promise<false>((resolve) => setTimeout(resolve, 1_000, false)),
    ]);
    // A late success gives the lock back at once (the daemon would otherwise wait for it).
    void begun.then(() => handle.endTransaction(SCARD_LEAVE_CARD)).catch(() => undefined);
    if (got) await handle.endTransaction(SCARD_LEAVE_CARD).catch(() => undefined);
    await handle.disconnect(SCARD_LEAVE_CARD).catch(() => undefined);
    return got;
  } finally {
    await context.release();
  }
}

const verifies = (card: Cps3Emulator): number => card.log.filter((c) => c.ins === 0x20).length;

test("through pcscd: the PIN page waits with the transaction released, then the PIN is verified", async () => {
  await pullAll();
  const card = new Cps3Emulator({ serial: Uint8Array.of(1, 1, 1, 1, 1) });
  const readerId = await insert(card);
  const name = readers.list().find((r) => r.id === readerId)!.name;
  const driver = new CpsDriver();
  let free: boolean | undefined;
  const prompt: PinPrompt = {
    async ask() {
      free = await otherApplicationLocks(name);
      return "1234";
    },
  };
  const result = await readers.withCard(readerId, (channel) =>
    driver.verifyPin(channel, { origin: ORIGIN, pinFromPage: false, prompt, usePinPad: false }),
  );
  assert.deepEqual(result, { verified: true, triesRemaining: 3 });
  assert.equal(free, true, "pcscd let another application take the card while the person typed");
  assert.equal(await otherApplicationLocks(name), true, "and the daemon gave the card back after");
  await pullAll();
});

test("through pcscd: a same-ATR CPS swapped in while the PIN is typed gets no VERIFY", async () => {
  await pullAll();
  const cardA = new Cps3Emulator({ serial: Uint8Array.of(1, 1, 1, 1, 1) });
  const cardB = new Cps3Emulator({ serial: Uint8Array.of(2, 2, 2, 2, 2) });
  const readerId = await insert(cardA);
  const driver = new CpsDriver();
  const prompt: PinPrompt = {
    async ask() {
      await pullAll();
      await insert(cardB);
      return "1234";
    },
  };
  await assert.rejects(
    readers.withCard(readerId, (channel) =>
      driver.verifyPin(channel, { origin: ORIGIN, pinFromPage: false, prompt, usePinPad: false }),
    ),
    (error) => isPasserelleError(error, "CARD_REMOVED") && error.details["replaced"] === true,
  );
  assert.equal(verifies(cardA) + verifies(cardB), 0);
  await pullAll();
});
