/**
 * Waiting on the real pcscd's vpcd slots from the daemon's Readers: which reader is slot N, and
 * "wait until slot N has (or has no) card", bounded so a broken feature fails instead of hanging.
 */
import type { Readers } from "../../daemon/src/pcsc/index.ts";

/** Bound on one wait for a card to appear or go. */
export const CARD_WAIT_MS = 10_000;

/** The pcscd reader of vpcd slot `slot` (pcsc-lite names it "<name> 00 0<slot>"). */
export function readerOfSlot(readers: Readers, slot: number): string | undefined {
  return readers
    .list()
    .find((reader) => reader.name.includes("Virtual PCD") && reader.name.endsWith(` 00 0${slot}`))?.id;
}

/** Resolves with the slot's reader id once its card presence is `present`. */
export async function waitForCard(readers: Readers, slot: number, present: boolean): Promise<string> {
  const deadline = Date.now() + CARD_WAIT_MS;
  for (;;) {
    const id = readerOfSlot(readers, slot);
    const reader = readers.list().find((candidate) => candidate.id === id);
    if (id !== undefined && reader?.cardPresent === present) return id;
    if (Date.now() > deadline) throw new Error(`vpcd slot ${slot}: card present=${present} never seen`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
