/**
 * The in-process lab in one call: the virtual PC/SC backend with the two default readers and a
 * card from a registered profile in each slot asked for. Used by `--simulate` and tests:
 *
 *   const pcsc = await createVirtualLab({ slot0: "cps", slot1: "vitale" });
 *   const readers = await createReaders({ backend: pcsc });
 *
 * Profiles come from simulator/profiles.ts; import simulator/builtin-profiles.ts (or the card
 * modules) first so that `cps`, `vitale`, … are registered.
 */
import { createEmulator } from "./profiles.ts";
import { VirtualPcsc, VIRTUAL_READER_NAMES } from "./virtual-pcsc.ts";

export interface VirtualLabCards {
  /** Profile name for the card in slot 0 (`Passerelle Virtual Reader 00 00`), if any. */
  readonly slot0?: string;
  /** Profile name for the card in slot 1 (`Passerelle Virtual Reader 00 01`), if any. */
  readonly slot1?: string;
}

export async function createVirtualLab(cards: VirtualLabCards = {}): Promise<VirtualPcsc> {
  const lab = new VirtualPcsc();
  const [slot0, slot1] = VIRTUAL_READER_NAMES;
  if (cards.slot0 !== undefined) lab.insert(slot0, await createEmulator(cards.slot0));
  if (cards.slot1 !== undefined) lab.insert(slot1, await createEmulator(cards.slot1));
  return lab;
}
