/**
 * The public surface of the PC/SC concern, as the rest of the daemon sees it: the readers and
 * their cards, their events, and exclusive access to one card at a time.
 */
import type { CardChannel } from "./apdu.ts";

export interface ReaderState {
  /** Stable identifier of the reader (its PC/SC name, unique on a machine). */
  readonly id: string;
  readonly name: string;
  readonly cardPresent: boolean;
  readonly atr?: Uint8Array;
  /** See CardChannel.insertion. */
  readonly insertion: number;
}

export type ReaderEvent =
  | { readonly type: "reader.added"; readonly reader: ReaderState }
  | { readonly type: "reader.removed"; readonly readerId: string }
  | {
      readonly type: "card.inserted";
      readonly readerId: string;
      readonly atr: Uint8Array;
      readonly insertion: number;
    }
  | { readonly type: "card.removed"; readonly readerId: string }
  | { readonly type: "pcsc.status"; readonly available: boolean };

export interface Readers {
  /** False while the PC/SC service is unreachable. */
  readonly available: boolean;
  list(): ReaderState[];
  subscribe(listener: (event: ReaderEvent) => void): () => void;
  /**
   * Runs `operation` with exclusive use of the card in `readerId` (one PC/SC transaction), queued
   * fairly behind other operations on the same reader; operations on other readers run in parallel.
   * Throws PasserelleError NO_READER, NO_CARD, READER_BUSY, CARD_REMOVED, PCSC_UNAVAILABLE.
   */
  withCard<T>(readerId: string, operation: (card: CardChannel) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** No PC/SC at all (a machine without the service, or a test that needs no reader). */
export class NoReaders implements Readers {
  readonly available = false;
  list(): ReaderState[] {
    return [];
  }
  subscribe(): () => void {
    return () => undefined;
  }
  async withCard<T>(): Promise<T> {
    const { PasserelleError } = await import("../errors.ts");
    throw new PasserelleError("PCSC_UNAVAILABLE");
  }
  async close(): Promise<void> {}
}
