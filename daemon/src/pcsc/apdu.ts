/**
 * The APDU contract between card drivers (cards/) and the PC/SC layer (pcsc/).
 *
 * Drivers build CommandApdu values and read ResponseApdu values; they never see T=0 procedure
 * bytes, 61xx/6Cxx round trips, command chaining or the short/extended encoding: the CardChannel
 * implementation handles all of that (ISO/IEC 7816-3 and 7816-4).
 */
export interface CommandApdu {
  readonly cla: number;
  readonly ins: number;
  readonly p1: number;
  readonly p2: number;
  readonly data?: Uint8Array;
  /** Expected response length: 1..65536; 256 is encoded `00` in short form. Absent: no Le. */
  readonly le?: number;
}

export interface ResponseApdu {
  readonly data: Uint8Array;
  /** SW1SW2 as one number, e.g. 0x9000. */
  readonly sw: number;
}

export const SW_OK = 0x9000;

/** One card, held exclusively for the duration of one operation. */
export interface CardChannel {
  readonly readerId: string;
  readonly atr: Uint8Array;
  /**
   * Increments on every card insertion in this reader: drivers key their per-insertion caches on
   * (readerId, insertion) and drop them when it changes.
   */
  readonly insertion: number;
  /**
   * Sends one command and returns the final response. Status words are returned, not thrown; a
   * transport failure throws a PasserelleError (CARD_REMOVED, CARD_ERROR, PCSC_UNAVAILABLE…).
   */
  transmit(command: CommandApdu): Promise<ResponseApdu>;
  /** SCardControl (PC/SC part 10 PIN pads). Throws PasserelleError when the reader has no such feature. */
  control(code: number, data: Uint8Array): Promise<Uint8Array>;
  /**
   * Runs `during` — a wait for a person, such as the daemon's PIN page — with the card's PC/SC
   * transaction released, then takes the transaction again. Windows resets a card whose
   * transaction is held with no command for more than 5 s (SCardBeginTransaction documentation),
   * and other applications may use the card meanwhile. No command may be sent while `during`
   * runs. Throws CARD_REMOVED (`details.replaced` when another card came in) if the card left the
   * reader meanwhile, as PC/SC sees it (insertion count, event counter); READER_BUSY if another
   * application keeps the card past the transaction bound. The card's own state (current file,
   * PIN status) may have changed: the caller checks what it relies on — for a CPS the serial, a
   * same-ATR card being the case PC/SC cannot see.
   * Absent on channels that hold no transaction (test channels): callers then run `during` as is.
   */
  outsideTransaction?<T>(during: () => Promise<T>): Promise<T>;
}
