/**
 * One emulated card inserted into the real pcscd's virtual reader (vpcd), as the system tests of the
 * cards need it: the lab lock taken, the daemon's Readers over the koffi binding (with the card
 * table's APDU limits, as the daemon sets them), the slot seen empty,
 * the card plugged in by the bridge, its reader seen holding a card.
 *
 *   const inserted = await insertIntoVpcd(new Cps3Emulator(), { beforeInsert: () => judge.clearCache() });
 *   await inserted.readers.withCard(inserted.readerId, (channel) => …);
 *   await inserted.close();             // bridge, readers, lab lock; safe to call twice
 *
 * A failure half-way (pcscd never shows the card…) undoes what was done before it is thrown, so a
 * test file's `after` only has to close what it got.
 */
import { acquirePcscd, type PcscdLab } from "./pcscd.ts";
import { waitForCard } from "./vpcd-slots.ts";
import { createReaders, type Readers } from "../../daemon/src/pcsc/index.ts";
import { createSystemBackend } from "../../daemon/src/pcsc/binding/koffi-backend.ts";
import { VpcdBridge } from "../../daemon/src/simulator/vpcd-bridge.ts";
import type { CardEmulator } from "../../daemon/src/simulator/card-emulator.ts";
import { recognizeCard } from "../../daemon/src/cards/recognize.ts";

export interface InsertedCard<C extends CardEmulator> {
  readonly card: C;
  readonly lab: PcscdLab;
  readonly readers: Readers;
  readonly bridge: VpcdBridge;
  /** The daemon's id of the vpcd reader holding the card. */
  readonly readerId: string;
  /** Unplugs the card, closes the Readers, releases the lab lock. */
  close(): Promise<void>;
}

export interface InsertOptions {
  /** vpcd slot (0 or 1); 1 by default, as every card system test uses. */
  readonly slot?: number;
  /** Runs once the slot is seen empty, just before the card goes in (a judge's cache cleared…). */
  readonly beforeInsert?: () => void | Promise<void>;
}

export async function insertIntoVpcd<C extends CardEmulator>(
  card: C,
  options: InsertOptions = {},
): Promise<InsertedCard<C>> {
  const slot = options.slot ?? 1;
  const lab = await acquirePcscd();
  let readers: Readers | undefined;
  let bridge: VpcdBridge | undefined;
  const close = async (): Promise<void> => {
    const [b, r] = [bridge, readers];
    bridge = readers = undefined;
    try {
      await b?.close();
      await r?.close();
    } finally {
      await lab.release();
    }
  };
  try {
    // The Readers as the daemon configures them: the card table's APDU limits by ATR.
    readers = await createReaders({
      backend: createSystemBackend(),
      extendedLengthFor: (atr) => recognizeCard(atr).extendedLength,
      maxGetResponseFor: (atr) => recognizeCard(atr).maxGetResponse,
    });
    await waitForCard(readers, slot, false);
    await options.beforeInsert?.();
    bridge = new VpcdBridge({ emulator: card, slot, reconnect: false });
    await bridge.start();
    const readerId = await waitForCard(readers, slot, true);
    return { card, lab, readers, bridge, readerId, close };
  } catch (error) {
    await close();
    throw error;
  }
}
