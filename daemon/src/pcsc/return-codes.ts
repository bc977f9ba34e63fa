/**
 * Every PC/SC return code, mapped once to the contract's reason and a retriable flag.
 *
 * Values: PC/SC Workgroup part 5 / pcsc-lite `pcsclite.h` (the same numbers as winscard.h), plus the
 * few Win32 errors winscard.dll leaks when the Smart Card service or a USB reader disappears.
 * `retriable` always equals the reason's retriable flag in protocol/src/errors.ts (a unit test checks
 * it); it is kept here so this table reads on its own. `recovery` tells the PC/SC layer what it must
 * rebuild before trying again: a new context (the service restarted), a new card connection (the
 * card was removed or reset by someone else), or nothing.
 */
import { PasserelleError, type ErrorReason } from "../errors.ts";

export const SCARD_S_SUCCESS = 0;
export const SCARD_E_CANCELLED = 0x80100002;
export const SCARD_E_TIMEOUT = 0x8010000a;
export const SCARD_E_NO_READERS_AVAILABLE = 0x8010002e;
export const SCARD_E_INSUFFICIENT_BUFFER = 0x80100008;

export type Recovery = "none" | "context" | "card";

export interface ReturnCodeEntry {
  readonly name: string;
  readonly reason: ErrorReason;
  readonly retriable: boolean;
  readonly recovery: Recovery;
}

type Row = readonly [code: number, name: string, reason: ErrorReason, retriable: boolean, recovery: Recovery];

/* prettier-ignore */
const ROWS: readonly Row[] = [
  // The service is gone, restarting or broken: build a new context and retry.
  [0x80100001, "SCARD_F_INTERNAL_ERROR", "PCSC_UNAVAILABLE", true, "context"],
  [0x80100002, "SCARD_E_CANCELLED", "PCSC_UNAVAILABLE", true, "none"],
  [0x80100003, "SCARD_E_INVALID_HANDLE", "PCSC_UNAVAILABLE", true, "context"],
  [0x80100006, "SCARD_E_NO_MEMORY", "PCSC_UNAVAILABLE", true, "context"],
  [0x80100007, "SCARD_F_WAITED_TOO_LONG", "PCSC_UNAVAILABLE", true, "context"],
  [0x80100012, "SCARD_E_SYSTEM_CANCELLED", "PCSC_UNAVAILABLE", true, "context"],
  [0x80100013, "SCARD_F_COMM_ERROR", "PCSC_UNAVAILABLE", true, "context"],
  [0x80100014, "SCARD_F_UNKNOWN_ERROR", "PCSC_UNAVAILABLE", true, "context"],
  [0x80100018, "SCARD_P_SHUTDOWN", "PCSC_UNAVAILABLE", true, "context"],
  [0x8010001d, "SCARD_E_NO_SERVICE", "PCSC_UNAVAILABLE", true, "context"],
  [0x8010001e, "SCARD_E_SERVICE_STOPPED", "PCSC_UNAVAILABLE", true, "context"],
  [0x80100031, "SCARD_E_SERVER_TOO_BUSY", "PCSC_UNAVAILABLE", true, "none"],
  // pcsc-lite's client library answers it to any call when pcscd resets the socket (ECONNRESET in
  // winscard_msg.c MessageReceive: pcscd killed with a request unread, or polkit refusing the
  // client), not about a PIN: seen from SCardBeginTransaction when pcscd was killed under load
  // (test/faults/pcscd-restart-load.test.ts).
  [0x8010006a, "SCARD_W_SECURITY_VIOLATION", "PCSC_UNAVAILABLE", true, "context"],
  // Win32 errors winscard.dll returns when the service or the USB device vanished under a handle.
  [0x00000006, "ERROR_INVALID_HANDLE", "PCSC_UNAVAILABLE", true, "context"],
  [0x0000006d, "ERROR_BROKEN_PIPE", "PCSC_UNAVAILABLE", true, "context"],
  [0x0000001f, "ERROR_GEN_FAILURE", "NO_READER", true, "card"],
  [0x00000016, "ERROR_BAD_COMMAND", "NO_READER", true, "card"],
  // The reader is not there.
  [0x80100009, "SCARD_E_UNKNOWN_READER", "NO_READER", true, "card"],
  [0x80100017, "SCARD_E_READER_UNAVAILABLE", "NO_READER", true, "card"],
  [0x8010001a, "SCARD_E_READER_UNSUPPORTED", "NO_READER", true, "card"],
  [0x8010001b, "SCARD_E_DUPLICATE_READER", "NO_READER", true, "card"],
  [0x8010002e, "SCARD_E_NO_READERS_AVAILABLE", "NO_READER", true, "none"],
  // The card is not there, or went away / was reset under us.
  [0x8010000c, "SCARD_E_NO_SMARTCARD", "NO_CARD", true, "card"],
  [0x80100069, "SCARD_W_REMOVED_CARD", "CARD_REMOVED", true, "card"],
  [0x80100068, "SCARD_W_RESET_CARD", "CARD_REMOVED", true, "card"],
  [0x80100067, "SCARD_W_UNPOWERED_CARD", "CARD_REMOVED", true, "card"],
  // Someone else holds the reader.
  [0x8010000b, "SCARD_E_SHARING_VIOLATION", "READER_BUSY", true, "none"],
  [0x80100010, "SCARD_E_NOT_READY", "READER_BUSY", true, "none"],
  [0x8010000a, "SCARD_E_TIMEOUT", "TIMEOUT", true, "none"],
  // The card does not talk, or talks a protocol we cannot use.
  [0x8010000d, "SCARD_E_UNKNOWN_CARD", "CARD_ERROR", false, "card"],
  [0x8010000f, "SCARD_E_PROTO_MISMATCH", "CARD_ERROR", false, "card"],
  [0x80100015, "SCARD_E_INVALID_ATR", "CARD_ERROR", false, "card"],
  [0x80100016, "SCARD_E_NOT_TRANSACTED", "CARD_ERROR", false, "card"],
  [0x8010001c, "SCARD_E_CARD_UNSUPPORTED", "CARD_ERROR", false, "card"],
  [0x80100020, "SCARD_E_ICC_INSTALLATION", "CARD_ERROR", false, "none"],
  [0x80100021, "SCARD_E_ICC_CREATEORDER", "CARD_ERROR", false, "none"],
  [0x8010002f, "SCARD_E_COMM_DATA_LOST", "CARD_ERROR", false, "card"],
  [0x80100065, "SCARD_W_UNSUPPORTED_CARD", "CARD_ERROR", false, "card"],
  [0x80100066, "SCARD_W_UNRESPONSIVE_CARD", "CARD_ERROR", false, "card"],
  // "An unexpected card error has occurred"; pcscd 1.9.9 also answers it to SCardControl and
  // SCardGetAttrib through a reader driver that serves neither (vpcd).
  [0x8010001f, "SCARD_E_UNEXPECTED", "CARD_ERROR", false, "none"],
  [0x8010006d, "SCARD_W_EOF", "CARD_ERROR", false, "none"],
  // SCardControl on a reader without that feature.
  [0x80100022, "SCARD_E_UNSUPPORTED_FEATURE", "CARD_ERROR", false, "none"],
  // Our own bugs (bad arguments, buffer too small): never retriable, logged with the name.
  [0x80100004, "SCARD_E_INVALID_PARAMETER", "CARD_ERROR", false, "none"],
  [0x80100005, "SCARD_E_INVALID_TARGET", "CARD_ERROR", false, "none"],
  [0x80100008, "SCARD_E_INSUFFICIENT_BUFFER", "CARD_ERROR", false, "none"],
  [0x8010000e, "SCARD_E_CANT_DISPOSE", "CARD_ERROR", false, "none"],
  [0x80100011, "SCARD_E_INVALID_VALUE", "CARD_ERROR", false, "none"],
  [0x80100019, "SCARD_E_PCI_TOO_SMALL", "CARD_ERROR", false, "none"],
  // PC/SC part 5 file-system and certificate codes: no PC/SC call we make returns them.
  [0x80100023, "SCARD_E_DIR_NOT_FOUND", "CARD_ERROR", false, "none"],
  [0x80100024, "SCARD_E_FILE_NOT_FOUND", "CARD_ERROR", false, "none"],
  [0x80100025, "SCARD_E_NO_DIR", "CARD_ERROR", false, "none"],
  [0x80100026, "SCARD_E_NO_FILE", "CARD_ERROR", false, "none"],
  [0x80100027, "SCARD_E_NO_ACCESS", "CARD_ERROR", false, "none"],
  [0x80100028, "SCARD_E_WRITE_TOO_MANY", "CARD_ERROR", false, "none"],
  [0x80100029, "SCARD_E_BAD_SEEK", "CARD_ERROR", false, "none"],
  [0x8010002b, "SCARD_E_UNKNOWN_RES_MNG", "CARD_ERROR", false, "none"],
  [0x8010002c, "SCARD_E_NO_SUCH_CERTIFICATE", "CARD_ERROR", false, "none"],
  [0x8010002d, "SCARD_E_CERTIFICATE_UNAVAILABLE", "CARD_ERROR", false, "none"],
  [0x80100030, "SCARD_E_NO_KEY_CONTAINER", "CARD_ERROR", false, "none"],
  // PIN-related warnings (PIN pads through SCardControl).
  [0x8010002a, "SCARD_E_INVALID_CHV", "PIN_INCORRECT", false, "none"],
  [0x8010006b, "SCARD_W_WRONG_CHV", "PIN_INCORRECT", false, "none"],
  [0x8010006c, "SCARD_W_CHV_BLOCKED", "PIN_BLOCKED", false, "none"],
  [0x8010006e, "SCARD_W_CANCELLED_BY_USER", "USER_CANCELLED", false, "none"],
  [0x8010006f, "SCARD_W_CARD_NOT_AUTHENTICATED", "PIN_REQUIRED", false, "none"],
];

export const RETURN_CODES: ReadonlyMap<number, ReturnCodeEntry> = new Map(
  ROWS.map(([code, name, reason, retriable, recovery]) => [code, { name, reason, retriable, recovery }]),
);

/** What an unlisted code means: treat the service as broken, rebuild the context. */
const UNKNOWN_CODE: Omit<ReturnCodeEntry, "name"> = {
  reason: "PCSC_UNAVAILABLE",
  retriable: true,
  recovery: "context",
};

/**
 * LONG is 64-bit on Linux x86-64 (positive 0x8010xxxx), 32-bit on Windows and macOS (negative):
 * fold both to the unsigned 32-bit value the tables use.
 */
export function normalizeReturnCode(rc: number | bigint): number {
  return typeof rc === "bigint" ? Number(BigInt.asUintN(32, rc)) : rc >>> 0;
}

export function returnCodeHex(code: number): string {
  return `0x${code.toString(16).toUpperCase().padStart(8, "0")}`;
}

export function describeReturnCode(rc: number | bigint): ReturnCodeEntry {
  const code = normalizeReturnCode(rc);
  return RETURN_CODES.get(code) ?? { name: `UNKNOWN_${returnCodeHex(code)}`, ...UNKNOWN_CODE };
}

/**
 * The one translation from a PC/SC return code into a PasserelleError. `details` names the code
 * (safe for the web app: no card data); `operation` is the PC/SC function that returned it.
 */
export function pcscError(rc: number | bigint, operation: string): PasserelleError {
  const code = normalizeReturnCode(rc);
  const entry = describeReturnCode(code);
  return new PasserelleError(entry.reason, `${operation}: ${entry.name} (${returnCodeHex(code)})`, {
    pcsc: entry.name,
    returnCode: returnCodeHex(code),
  });
}

/** The PC/SC return code behind an error made by pcscError, if any. */
export function returnCodeOf(error: unknown): number | undefined {
  if (!(error instanceof PasserelleError)) return undefined;
  const hex = error.details["returnCode"];
  return typeof hex === "string" ? Number.parseInt(hex, 16) : undefined;
}

export function recoveryOf(error: unknown): Recovery {
  const code = returnCodeOf(error);
  return code === undefined ? "none" : describeReturnCode(code).recovery;
}

/** Throws the mapped error unless `rc` is SCARD_S_SUCCESS. */
export function check(rc: number | bigint, operation: string): void {
  if (normalizeReturnCode(rc) !== SCARD_S_SUCCESS) throw pcscError(rc, operation);
}
