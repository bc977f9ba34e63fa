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
import { recoveryOf } from "./return-codes.ts";

/**
 * After a failed transmit, how long to wait for the service to report a removal before treating
 * the failure as the card's own. pcscd polls vpcd (and some serial readers) every 400 ms.
 */
export const REMOVAL_GRACE_MS = 1_500;

export interface PcscReadersOptions extends ReaderMonitorOptions {
  readonly backend: PcscBackend;
  /** Bound on one APDU round trip (default DEFAULT_APDU_TIMEOUT_MS; Infinity: no bound). */
  readonly apduTimeoutMs?: number;
  /** Bound on one SCardControl, PIN pad entry included (default CONTROL_TIMEOUT_MS; Infinity: no bound). */
  readonly controlTimeoutMs?: number;
  /** Operations allowed to wait on one reader (default MAX_QUEUED_PER_READER). */
  readonly maxQueuedPerReader?: number;
  /**
   * Extended-length support by ATR, when the card table knows better than the ATR's card
   * capabilities (cards/recognize.ts). Undefined: trust the ATR.
   */
  readonly extendedLengthFor?: (atr: Uint8Array) => boolean | undefined;
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
   * Set while a timed-out command is still running in the card: the next operation on this
   * reader waits for it (and for the card reset that follows) instead of racing it.
   */
  settling?: Promise<void> | undefined;
}

export class PcscReaders implements Readers {
  readonly #backend: PcscBackend;
  readonly #monitor: ReaderMonitor;
  readonly #queue: FairQueue;
  readonly #slots = new Map<string, Slot>();
  readonly #apduTimeoutMs: number;
  readonly #controlTimeoutMs: number;
  readonly #extendedLengthFor: (atr: Uint8Array) => boolean | undefined;
  readonly #unsubscribe: () => void;
  #closed = false;

  constructor(options: PcscReadersOptions) {
    this.#backend = options.backend;
    this.#monitor = new ReaderMonitor(options.backend, options);
    this.#queue = new FairQueue(options.maxQueuedPerReader ?? MAX_QUEUED_PER_READER);
    this.#apduTimeoutMs = options.apduTimeoutMs ?? DEFAULT_APDU_TIMEOUT_MS;
    this.#controlTimeoutMs = options.controlTimeoutMs ?? CONTROL_TIMEOUT_MS;
    this.#extendedLengthFor = options.extendedLengthFor ?? (() => undefined);
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
    const session = new CardSession(connection.handle, {
      readerId,
      atr: connection.atr,
      insertion: connection.insertion,
      capabilities: connection.capabilities,
      apduTimeoutMs: this.#apduTimeoutMs,
      controlTimeoutMs: this.#controlTimeoutMs,
      cardStillThere: () => this.#cardStillThere(slot, reader.name, connection),
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
        const settling = session.abandoned
          .then(() => handle.disconnect(SCARD_RESET_CARD))
          .catch(() => undefined)
          .finally(() => {
            if (slot.settling === settling) slot.settling = undefined;
          });
        slot.settling = settling;
      } else if (slot.connection === connection) {
        await connection.handle
          .endTransaction(SCARD_LEAVE_CARD)
          .catch((error: unknown) => this.#recover(slot, error, true));
      }
    }
  }

  /** Waits (at most one APDU timeout) for a timed-out command to end and the card to be reset. */
  async #settle(slot: Slot): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const stillBusy = await Promise.race([
      slot.settling?.then(() => false),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), this.#apduTimeoutMs))),
    ]);
    clearTimeout(timer);
    if (stillBusy)
      throw new PasserelleError("READER_BUSY", "the card is still busy with a command that timed out");
  }

  /** Connects (or reuses the connection for this insertion) and takes the PC/SC transaction. */
  async #beginTransaction(slot: Slot, reader: ReaderState): Promise<Connection> {
    for (let attempt = 0; ; attempt += 1) {
      try {
        const connection = await this.#connect(slot, reader);
        await connection.handle.beginTransaction();
        return connection;
      } catch (error) {
        await this.#recover(slot, error);
        // A stale connection (card reset by another application, service restarted under an idle
        // handle) gets one fresh try; a card or reader really gone fails again, with its reason.
        if (attempt === 0 && recoveryOf(error) !== "none") continue;
        throw error;
      }
    }
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
    const connection: Connection = {
      handle,
      insertion: reader.insertion,
      atr,
      eventCounter: eventCounterOf(state?.eventState ?? 0),
      capabilities: { extendedLength },
    };
    slot.connection = connection;
    return connection;
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
    await slot.connection?.handle.disconnect(SCARD_LEAVE_CARD).catch(() => undefined);
    await slot.context?.release().catch(() => undefined);
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

/** The PC/SC concern's entry point: a started Readers over `backend`. */
export async function createReaders(options: PcscReadersOptions): Promise<PcscReaders> {
  const readers = new PcscReaders(options);
  await readers.start();
  return readers;
}
