/**
 * PcscReaders: the `Readers` the rest of the daemon uses, over any PcscBackend. The ReaderMonitor
 * gives the reader and card state and its events; withCard queues operations per reader
 * (FairQueue), keeps one PC/SC context and one card connection per reader (pcsc-lite serialises
 * calls on a context, so readers must not share one to run in parallel), holds a PC/SC transaction
 * for the whole operation and hands the driver a CardSession.
 */
import { PasserelleError, isPasserelleError } from "../errors.ts";
import type { CardChannel } from "./apdu.ts";
import { parseAtr } from "./apdu-codec.ts";
import type { ApduCapabilities } from "./apdu-transport.ts";
import type { PcscBackend, PcscCard, PcscContext } from "./backend.ts";
import { CardSession, CONTROL_TIMEOUT_MS, DEFAULT_APDU_TIMEOUT_MS } from "./card-session.ts";
import {
  SCARD_LEAVE_CARD,
  SCARD_PROTOCOL_ANY,
  SCARD_PROTOCOL_T0,
  SCARD_PROTOCOL_T1,
  SCARD_RESET_CARD,
  SCARD_SHARE_SHARED,
  SCARD_STATE_CHANGED,
  SCARD_STATE_PRESENT,
  SCARD_STATE_UNAWARE,
  eventCounterOf,
} from "./constants.ts";
import { FairQueue, MAX_QUEUED_PER_READER } from "./fair-queue.ts";
import { ReaderMonitor, type ReaderMonitorOptions } from "./reader-monitor.ts";
import type { ReaderEvent, ReaderState, Readers } from "./readers.ts";
import { recoveryOf, returnCodeOf } from "./return-codes.ts";

/** pcsc-lite / winscard: the card was reset by another handle since this one last used it. */
const SCARD_W_RESET_CARD = 0x80100068;

/**
 * After a failed transmit, how long to wait for the service to report a removal before treating
 * the failure as the card's own. pcscd polls vpcd (and some serial readers) every 400 ms.
 */
export const REMOVAL_GRACE_MS = 1_500;
/**
 * Default bound on SCardBeginTransaction while another application holds the card's transaction
 * (pcsc-lite and winscard block until it ends, with no timeout of their own). Past it the
 * operation fails with READER_BUSY, which the web app may retry. Other middlewares hold the
 * transaction for one operation (well under a second) unless a PIN is being typed.
 */
export const DEFAULT_TRANSACTION_TIMEOUT_MS = 10_000;

export interface PcscReadersOptions extends ReaderMonitorOptions {
  readonly backend: PcscBackend;
  /** Bound on one APDU round trip (default DEFAULT_APDU_TIMEOUT_MS; Infinity: no bound). */
  readonly apduTimeoutMs?: number;
  /** Bound on one SCardControl, PIN pad entry included (default CONTROL_TIMEOUT_MS; Infinity: no bound). */
  readonly controlTimeoutMs?: number;
  /**
   * Bound on the wait for the card's PC/SC transaction while another application holds it
   * (default DEFAULT_TRANSACTION_TIMEOUT_MS; Infinity: no bound).
   */
  readonly transactionTimeoutMs?: number;
  /** Operations allowed to wait on one reader (default MAX_QUEUED_PER_READER). */
  readonly maxQueuedPerReader?: number;
  /**
   * Extended-length support by ATR, when the card table knows better than the ATR's card
   * capabilities (cards/recognize.ts). Undefined: trust the ATR.
   */
  readonly extendedLengthFor?: (atr: Uint8Array) => boolean | undefined;
  /** The most one GET RESPONSE asks of a card, by ATR (cards/recognize.ts). Undefined: 256. */
  readonly maxGetResponseFor?: (atr: Uint8Array) => number | undefined;
}

interface Connection {
  readonly handle: PcscCard;
  readonly insertion: number;
  readonly atr: Uint8Array;
  /** Reader event counter when we connected: a different one later means another card. */
  readonly eventCounter: number;
  readonly capabilities: ApduCapabilities;
}

interface Slot {
  context?: PcscContext | undefined;
  connection?: Connection | undefined;
  /**
   * Set while a native call we gave up on (a timed-out command, a transaction wait) still runs:
   * the next operation on this reader waits for it (and for the disconnect that follows) instead
   * of racing it; pcsc-lite would block any other call on this context meanwhile.
   */
  settling?: Settling | undefined;
}

interface Settling {
  readonly done: Promise<void>;
  /** How long the next operation waits for `done` before READER_BUSY. */
  readonly waitMs: number;
  readonly busyMessage: string;
}

export class PcscReaders implements Readers {
  readonly #backend: PcscBackend;
  readonly #monitor: ReaderMonitor;
  readonly #queue: FairQueue;
  readonly #slots = new Map<string, Slot>();
  readonly #apduTimeoutMs: number;
  readonly #controlTimeoutMs: number;
  readonly #transactionTimeoutMs: number;
  readonly #extendedLengthFor: (atr: Uint8Array) => boolean | undefined;
  readonly #maxGetResponseFor: (atr: Uint8Array) => number | undefined;
  readonly #unsubscribe: () => void;
  #closed = false;

  constructor(options: PcscReadersOptions) {
    this.#backend = options.backend;
    this.#monitor = new ReaderMonitor(options.backend, options);
    this.#queue = new FairQueue(options.maxQueuedPerReader ?? MAX_QUEUED_PER_READER);
    this.#apduTimeoutMs = options.apduTimeoutMs ?? DEFAULT_APDU_TIMEOUT_MS;
    this.#controlTimeoutMs = options.controlTimeoutMs ?? CONTROL_TIMEOUT_MS;
    this.#transactionTimeoutMs = options.transactionTimeoutMs ?? DEFAULT_TRANSACTION_TIMEOUT_MS;
    this.#extendedLengthFor = options.extendedLengthFor ?? (() => undefined);
    this.#maxGetResponseFor = options.maxGetResponseFor ?? (() => undefined);
    this.#unsubscribe = this.#monitor.subscribe((event) => this.#onEvent(event));
  }

  /** Starts the monitor; resolves when the first view of readers and cards is known. */
  start(): Promise<void> {
    return this.#monitor.start();
  }

  get available(): boolean {
    return this.#monitor.available;
  }

  list(): ReaderState[] {
    return this.#monitor.list();
  }

  subscribe(listener: (event: ReaderEvent) => void): () => void {
    return this.#monitor.subscribe(listener);
  }

  withCard<T>(readerId: string, operation: (card: CardChannel) => Promise<T>): Promise<T> {
    try {
      this.#current(readerId);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#queue.run(readerId, () => this.#runOperation(readerId, operation));
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#unsubscribe();
    await this.#monitor.close();
    await Promise.all([...this.#slots.keys()].map((id) => this.#dropSlot(id)));
  }

  /** The reader's current state, or the error an operation on it must fail with now. */
  #current(readerId: string): ReaderState {
    if (this.#closed || !this.#monitor.available) throw new PasserelleError("PCSC_UNAVAILABLE");
    const reader = this.#monitor.get(readerId);
    if (reader === undefined) throw new PasserelleError("NO_READER", "no such reader", { readerId });
    return reader;
  }

  async #runOperation<T>(readerId: string, operation: (card: CardChannel) => Promise<T>): Promise<T> {
    const reader = this.#current(readerId);
    if (!reader.cardPresent) throw new PasserelleError("NO_CARD", undefined, { readerId });
    const slot = this.#slot(readerId);
    if (slot.settling !== undefined) await this.#settle(slot);
    const connection = await this.#beginTransaction(slot, reader);
    // False while outsideTransaction has the transaction released and could not take it again.
    let held = true;
    const session = new CardSession(connection.handle, {
      readerId,
      atr: connection.atr,
      insertion: connection.insertion,
      capabilities: connection.capabilities,
      apduTimeoutMs: this.#apduTimeoutMs,
      controlTimeoutMs: this.#controlTimeoutMs,
      cardStillThere: () => this.#cardStillThere(slot, reader.name, connection),
      outsideTransaction: (during) =>
        this.#outsideTransaction(slot, readerId, connection, during, (value) => (held = value)),
    });
    try {
      return await operation(session);
    } catch (error) {
      // After a timeout the connection stays open until the card answers (see finally).
      if (session.abandoned === undefined) await this.#recover(slot, error);
      throw error;
    } finally {
      session.close();
      if (session.abandoned !== undefined) {
        // A round trip timed out: the card is in an unknown state. Once the native call returns,
        // reset the card so the next operation starts clean.
        slot.connection = undefined;
        const handle = connection.handle;
        this.#settleLater(
          slot,
          session.abandoned.then(() => handle.disconnect(SCARD_RESET_CARD)),
          this.#apduTimeoutMs,
          "the card is still busy with a command that timed out",
        );
      } else if (slot.connection === connection && held) {
        await connection.handle
          .endTransaction(SCARD_LEAVE_CARD)
          .catch((error: unknown) => this.#recover(slot, error, true));
      }
    }
  }

  /**
   * Records `cleanup` (a native call we gave up on, then the disconnect of its handle) as running
   * on the slot: its next operation waits for it (see #settle).
   */
  #settleLater(slot: Slot, cleanup: Promise<unknown>, waitMs: number, busyMessage: string): void {
    const done: Promise<void> = cleanup
      .then(() => undefined)
      .catch(() => undefined)
      .finally(() => {
        if (slot.settling?.done === done) slot.settling = undefined;
      });
    slot.settling = { done, waitMs, busyMessage };
  }

  /** Waits (boundedly) for a call we gave up on to end and its handle to be disconnected. */
  async #settle(slot: Slot): Promise<void> {
    const settling = slot.settling;
    if (settling === undefined) return;
    if (!(await settlesWithin(settling.done, settling.waitMs)))
      throw new PasserelleError("READER_BUSY", settling.busyMessage);
  }

  /**
   * Connects (or reuses the connection for this insertion) and takes the PC/SC transaction.
   * Both wait while another application holds the card's transaction (pcsc-lite's SCardConnect
   * polls until the lock is free, SCardBeginTransaction too, neither with a timeout): the pair is
   * bounded by transactionTimeoutMs.
   */
  async #beginTransaction(slot: Slot, reader: ReaderState): Promise<Connection> {
    for (let attempt = 0; ; attempt += 1) {
      const pending = this.#connectAndLock(slot, reader);
      try {
        if (await settlesWithin(pending, this.#transactionTimeoutMs)) return await pending;
      } catch (error) {
        await this.#recover(slot, error);
        // A stale connection (card reset by another application, service restarted under an idle
        // handle) gets one fresh try; a card or reader really gone fails again, with its reason.
        if (attempt === 0 && recoveryOf(error) !== "none") continue;
        throw error;
      }
      // Another application keeps the card. The native calls cannot be cancelled: let them return
      // (card freed or gone), then give the card back by disconnecting that handle. Meanwhile the
      // slot's connection is not ours to use (nor to disconnect: the call holds its context).
      slot.connection = undefined;
      this.#settleLater(
        slot,
        pending.then((connection) => {
          if (slot.connection === connection) slot.connection = undefined;
          return connection.handle.disconnect(SCARD_LEAVE_CARD);
        }),
        this.#transactionTimeoutMs,
        "another application still holds the card",
      );
      throw new PasserelleError(
        "READER_BUSY",
        `another application held the card for more than ${this.#transactionTimeoutMs} ms`,
      );
    }
  }

  /**
   * CardChannel.outsideTransaction: ends the transaction, runs `during`, then takes the
   * transaction again (bounded like the first one) and checks with PC/SC that the card is the one
   * this operation connected to: same insertion, same event counter (a card pulled and another
   * pushed moves it). A card reset by another application meanwhile is reconnected once (the
   * card is the same; its volatile state is gone, which the driver's checks cover).
   */
  async #outsideTransaction<T>(
    slot: Slot,
    readerId: string,
    connection: Connection,
    during: () => Promise<T>,
    setHeld: (held: boolean) => void,
  ): Promise<T> {
    try {
      await connection.handle.endTransaction(SCARD_LEAVE_CARD);
    } catch (error) {
      await this.#recover(slot, error, true);
      throw error;
    }
    setHeld(false);
    const value = await during();
    const reader = this.#current(readerId);
    if (!reader.cardPresent || reader.insertion !== connection.insertion) {
      throw new PasserelleError(
        "CARD_REMOVED",
        reader.cardPresent ? "another card was inserted meanwhile" : "the card was removed meanwhile",
        reader.cardPresent ? { replaced: true } : {},
      );
    }
    for (let attempt = 0; ; attempt += 1) {
      const pending = connection.handle.beginTransaction();
      let begun: boolean;
      try {
        begun = await settlesWithin(pending, this.#transactionTimeoutMs);
      } catch (error) {
        if (attempt === 0 && returnCodeOf(error) === SCARD_W_RESET_CARD) {
          try {
            await connection.handle.reconnect(SCARD_SHARE_SHARED, SCARD_PROTOCOL_ANY, SCARD_LEAVE_CARD);
            continue;
          } catch (reconnectError) {
            await this.#recover(slot, reconnectError, true);
            throw reconnectError;
          }
        }
        await this.#recover(slot, error, true);
        throw error;
      }
      if (!begun) {
        slot.connection = undefined;
        this.#settleLater(
          slot,
          pending.then(() => connection.handle.disconnect(SCARD_LEAVE_CARD)),
          this.#transactionTimeoutMs,
          "another application still holds the card",
        );
        throw new PasserelleError(
          "READER_BUSY",
          `another application held the card for more than ${this.#transactionTimeoutMs} ms`,
        );
      }
      break;
    }
    setHeld(true);
    const context = slot.context;
    const [state] =
      context === undefined
        ? []
        : await context.getStatusChange([{ reader: reader.name, currentState: SCARD_STATE_UNAWARE }], 0);
    if (
      state === undefined ||
      (state.eventState & SCARD_STATE_PRESENT) === 0 ||
      eventCounterOf(state.eventState) !== connection.eventCounter
    ) {
      throw new PasserelleError("CARD_REMOVED", "the card left the reader meanwhile", {
        replaced: state !== undefined && (state.eventState & SCARD_STATE_PRESENT) !== 0,
      });
    }
    return value;
  }

  async #connectAndLock(slot: Slot, reader: ReaderState): Promise<Connection> {
    const connection = await this.#connect(slot, reader);
    await connection.handle.beginTransaction();
    return connection;
  }

  async #connect(slot: Slot, reader: ReaderState): Promise<Connection> {
    const existing = slot.connection;
    if (existing !== undefined && existing.insertion === reader.insertion) return existing;
    if (existing !== undefined) {
      slot.connection = undefined;
      await existing.handle.disconnect(SCARD_LEAVE_CARD).catch(() => undefined);
    }
    slot.context ??= await this.#backend.establishContext();
    const context = slot.context;
    const handle = await context.connect(reader.name, SCARD_SHARE_SHARED, SCARD_PROTOCOL_ANY);
    try {
      const [state] = await context.getStatusChange(
        [{ reader: reader.name, currentState: SCARD_STATE_UNAWARE }],
        0,
      );
      const atr = reader.atr ?? new Uint8Array();
      const atrInfo = parseAtr(atr);
      // Extended APDUs over T=0 need ENVELOPE: only T=1 cards get them.
      const extendedLength =
        handle.protocol === SCARD_PROTOCOL_T1 &&
        (this.#extendedLengthFor(atr) ?? atrInfo?.extendedLength ?? false);
      const maxGetResponse = this.#maxGetResponseFor(atr);
      const connection: Connection = {
        handle,
        insertion: reader.insertion,
        atr,
        eventCounter: eventCounterOf(state?.eventState ?? 0),
        capabilities: {
          extendedLength,
          t0: handle.protocol === SCARD_PROTOCOL_T0,
          ...(maxGetResponse === undefined ? {} : { maxGetResponse }),
        },
      };
      slot.connection = connection;
      return connection;
    } catch (error) {
      // The handle is not in the slot yet: nobody else would ever disconnect it.
      await handle.disconnect(SCARD_LEAVE_CARD).catch(() => undefined);
      throw error;
    }
  }

  async #cardStillThere(slot: Slot, readerName: string, connection: Connection): Promise<boolean> {
    const context = slot.context;
    if (context === undefined) return false;
    const stillSame = (eventState: number): boolean =>
      (eventState & SCARD_STATE_PRESENT) !== 0 && eventCounterOf(eventState) === connection.eventCounter;
    const [now] = await context.getStatusChange(
      [{ reader: readerName, currentState: SCARD_STATE_UNAWARE }],
      0,
    );
    if (now === undefined || !stillSame(now.eventState)) return false;
    // The service may not have noticed yet: a reader polled for presence (vpcd, some serial
    // readers) reports the removal a few hundred ms after the transmit failed. Wait a bounded
    // time for a change before blaming the card.
    try {
      const [later] = await context.getStatusChange(
        [{ reader: readerName, currentState: now.eventState & ~SCARD_STATE_CHANGED }],
        REMOVAL_GRACE_MS,
      );
      return later !== undefined && stillSame(later.eventState);
    } catch (error) {
      if (isPasserelleError(error, "TIMEOUT")) return true;
      throw error;
    }
  }

  /** Drops what a PC/SC failure invalidated: the card connection, or the whole context. */
  async #recover(slot: Slot, error: unknown, always = false): Promise<void> {
    const recovery = recoveryOf(error);
    const removed = isPasserelleError(error, "CARD_REMOVED");
    if (recovery === "none" && !removed && !always) return;
    const connection = slot.connection;
    slot.connection = undefined;
    await connection?.handle.disconnect(SCARD_LEAVE_CARD).catch(() => undefined);
    if (recovery === "context") {
      const context = slot.context;
      slot.context = undefined;
      await context?.release().catch(() => undefined);
    }
  }

  #slot(readerId: string): Slot {
    let slot = this.#slots.get(readerId);
    if (slot === undefined) {
      slot = {};
      this.#slots.set(readerId, slot);
    }
    return slot;
  }

  async #dropSlot(readerId: string): Promise<void> {
    const slot = this.#slots.get(readerId);
    if (slot === undefined) return;
    this.#slots.delete(readerId);
    const cleanup = async (): Promise<void> => {
      await slot.connection?.handle.disconnect(SCARD_LEAVE_CARD).catch(() => undefined);
      await slot.context?.release().catch(() => undefined);
    };
    if (slot.settling !== undefined) {
      // A native call still runs on this context: pcsc-lite would make any other call on it wait
      // (SCardReleaseContext, which koffi makes on the event loop, included). Clean up after it.
      void slot.settling.done.then(cleanup);
      return;
    }
    await cleanup();
  }

  #onEvent(event: ReaderEvent): void {
    // Free PC/SC resources of readers that are gone, unless an operation still runs there (it
    // will fail and recover on its own).
    if (event.type === "reader.removed" && this.#queue.pending(event.readerId) === 0) {
      void this.#dropSlot(event.readerId);
    } else if (event.type === "pcsc.status" && !event.available) {
      for (const id of [...this.#slots.keys()]) if (this.#queue.pending(id) === 0) void this.#dropSlot(id);
    }
  }
}

/**
 * Whether `pending` settles (either way) within `timeoutMs`; its rejection, if it comes in time,
 * is thrown. A non-finite or non-positive bound waits for ever.
 */
async function settlesWithin(pending: Promise<unknown>, timeoutMs: number): Promise<boolean> {
  if (!(timeoutMs > 0 && Number.isFinite(timeoutMs))) {
    await pending;
    return true;
  }
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      pending.then(() => true),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs))),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** The PC/SC concern's entry point: a started Readers over `backend`. */
export async function createReaders(options: PcscReadersOptions): Promise<PcscReaders> {
  const readers = new PcscReaders(options);
  await readers.start();
  return readers;
}
