/**
 * The in-process virtual PC/SC backend: the same PcscBackend as the koffi binding, with readers
 * and cards held in memory. Tests and `--simulate` plug CardEmulators into named readers, pull
 * them out, plug and unplug readers, and stop/start the "service" to play a pcscd restart.
 *
 * It follows pcsc-lite's observable behaviour where the daemon depends on it: GetStatusChange
 * returns at once for UNAWARE queries and otherwise waits for a change (the high 16 bits of a
 * reader's state count card events), a transaction is exclusive per card, a card removed under a
 * handle gives SCARD_W_REMOVED_CARD, a card reset by another handle gives SCARD_W_RESET_CARD once,
 * a stopped service gives SCARD_E_NO_SERVICE and a context from before a restart
 * SCARD_E_INVALID_HANDLE.
 */
import type {
  CardStatus,
  PcscBackend,
  PcscCard,
  PcscContext,
  ReaderStateChange,
  ReaderStateQuery,
} from "../pcsc/backend.ts";
import {
  INFINITE,
  PNP_NOTIFICATION,
  SCARD_ATTR_ATR_STRING,
  SCARD_ATTR_VENDOR_NAME,
  SCARD_LEAVE_CARD,
  SCARD_PROTOCOL_T0,
  SCARD_PROTOCOL_T1,
  SCARD_SHARE_EXCLUSIVE,
  SCARD_STATE_CHANGED,
  SCARD_STATE_EMPTY,
  SCARD_STATE_EXCLUSIVE,
  SCARD_STATE_INUSE,
  SCARD_STATE_PRESENT,
  SCARD_STATE_UNAWARE,
  SCARD_STATE_UNKNOWN,
  type Disposition,
  type ShareMode,
} from "../pcsc/constants.ts";
import { parseAtr } from "../pcsc/apdu-codec.ts";
import { pcscError } from "../pcsc/return-codes.ts";
import type { CardEmulator } from "./card-emulator.ts";

/** Names of the two default virtual readers, in pcsc-lite's "<name> <index> <slot>" style. */
export const VIRTUAL_READER_NAMES = [
  "Passerelle Virtual Reader 00 00",
  "Passerelle Virtual Reader 00 01",
] as const;

const SCARD_E_INVALID_HANDLE = 0x80100003;
const SCARD_E_INSUFFICIENT_BUFFER = 0x80100008;
const SCARD_E_UNKNOWN_READER = 0x80100009;
const SCARD_E_TIMEOUT = 0x8010000a;
const SCARD_E_SHARING_VIOLATION = 0x8010000b;
const SCARD_E_NO_SMARTCARD = 0x8010000c;
const SCARD_E_CANCELLED = 0x80100002;
const SCARD_E_NO_SERVICE = 0x8010001d;
const SCARD_E_UNSUPPORTED_FEATURE = 0x80100022;
const SCARD_E_NOT_TRANSACTED = 0x80100016;
const SCARD_W_UNRESPONSIVE_CARD = 0x80100066;
const SCARD_W_RESET_CARD = 0x80100068;
const SCARD_W_REMOVED_CARD = 0x80100069;
const SCARD_RESET_CARD = 1;
const SCARD_UNPOWER_CARD = 2;

/** A reader-level SCardControl handler (a virtual PIN pad, for instance). */
export type VirtualControl = (controlCode: number, data: Uint8Array) => Uint8Array | Promise<Uint8Array>;

export interface VirtualReaderOptions {
  readonly control?: VirtualControl;
}

interface VirtualCard {
  /** Mutable only for `swapUnnoticed`. */
  emulator: CardEmulator;
  atr: Uint8Array;
  /** Increments on every reset: handles from before a reset get SCARD_W_RESET_CARD once. */
  resets: number;
  lockOwner: VirtualCardHandle | undefined;
  lockWaiters: Array<() => void>;
  readonly handles: Set<VirtualCardHandle>;
}

interface VirtualReader {
  readonly name: string;
  readonly options: VirtualReaderOptions;
  /** Card events so far (the high 16 bits of the reader state). */
  events: number;
  card: VirtualCard | undefined;
}

interface Waiter {
  readonly context: VirtualContext;
  check(): void;
}

export class VirtualPcsc implements PcscBackend {
  readonly kind = "virtual";
  readonly #readers = new Map<string, VirtualReader>();
  readonly #waiters = new Set<Waiter>();
  /** Reader plug/unplug count (PnP state). */
  #pnp = 0;
  #running = true;
  /** Increments on every service start: contexts from an earlier run are invalid. */
  #serviceRun = 0;

  constructor(readerNames: readonly string[] = VIRTUAL_READER_NAMES) {
    for (const name of readerNames) this.addReader(name);
  }

  // --- lab controls ----------------------------------------------------------------------------

  get readerNames(): string[] {
    return [...this.#readers.keys()];
  }

  addReader(name: string, options: VirtualReaderOptions = {}): void {
    if (this.#readers.has(name)) throw new Error(`virtual reader ${name} already exists`);
    this.#readers.set(name, { name, options, events: 0, card: undefined });
    this.#pnp += 1;
    this.#notify();
  }

  removeReader(name: string): void {
    const reader = this.#reader(name);
    if (reader.card) this.remove(name);
    this.#readers.delete(name);
    this.#pnp += 1;
    this.#notify();
  }

  /** Inserts `emulator` in `readerName` (powered on at the first connect). */
  insert(readerName: string, emulator: CardEmulator): void {
    const reader = this.#reader(readerName);
    if (reader.card) throw new Error(`virtual reader ${readerName} already holds a card`);
    emulator.reset();
    reader.card = {
      emulator,
      atr: Uint8Array.from(emulator.atr),
      resets: 0,
      lockOwner: undefined,
      lockWaiters: [],
      handles: new Set(),
    };
    reader.events += 1;
    this.#notify();
  }

  /** Pulls the card out; returns its emulator. Handles on it get SCARD_W_REMOVED_CARD. */
  remove(readerName: string): CardEmulator | undefined {
    const reader = this.#reader(readerName);
    const card = reader.card;
    if (card === undefined) return undefined;
    reader.card = undefined;
    reader.events += 1;
    for (const wake of card.lockWaiters.splice(0)) wake();
    this.#notify();
    return card.emulator;
  }

  /**
   * Replaces the chip in `readerName` the way a reader that missed the swap shows it: the handles
   * on the card stay valid and the reader's event counter moves by `countedEvents` only (0: PC/SC
   * saw nothing at all; 1: one change it did count; 2: a removal and an insertion reported at
   * once). For swap-detection tests; `insert`/`remove` play a swap PC/SC sees.
   */
  swapUnnoticed(readerName: string, emulator: CardEmulator, countedEvents = 0): void {
    const card = this.#reader(readerName).card;
    if (card === undefined) throw new Error(`virtual reader ${readerName} holds no card`);
    emulator.reset();
    card.emulator = emulator;
    card.atr = Uint8Array.from(emulator.atr);
    this.#reader(readerName).events += countedEvents;
    if (countedEvents > 0) this.#notify();
  }

  cardIn(readerName: string): CardEmulator | undefined {
    return this.#reader(readerName).card?.emulator;
  }

  /** Plays "pcscd stopped": every context and pending wait fails with SCARD_E_NO_SERVICE. */
  stopService(): void {
    this.#running = false;
    this.#notify();
  }

  startService(): void {
    if (this.#running) return;
    this.#running = true;
    this.#serviceRun += 1;
  }

  get running(): boolean {
    return this.#running;
  }

  // --- PcscBackend -----------------------------------------------------------------------------

  async establishContext(): Promise<PcscContext> {
    await Promise.resolve();
    if (!this.#running) throw pcscError(SCARD_E_NO_SERVICE, "SCardEstablishContext");
    return new VirtualContext(this, this.#serviceRun);
  }

  // --- internals used by contexts and handles --------------------------------------------------

  /** Throws the error a call made through a context of `run` gets now, if any. */
  checkService(run: number, operation: string): void {
    if (!this.#running) throw pcscError(SCARD_E_NO_SERVICE, operation);
    if (run !== this.#serviceRun) throw pcscError(SCARD_E_INVALID_HANDLE, operation);
  }

  #reader(name: string): VirtualReader {
    const reader = this.#readers.get(name);
    if (reader === undefined) throw new Error(`no virtual reader named ${name}`);
    return reader;
  }

  readerOrError(name: string, operation: string): VirtualReader {
    const reader = this.#readers.get(name);
    if (reader === undefined) throw pcscError(SCARD_E_UNKNOWN_READER, operation);
    return reader;
  }

  stateOf(name: string): { eventState: number; atr: Uint8Array } {
    if (name === PNP_NOTIFICATION) return { eventState: (this.#pnp & 0xffff) << 16, atr: new Uint8Array() };
    const reader = this.#readers.get(name);
    if (reader === undefined) return { eventState: SCARD_STATE_UNKNOWN, atr: new Uint8Array() };
    let flags = SCARD_STATE_EMPTY;
    const card = reader.card;
    if (card) {
      flags = SCARD_STATE_PRESENT;
      if ([...card.handles].some((handle) => handle.shareMode === SCARD_SHARE_EXCLUSIVE))
        flags |= SCARD_STATE_EXCLUSIVE;
      else if (card.handles.size > 0) flags |= SCARD_STATE_INUSE;
    }
    return {
      eventState: (((reader.events & 0xffff) << 16) | flags) >>> 0,
      atr: card ? card.atr : new Uint8Array(),
    };
  }

  listReaderNames(): string[] {
    return [...this.#readers.keys()];
  }

  addWaiter(waiter: Waiter): void {
    this.#waiters.add(waiter);
  }

  deleteWaiter(waiter: Waiter): void {
    this.#waiters.delete(waiter);
  }

  cancelWaiters(context: VirtualContext): void {
    for (const waiter of [...this.#waiters]) if (waiter.context === context) waiter.check();
  }

  #notify(): void {
    for (const waiter of [...this.#waiters]) waiter.check();
  }

  /** Called when a handle's share mode set changes (INUSE/EXCLUSIVE bits). */
  notifyChange(): void {
    this.#notify();
  }
}

class VirtualContext implements PcscContext {
  readonly #lab: VirtualPcsc;
  readonly #run: number;
  #released = false;
  #cancelled = 0;

  constructor(lab: VirtualPcsc, run: number) {
    this.#lab = lab;
    this.#run = run;
  }

  #check(operation: string): void {
    if (this.#released) throw pcscError(SCARD_E_INVALID_HANDLE, operation);
    this.#lab.checkService(this.#run, operation);
  }

  async listReaders(): Promise<string[]> {
    await Promise.resolve();
    this.#check("SCardListReaders");
    return this.#lab.listReaderNames();
  }

  getStatusChange(queries: readonly ReaderStateQuery[], timeoutMs: number): Promise<ReaderStateChange[]> {
    const cancelledAtStart = this.#cancelled;
    return new Promise((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      let done = false;
      const finish = (error: unknown, result?: ReaderStateChange[]): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        this.#lab.deleteWaiter(waiter);
        if (error) reject(error);
        else resolve(result ?? []);
      };
      const waiter: Waiter = {
        context: this,
        check: () => {
          try {
            this.#check("SCardGetStatusChange");
          } catch (error) {
            finish(error);
            return;
          }
          if (this.#cancelled !== cancelledAtStart) {
            finish(pcscError(SCARD_E_CANCELLED, "SCardGetStatusChange"));
            return;
          }
          let changed = false;
          const result = queries.map((query) => {
            const { eventState, atr } = this.#lab.stateOf(query.reader);
            const differs =
              query.currentState === SCARD_STATE_UNAWARE ||
              (query.currentState & ~SCARD_STATE_CHANGED) >>> 0 !== eventState;
            if (differs) changed = true;
            return {
              reader: query.reader,
              eventState: differs ? (eventState | SCARD_STATE_CHANGED) >>> 0 : eventState,
              atr,
            };
          });
          if (changed) finish(undefined, result);
        },
      };
      this.#lab.addWaiter(waiter);
      // Like pcsc-lite, evaluate on a later tick: callers never see a synchronous answer.
      queueMicrotask(() => {
        waiter.check();
        if (done) return;
        if (timeoutMs === 0) finish(pcscError(SCARD_E_TIMEOUT, "SCardGetStatusChange"));
        else if (timeoutMs !== INFINITE) {
          timer = setTimeout(() => finish(pcscError(SCARD_E_TIMEOUT, "SCardGetStatusChange")), timeoutMs);
        }
      });
    });
  }

  cancel(): void {
    this.#cancelled += 1;
    this.#lab.cancelWaiters(this);
  }

  async connect(readerName: string, shareMode: ShareMode, preferredProtocols: number): Promise<PcscCard> {
    await Promise.resolve();
    this.#check("SCardConnect");
    const reader = this.#lab.readerOrError(readerName, "SCardConnect");
    const card = reader.card;
    if (card === undefined) throw pcscError(SCARD_E_NO_SMARTCARD, "SCardConnect");
    const others = [...card.handles];
    if (
      others.some((h) => h.shareMode === SCARD_SHARE_EXCLUSIVE) ||
      (shareMode === SCARD_SHARE_EXCLUSIVE && others.length > 0)
    ) {
      throw pcscError(SCARD_E_SHARING_VIOLATION, "SCardConnect");
    }
    const offered = parseAtr(card.atr)?.protocols ?? [0];
    const protocol =
      (preferredProtocols & SCARD_PROTOCOL_T1) !== 0 && offered.includes(1)
        ? SCARD_PROTOCOL_T1
        : (preferredProtocols & SCARD_PROTOCOL_T0) !== 0 && offered.includes(0)
          ? SCARD_PROTOCOL_T0
          : 0;
    if (protocol === 0) throw pcscError(0x8010000f, "SCardConnect"); // SCARD_E_PROTO_MISMATCH
    const handle = new VirtualCardHandle(this.#lab, this.#run, reader, card, shareMode, protocol);
    card.handles.add(handle);
    this.#lab.notifyChange();
    return handle;
  }

  async release(): Promise<void> {
    if (this.#released) return;
    this.cancel();
    this.#released = true;
  }
}

class VirtualCardHandle implements PcscCard {
  readonly #lab: VirtualPcsc;
  readonly #run: number;
  readonly #reader: VirtualReader;
  readonly #card: VirtualCard;
  readonly shareMode: ShareMode;
  #protocol: number;
  #resetsSeen: number;
  #connected = true;

  constructor(
    lab: VirtualPcsc,
    run: number,
    reader: VirtualReader,
    card: VirtualCard,
    shareMode: ShareMode,
    protocol: number,
  ) {
    this.#lab = lab;
    this.#run = run;
    this.#reader = reader;
    this.#card = card;
    this.shareMode = shareMode;
    this.#protocol = protocol;
    this.#resetsSeen = card.resets;
  }

  get protocol(): number {
    return this.#protocol;
  }

  /** The errors pcsc-lite gives on a stale handle, in its order: service, handle, removal, reset. */
  #check(operation: string, consumeReset = true): void {
    this.#lab.checkService(this.#run, operation);
    if (!this.#connected) throw pcscError(SCARD_E_INVALID_HANDLE, operation);
    if (this.#reader.card !== this.#card) throw pcscError(SCARD_W_REMOVED_CARD, operation);
    if (this.#resetsSeen !== this.#card.resets) {
      if (consumeReset) this.#resetsSeen = this.#card.resets;
      throw pcscError(SCARD_W_RESET_CARD, operation);
    }
  }

  #checkLock(operation: string): void {
    const owner = this.#card.lockOwner;
    if (owner !== undefined && owner !== this) throw pcscError(SCARD_E_SHARING_VIOLATION, operation);
  }

  #resetCard(): void {
    this.#card.resets += 1;
    this.#resetsSeen = this.#card.resets;
    this.#card.emulator.reset();
  }

  #releaseLock(): void {
    if (this.#card.lockOwner !== this) return;
    this.#card.lockOwner = undefined;
    this.#card.lockWaiters.shift()?.();
  }

  async reconnect(
    shareMode: ShareMode,
    _preferredProtocols: number,
    initialization: Disposition,
  ): Promise<number> {
    await Promise.resolve();
    this.#check("SCardReconnect", true);
    if (shareMode !== this.shareMode) throw pcscError(0x80100004, "SCardReconnect"); // not modelled
    if (initialization === SCARD_RESET_CARD || initialization === SCARD_UNPOWER_CARD) this.#resetCard();
    return this.#protocol;
  }

  async disconnect(disposition: Disposition): Promise<void> {
    await Promise.resolve();
    if (!this.#connected) return;
    this.#connected = false;
    this.#releaseLock();
    this.#card.handles.delete(this);
    if (
      this.#reader.card === this.#card &&
      (disposition === SCARD_RESET_CARD || disposition === SCARD_UNPOWER_CARD)
    ) {
      this.#card.resets += 1;
      this.#card.emulator.reset();
    }
    this.#lab.notifyChange();
  }

  async beginTransaction(): Promise<void> {
    for (;;) {
      await Promise.resolve();
      this.#check("SCardBeginTransaction");
      const owner = this.#card.lockOwner;
      if (owner === undefined || owner === this) {
        this.#card.lockOwner = this;
        return;
      }
      // pcsc-lite blocks until the other handle ends its transaction (or the card goes).
      await new Promise<void>((resolve) => this.#card.lockWaiters.push(resolve));
    }
  }

  async endTransaction(disposition: Disposition): Promise<void> {
    await Promise.resolve();
    this.#check("SCardEndTransaction");
    if (this.#card.lockOwner !== this) throw pcscError(SCARD_E_NOT_TRANSACTED, "SCardEndTransaction");
    if (disposition !== SCARD_LEAVE_CARD) this.#resetCard();
    this.#releaseLock();
  }

  async transmit(command: Uint8Array, maxResponseLength: number): Promise<Uint8Array> {
    await Promise.resolve();
    this.#check("SCardTransmit");
    this.#checkLock("SCardTransmit");
    let response: Uint8Array;
    try {
      response = await this.#card.emulator.transmit(Uint8Array.from(command));
    } catch {
      // An emulator that throws plays a mute card.
      this.#check("SCardTransmit");
      throw pcscError(SCARD_W_UNRESPONSIVE_CARD, "SCardTransmit");
    }
    // The card may have been pulled while it was "computing".
    this.#check("SCardTransmit");
    if (response.length > maxResponseLength) throw pcscError(SCARD_E_INSUFFICIENT_BUFFER, "SCardTransmit");
    return Uint8Array.from(response);
  }

  async control(controlCode: number, data: Uint8Array, maxResponseLength: number): Promise<Uint8Array> {
    await Promise.resolve();
    this.#check("SCardControl");
    const handler = this.#reader.options.control;
    if (handler === undefined) throw pcscError(SCARD_E_UNSUPPORTED_FEATURE, "SCardControl");
    const response = await handler(controlCode, Uint8Array.from(data));
    this.#check("SCardControl");
    if (response.length > maxResponseLength) throw pcscError(SCARD_E_INSUFFICIENT_BUFFER, "SCardControl");
    return Uint8Array.from(response);
  }

  async status(): Promise<CardStatus> {
    await Promise.resolve();
    this.#check("SCardStatus", false);
    const { eventState } = this.#lab.stateOf(this.#reader.name);
    return {
      reader: this.#reader.name,
      state: eventState & 0xffff,
      protocol: this.#protocol,
      atr: Uint8Array.from(this.#card.atr),
    };
  }

  async getAttrib(attributeId: number): Promise<Uint8Array> {
    await Promise.resolve();
    this.#check("SCardGetAttrib", false);
    if (attributeId === SCARD_ATTR_ATR_STRING) return Uint8Array.from(this.#card.atr);
    if (attributeId === SCARD_ATTR_VENDOR_NAME) return new TextEncoder().encode("Passerelle lab\0");
    throw pcscError(SCARD_E_UNSUPPORTED_FEATURE, "SCardGetAttrib");
  }
}
