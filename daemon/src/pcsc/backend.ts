/**
 * The low-level PC/SC backend: what the daemon needs from a PC/SC stack, one method per PC/SC
 * function, with buffers and numbers instead of pointers and structs. Two implementations:
 * the koffi binding to the OS library (binding/koffi-backend.ts) and the in-process virtual backend
 * (simulator/virtual-pcsc.ts). Everything above this file (ReaderMonitor, CardSession) is shared.
 *
 * Failures are thrown as PasserelleError made by return-codes.ts `pcscError`, so both backends
 * report the same reason, details and recovery for the same PC/SC return code.
 */
import type { Disposition, ShareMode } from "./constants.ts";

export interface ReaderStateQuery {
  readonly reader: string;
  /** The last dwEventState seen for this reader (SCARD_STATE_UNAWARE the first time). */
  readonly currentState: number;
}

export interface ReaderStateChange {
  readonly reader: string;
  /** dwEventState: flags in the low 16 bits, the reader's event counter in the high 16 bits. */
  readonly eventState: number;
  readonly atr: Uint8Array;
}

export interface CardStatus {
  readonly reader: string;
  readonly state: number;
  readonly protocol: number;
  readonly atr: Uint8Array;
}

export interface PcscBackend {
  /** "system" (the OS PC/SC service) or "virtual" (the lab). */
  readonly kind: "system" | "virtual";
  /** SCardEstablishContext. Throws PCSC_UNAVAILABLE when the service is not running. */
  establishContext(): Promise<PcscContext>;
}

export interface PcscContext {
  /** SCardListReaders; an empty list, not an error, when no reader is plugged. */
  listReaders(): Promise<string[]>;
  /**
   * SCardGetStatusChange. Resolves with one entry per query once any state differs from its
   * currentState, or rejects (TIMEOUT after `timeoutMs`, PCSC_UNAVAILABLE/SCARD_E_CANCELLED after
   * `cancel()`). Runs off the event loop.
   */
  getStatusChange(queries: readonly ReaderStateQuery[], timeoutMs: number): Promise<ReaderStateChange[]>;
  /** SCardCancel: makes a pending getStatusChange on this context return. Safe to call any time. */
  cancel(): void;
  /** SCardConnect. */
  connect(reader: string, shareMode: ShareMode, preferredProtocols: number): Promise<PcscCard>;
  /** SCardReleaseContext. Idempotent. */
  release(): Promise<void>;
}

export interface PcscCard {
  /** The active protocol negotiated by connect/reconnect (SCARD_PROTOCOL_T0 / T1). */
  readonly protocol: number;
  reconnect(shareMode: ShareMode, preferredProtocols: number, initialization: Disposition): Promise<number>;
  disconnect(disposition: Disposition): Promise<void>;
  beginTransaction(): Promise<void>;
  endTransaction(disposition: Disposition): Promise<void>;
  /** SCardTransmit: raw C-APDU bytes in, raw R-APDU bytes out (at most `maxResponseLength`). */
  transmit(command: Uint8Array, maxResponseLength: number): Promise<Uint8Array>;
  /** SCardControl with an OS-specific control code (see binding/layout.ts `scardCtlCode`). */
  control(controlCode: number, data: Uint8Array, maxResponseLength: number): Promise<Uint8Array>;
  status(): Promise<CardStatus>;
  /** SCardGetAttrib; throws CARD_ERROR (SCARD_E_UNSUPPORTED_FEATURE) where the OS lacks it. */
  getAttrib(attributeId: number): Promise<Uint8Array>;
}
