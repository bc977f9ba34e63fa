/**
 * PC/SC constants shared by every backend (values from the PC/SC Workgroup specification part 5,
 * identical in pcsc-lite, winscard.dll and PCSC.framework unless noted).
 */

/** SCardEstablishContext scope. */
export const SCARD_SCOPE_USER = 0;
export const SCARD_SCOPE_SYSTEM = 2;

/** SCardConnect share modes. */
export const SCARD_SHARE_EXCLUSIVE = 1;
export const SCARD_SHARE_SHARED = 2;
export const SCARD_SHARE_DIRECT = 3;
export type ShareMode = typeof SCARD_SHARE_EXCLUSIVE | typeof SCARD_SHARE_SHARED | typeof SCARD_SHARE_DIRECT;

/** Protocol bit masks. RAW differs per OS and lives in the binding layout. */
export const SCARD_PROTOCOL_UNDEFINED = 0;
export const SCARD_PROTOCOL_T0 = 0x0001;
export const SCARD_PROTOCOL_T1 = 0x0002;
export const SCARD_PROTOCOL_ANY = SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1;

/** Dispositions for Disconnect, EndTransaction and Reconnect's initialization. */
export const SCARD_LEAVE_CARD = 0;
export const SCARD_RESET_CARD = 1;
export const SCARD_UNPOWER_CARD = 2;
export const SCARD_EJECT_CARD = 3;
export type Disposition =
  typeof SCARD_LEAVE_CARD | typeof SCARD_RESET_CARD | typeof SCARD_UNPOWER_CARD | typeof SCARD_EJECT_CARD;

/** SCARD_READERSTATE dwCurrentState / dwEventState bits. The high 16 bits carry an event counter. */
export const SCARD_STATE_UNAWARE = 0x0000;
export const SCARD_STATE_IGNORE = 0x0001;
export const SCARD_STATE_CHANGED = 0x0002;
export const SCARD_STATE_UNKNOWN = 0x0004;
export const SCARD_STATE_UNAVAILABLE = 0x0008;
export const SCARD_STATE_EMPTY = 0x0010;
export const SCARD_STATE_PRESENT = 0x0020;
export const SCARD_STATE_ATRMATCH = 0x0040;
export const SCARD_STATE_EXCLUSIVE = 0x0080;
export const SCARD_STATE_INUSE = 0x0100;
export const SCARD_STATE_MUTE = 0x0200;
export const SCARD_STATE_UNPOWERED = 0x0400;

/** The low 16 bits of a reader state are flags; the high 16 bits count card events (pcsc-lite, Windows). */
export const STATE_FLAGS_MASK = 0xffff;
export const eventCounterOf = (state: number): number => (state >>> 16) & 0xffff;

/**
 * The pseudo-reader that makes GetStatusChange return when a reader is plugged or unplugged
 * (PC/SC part 5; pcsc-lite ≥ 1.6.0, Windows, macOS ≥ 10.x).
 */
export const PNP_NOTIFICATION = "\\\\?PnP?\\Notification";

/** GetStatusChange timeout meaning "wait until something changes or SCardCancel". */
export const INFINITE = 0xffffffff;

/** SCardGetAttrib attribute ids (PC/SC part 3; pcsc-lite reader.h). */
export const SCARD_ATTR_VENDOR_NAME = 0x00010100;
export const SCARD_ATTR_VENDOR_IFD_TYPE = 0x00010101;
export const SCARD_ATTR_ATR_STRING = 0x00090303;
export const SCARD_ATTR_MAXINPUT = 0x0007a007;

/** Longest ATR (ISO/IEC 7816-3 allows 33 bytes; Windows reserves 36 in its struct). */
export const MAX_ATR_SIZE = 33;
