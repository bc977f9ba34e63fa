/**
 * The Vitale seam: a `VitaleReader` provider turns a card into beneficiaries, and `VitaleService`
 * puts the per-insertion cache and the checks every provider shares in front of it.
 *
 * The default provider is the public-layout reader (public-reader.ts). A deployment that holds the
 * GIE SESAM-Vitale licence plugs in a reader built on the GIE's own reading component instead,
 * with the same result shape; nothing else in the daemon changes (docs/cards.md "Vitale").
 */
import type { CardChannel } from "../../pcsc/apdu.ts";
import { PasserelleError } from "../../errors.ts";
import type { VitaleCardData } from "./decode.ts";
import { isCpxAtr } from "./layout.ts";

export interface VitaleReader {
  /** Short, stable name, reported as `card.reader` in the result (e.g. "public-layout"). */
  readonly name: string;
  /**
   * Reads the card the server holds exclusively for this call. Throws PasserelleError: WRONG_CARD
   * (not a Vitale card, or a generation it does not read), CARD_ERROR (card answered nonsense),
   * and whatever the CardChannel throws (CARD_REMOVED…). Per-file problems go to `warnings`.
   */
  read(card: CardChannel): Promise<VitaleCardData>;
}

export interface VitaleServiceOptions {
  readonly reader: VitaleReader;
}

/** One cache entry per reader; more readers than this on one workstation is not a real setup. */
export const MAX_CACHED_READERS = 16;

export interface VitaleService {
  readonly readerName: string;
  /**
   * The card's beneficiaries. The first read of an insertion talks to the card; later reads of
   * the same insertion answer from memory with no APDU. Errors are not cached. The result is
   * deeply frozen, because the cache shares it: copy (spread) it to add `readerId`.
   */
  read(card: CardChannel): Promise<VitaleCardData>;
  /** Drops the cached data of one reader (on card.removed) or of all readers. */
  forget(readerId?: string): void;
}

interface CacheEntry {
  readonly insertion: number;
  readonly data: VitaleCardData;
}

export function createVitaleService(options: VitaleServiceOptions): VitaleService {
  const { reader } = options;
  const cache = new Map<string, CacheEntry>();

  return {
    readerName: reader.name,
    async read(card) {
      if (isCpxAtr(card.atr)) {
        throw new PasserelleError("WRONG_CARD", "a CPS card is in this reader, not a Vitale card", {
          cardType: "cps",
        });
      }
      const cached = cache.get(card.readerId);
      if (cached !== undefined && cached.insertion === card.insertion) return cached.data;
      cache.delete(card.readerId);

      const data = deepFreeze(await reader.read(card));
      // Re-insert last so that the oldest reader is evicted first.
      cache.set(card.readerId, { insertion: card.insertion, data });
      while (cache.size > MAX_CACHED_READERS) {
        const oldest = cache.keys().next().value;
        if (oldest === undefined) break;
        cache.delete(oldest);
      }
      return data;
    },
    forget(readerId) {
      if (readerId === undefined) cache.clear();
      else cache.delete(readerId);
    },
  };
}

/** Freezes the result tree (plain objects and arrays from a reader), so no caller can alter the cache. */
function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
