/**
 * What the card-identity tests of every CPS generation share: one virtual reader behind the real
 * PC/SC layer, "another application" trying to take the card, and a PIN page whose user does
 * something while typing.
 */
import { createReaders, type PcscReaders } from "../../src/pcsc/index.ts";
import { VirtualPcsc, VIRTUAL_READER_NAMES } from "../../src/simulator/virtual-pcsc.ts";
import type { CardEmulator } from "../../src/simulator/card-emulator.ts";
import type { PinPrompt } from "../../src/cards/cps/index.ts";
import { SCARD_LEAVE_CARD, SCARD_PROTOCOL_ANY, SCARD_SHARE_SHARED } from "../../src/pcsc/constants.ts";

export const READER = VIRTUAL_READER_NAMES[0]!;
export const ORIGIN = "https://app.example";

export async function setup(card: CardEmulator): Promise<{ lab: VirtualPcsc; readers: PcscReaders }> {
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
export async function anotherApplicationCanLock(lab: VirtualPcsc): Promise<boolean> {
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

/** A PIN page whose user does `whileTyping` and then types `pin`; it records what it is told. */
export function page(pin: string, whileTyping: () => Promise<void>): PinPrompt & { outcomes: unknown[] } {
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

/** A verifyPin request through the daemon's PIN page (no page PIN, no PIN pad). */
export const prompted = (prompt: PinPrompt) => ({
  origin: ORIGIN,
  pinFromPage: false,
  prompt,
  usePinPad: false,
});
