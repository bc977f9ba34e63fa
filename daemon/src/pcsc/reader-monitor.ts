/**
 * ReaderMonitor: the one watcher of readers and cards. It blocks in SCardGetStatusChange (on a
 * worker thread) on every reader plus the `\\?PnP?\Notification` pseudo-reader, so it wakes only
 * when PC/SC has something to say: no polling timer while the service runs. When the service goes
 * away (pcscd stopped or restarted, Windows stopping the service when the last reader leaves) it
 * reports every card and reader gone and PC/SC unavailable, then re-establishes a context with a
 * capped exponential backoff, re-lists the readers and re-emits their state. A service down from
 * the start is reported once ("PC/SC service unavailable"), and the same retries apply.
 */
import { isPasserelleError } from "../errors.ts";
import type { PcscBackend, PcscContext, ReaderStateChange } from "./backend.ts";
import {
  INFINITE,
  PNP_NOTIFICATION,
  SCARD_STATE_CHANGED,
  SCARD_STATE_PRESENT,
  SCARD_STATE_UNAVAILABLE,
  SCARD_STATE_UNAWARE,
  SCARD_STATE_UNKNOWN,
  eventCounterOf,
} from "./constants.ts";
import type { ReaderEvent, ReaderState } from "./readers.ts";

/** First wait before re-establishing a context after the service went away. */
export const RECONNECT_BACKOFF_MIN_MS = 100;
/** Longest wait between two attempts while the service stays down. */
export const RECONNECT_BACKOFF_MAX_MS = 2_000;

/** close(): SCardCancel is repeated this often, this many times, until the watch loop ends. */
const CLOSE_CANCEL_INTERVAL_MS = 50;
const CLOSE_CANCEL_ATTEMPTS = 100;

const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export interface ReaderMonitorOptions {
  readonly backoffMinMs?: number;
  readonly backoffMaxMs?: number;
  /** Diagnostics (never card data): service lost/back, unexpected errors. */
  readonly onDiagnostic?: (message: string, error?: unknown) => void;
}

interface TrackedReader {
  state: ReaderState;
  /** Last dwEventState, fed back as dwCurrentState. */
  eventState: number;
}

export class ReaderMonitor {
  readonly #backend: PcscBackend;
  readonly #backoffMin: number;
  readonly #backoffMax: number;
  readonly #diagnostic: (message: string, error?: unknown) => void;
  readonly #readers = new Map<string, TrackedReader>();
  readonly #listeners = new Set<(event: ReaderEvent) => void>();
  /** Insertion counters survive a reader's removal, so an insertion number is never reused. */
  readonly #insertions = new Map<string, number>();
  #available = false;
  /** The first attempt is over (readers known, or the service found unavailable). */
  #synced = false;
  #closed = false;
  #context: PcscContext | undefined;
  #wakeBackoff: (() => void) | undefined;
  #loop: Promise<void> | undefined;
  #firstSync: Promise<void>;
  #resolveFirstSync!: () => void;

  constructor(backend: PcscBackend, options: ReaderMonitorOptions = {}) {
    this.#backend = backend;
    this.#backoffMin = options.backoffMinMs ?? RECONNECT_BACKOFF_MIN_MS;
    this.#backoffMax = options.backoffMaxMs ?? RECONNECT_BACKOFF_MAX_MS;
    this.#diagnostic = options.onDiagnostic ?? (() => undefined);
    this.#firstSync = new Promise(
      (resolve) =>
        (this.#resolveFirstSync = () => {
          this.#synced = true;
          resolve();
        }),
    );
  }

  get available(): boolean {
    return this.#available;
  }

  /**
   * Starts watching. Resolves once the first attempt is complete: the readers and their cards are
   * known, or the service was found unavailable.
   */
  start(): Promise<void> {
    this.#loop ??= this.#run();
    return this.#firstSync;
  }

  list(): ReaderState[] {
    return [...this.#readers.values()].map((tracked) => tracked.state);
  }

  get(readerId: string): ReaderState | undefined {
    return this.#readers.get(readerId)?.state;
  }

  subscribe(listener: (event: ReaderEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#wakeBackoff?.();
    // SCardCancel only ends a wait the service has already received: a GetStatusChange still on
    // its way to pcscd would miss it and block forever. Cancel until the loop has ended.
    let ended = false;
    const loop = (this.#loop ?? Promise.resolve()).then(() => (ended = true));
    for (let attempt = 0; !ended && attempt < CLOSE_CANCEL_ATTEMPTS; attempt += 1) {
      this.#context?.cancel();
      await Promise.race([loop, delay(CLOSE_CANCEL_INTERVAL_MS)]);
    }
    this.#listeners.clear();
  }

  #emit(event: ReaderEvent): void {
    for (const listener of [...this.#listeners]) {
      try {
        listener(event);
      } catch (error) {
        this.#diagnostic("reader event listener threw", error);
      }
    }
  }

  async #run(): Promise<void> {
    let backoff = this.#backoffMin;
    while (!this.#closed) {
      let context: PcscContext | undefined;
      try {
        context = await this.#backend.establishContext();
        this.#context = context;
        if (this.#closed) break;
        await this.#watch(context);
      } catch (error) {
        if (this.#closed) break;
        // It was up and just went away: the first retry comes quickly.
        if (this.#available) backoff = this.#backoffMin;
        if (!isPasserelleError(error)) this.#diagnostic("reader monitor: unexpected error", error);
        this.#setUnavailable(error);
      } finally {
        this.#context = undefined;
        await context?.release().catch(() => undefined);
      }
      if (this.#closed) break;
      await this.#sleep(backoff);
      backoff = Math.min(backoff * 2, this.#backoffMax);
    }
    this.#setUnavailable(undefined, false);
    this.#resolveFirstSync();
  }

  /** Runs until the context fails (service gone) or close(). */
  async #watch(context: PcscContext): Promise<void> {
    let names = await context.listReaders();
    this.#syncReaders(names);
    this.#setAvailable();
    // With no reader the first wait below blocks: the (empty) state is already complete.
    if (names.length === 0) this.#resolveFirstSync();
    let pnpState = SCARD_STATE_UNAWARE;
    for (;;) {
      if (this.#closed) return;
      const queries = [
        { reader: PNP_NOTIFICATION, currentState: pnpState },
        ...names.map((reader) => ({ reader, currentState: this.#readers.get(reader)?.eventState ?? 0 })),
      ];
      const changes = await context.getStatusChange(queries, INFINITE);
      if (this.#closed) return;
      let relist = false;
      for (const change of changes) {
        if (change.reader === PNP_NOTIFICATION) {
          if ((change.eventState & SCARD_STATE_CHANGED) !== 0) relist = true;
          pnpState = change.eventState & ~SCARD_STATE_CHANGED;
          continue;
        }
        if ((change.eventState & (SCARD_STATE_UNKNOWN | SCARD_STATE_UNAVAILABLE)) !== 0) relist = true;
        this.#applyChange(change);
      }
      if (relist) {
        names = await context.listReaders();
        this.#syncReaders(names);
      }
      // The first wait returns at once (every reader was UNAWARE): card states are now known.
      this.#resolveFirstSync();
    }
  }

  #syncReaders(names: readonly string[]): void {
    const present = new Set(names);
    for (const [name, tracked] of this.#readers) {
      if (present.has(name)) continue;
      if (tracked.state.cardPresent) this.#emit({ type: "card.removed", readerId: name });
      this.#readers.delete(name);
      this.#emit({ type: "reader.removed", readerId: name });
    }
    for (const name of names) {
      if (this.#readers.has(name)) continue;
      const state: ReaderState = {
        id: name,
        name,
        cardPresent: false,
        insertion: this.#insertions.get(name) ?? 0,
      };
      // eventState 0 (UNAWARE): the next GetStatusChange returns at once with the card state, which
      // then emits card.inserted for a card already in the reader.
      this.#readers.set(name, { state, eventState: SCARD_STATE_UNAWARE });
      this.#emit({ type: "reader.added", reader: state });
    }
  }

  #applyChange(change: ReaderStateChange): void {
    const tracked = this.#readers.get(change.reader);
    if (tracked === undefined) return;
    const previous = tracked.state;
    const previousCounter =
      tracked.eventState === SCARD_STATE_UNAWARE ? undefined : eventCounterOf(tracked.eventState);
    tracked.eventState = change.eventState & ~SCARD_STATE_CHANGED;
    const present = (change.eventState & SCARD_STATE_PRESENT) !== 0;
    const counter = eventCounterOf(change.eventState);
    // A card pulled and another pushed between two wake-ups: the event counter moved by two or
    // more, or the ATR differs.
    const swapped =
      previous.cardPresent &&
      present &&
      previousCounter !== undefined &&
      counter !== previousCounter &&
      (((counter - previousCounter) & 0xffff) >= 2 || !sameBytes(previous.atr, change.atr));
    if (previous.cardPresent && (!present || swapped)) {
      tracked.state = {
        id: previous.id,
        name: previous.name,
        cardPresent: false,
        insertion: previous.insertion,
      };
      this.#emit({ type: "card.removed", readerId: previous.id });
    }
    if (present && (!previous.cardPresent || swapped)) {
      const insertion = (this.#insertions.get(previous.id) ?? 0) + 1;
      this.#insertions.set(previous.id, insertion);
      const atr = Uint8Array.from(change.atr);
      tracked.state = { id: previous.id, name: previous.name, cardPresent: true, atr, insertion };
      this.#emit({ type: "card.inserted", readerId: previous.id, atr, insertion });
    }
  }

  #setAvailable(): void {
    if (!this.#available) {
      this.#available = true;
      this.#diagnostic("PC/SC service available");
      this.#emit({ type: "pcsc.status", available: true });
    }
  }

  #setUnavailable(error: unknown, report = true): void {
    this.#syncReaders([]);
    if (this.#available) {
      this.#available = false;
      if (report) this.#diagnostic("PC/SC service lost", error);
      this.#emit({ type: "pcsc.status", available: false });
    } else if (report && !this.#synced) {
      // Down from the start (no pcscd, Windows' Smart Card service stopped): said once, at start.
      this.#diagnostic("PC/SC service unavailable", error);
    }
    this.#resolveFirstSync();
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.#wakeBackoff = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
}

function sameBytes(a: Uint8Array | undefined, b: Uint8Array): boolean {
  return a !== undefined && a.length === b.length && a.every((byte, index) => byte === b[index]);
}
