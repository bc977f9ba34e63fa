/**
 * Shared pieces of the PC/SC system tests: the real pcscd (test/helpers/pcscd.ts), the daemon's
 * Readers over the koffi binding, and lab cards plugged through the vpcd bridge.
 */
import type { CardEmulator } from "../../daemon/src/simulator/card-emulator.ts";
import { createEchoCard } from "../../daemon/src/simulator/echo-card.ts";
import { VpcdBridge } from "../../daemon/src/simulator/vpcd-bridge.ts";
import { createReaders, type PcscReaders, type ReaderEvent } from "../../daemon/src/pcsc/index.ts";
import { createSystemBackend } from "../../daemon/src/pcsc/binding/koffi-backend.ts";

/** pcscd's names for Debian's vpcd slots (reader.conf.d/vpcd, FRIENDLYNAME "Virtual PCD"). */
export const VPCD_READERS = ["Virtual PCD 00 00", "Virtual PCD 00 01"] as const;
/** Bound on any single wait in these tests, so a broken feature fails instead of hanging. */
export const EVENT_TIMEOUT_MS = 15_000;

export const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ""), "hex"));

export async function systemReaders(): Promise<PcscReaders> {
  return createReaders({ backend: createSystemBackend(), backoffMinMs: 50, backoffMaxMs: 500 });
}

/** Resolves with the first event matching `predicate` (subscribe BEFORE causing it). */
export function nextEvent<E extends ReaderEvent>(
  readers: PcscReaders,
  predicate: (event: ReaderEvent) => event is E,
  what: string,
): Promise<E>;
export function nextEvent(
  readers: PcscReaders,
  predicate: (event: ReaderEvent) => boolean,
  what: string,
): Promise<ReaderEvent>;
export function nextEvent(
  readers: PcscReaders,
  predicate: (event: ReaderEvent) => boolean,
  what: string,
): Promise<ReaderEvent> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      unsubscribe();
      reject(new Error(`no ${what} within ${EVENT_TIMEOUT_MS} ms`));
    }, EVENT_TIMEOUT_MS);
    const unsubscribe = readers.subscribe((event) => {
      if (!predicate(event)) return;
      clearTimeout(timer);
      unsubscribe();
      resolve(event);
    });
  });
}

export const isInserted =
  (readerId: string) =>
  (event: ReaderEvent): event is Extract<ReaderEvent, { type: "card.inserted" }> =>
    event.type === "card.inserted" && event.readerId === readerId;
export const isRemoved = (readerId: string) => (event: ReaderEvent) =>
  event.type === "card.removed" && event.readerId === readerId;

/** Plugs `emulator` into vpcd slot `slot` and waits until the daemon reports the card. */
export async function insert(
  readers: PcscReaders,
  slot: 0 | 1,
  emulator: CardEmulator = createEchoCard(),
): Promise<{ bridge: VpcdBridge; event: Extract<ReaderEvent, { type: "card.inserted" }> }> {
  const readerId = VPCD_READERS[slot];
  const inserted = nextEvent(readers, isInserted(readerId), `card.inserted in ${readerId}`);
  const bridge = new VpcdBridge({ emulator, slot });
  await bridge.start();
  return { bridge, event: await inserted };
}

/** Pulls the card out (closes the bridge) and waits for card.removed. */
export async function pull(readers: PcscReaders, slot: 0 | 1, bridge: VpcdBridge): Promise<void> {
  const removed = nextEvent(readers, isRemoved(VPCD_READERS[slot]), `card.removed in ${VPCD_READERS[slot]}`);
  await bridge.close();
  await removed;
}

/** The echo card with another ATR (the lab's echo behaviour, a CPS or Vitale identity). */
export function echoWithAtr(atr: Uint8Array): CardEmulator {
  const inner = createEchoCard();
  return { atr, transmit: (apdu) => inner.transmit(apdu), reset: () => inner.reset() };
}

/** Waits until the daemon's view says the vpcd readers are there (after start or restart). */
export async function readersListed(readers: PcscReaders): Promise<void> {
  if (VPCD_READERS.every((id) => readers.list().some((r) => r.id === id))) return;
  await nextEvent(
    readers,
    () => VPCD_READERS.every((id) => readers.list().some((r) => r.id === id)),
    "the vpcd readers",
  );
}
