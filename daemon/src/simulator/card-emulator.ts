/**
 * A virtual card: what the lab plugs into a virtual reader (in-process backend or the vpcd bridge
 * into the real pcscd). It answers raw APDU bytes like a real card, status word included.
 */
export interface CardEmulator {
  readonly atr: Uint8Array;
  /** A raw C-APDU in, a raw R-APDU (data ‖ SW1 SW2) out. */
  transmit(apdu: Uint8Array): Uint8Array | Promise<Uint8Array>;
  /** Cold or warm reset: volatile state (selected file, security status, pending hash) is lost. */
  reset(): void;
}
