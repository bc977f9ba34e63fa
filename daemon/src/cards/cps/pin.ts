/**
 * CPS PIN entry: the three routes, their order, the PIN block and the PC/SC part 10 PIN pad
 * structures. Pure where it can be; the driver does the I/O.
 *
 * Routes (docs/cards.md, design "Security model"):
 * - a PIN sent by the web page, only when the policy allows `pinFromPage` for that origin;
 * - otherwise the reader's PIN pad (FEATURE_VERIFY_PIN_DIRECT), the PIN never reaches the host;
 * - otherwise the daemon's own PIN page (a PinPrompt the server implements).
 * The PIN is never logged, nor its length; the bytes we build are wiped after use. A JavaScript
 * string cannot be wiped: the PIN is turned into bytes at once and the string dropped.
 */
import { InvalidParamsError, PasserelleError } from "../../errors.ts";
import type { PinEntry } from "./pkcs15.ts";

export const PIN_PATTERN = /^[0-9]{4,8}$/;

/** The daemon's own PIN page, implemented by the server (one pending request per origin, timeout). */
export interface PinPrompt {
  /** Resolves with the digits the user typed; rejects USER_CANCELLED / TIMEOUT / BUSY. */
  ask(request: { origin: string; readerId: string; triesRemaining: number }): Promise<string>;
  /**
   * Told what the card answered to the PIN `ask` gave (the verification's result, or the error:
   * PIN_INCORRECT with the tries left, PIN_BLOCKED, CARD_REMOVED…), so the page where the user typed
   * it says the truth rather than "sent".
   */
  answered?(outcome: { verified: true; triesRemaining: number } | { error: unknown }): void;
}

export interface VerifyPinRequest {
  /** The calling web origin (for the PIN page and the policy). */
  readonly origin: string;
  /** PIN typed in the web page; used only when `pinFromPage` is true. */
  readonly pin?: string;
  /** Policy: may this origin send the PIN itself? */
  readonly pinFromPage: boolean;
  /**
   * At one try left: lets the PIN pad or the daemon's PIN page spend it (both warn the user). A
   * PIN sent by the page is never used for the last try, with or without this flag.
   */
  readonly confirmLastTry?: boolean;
  /** The daemon's PIN page; absent = not available (headless). */
  readonly prompt?: PinPrompt;
  /** Set false to skip the PIN pad probe (tests, a reader known to lie). Default true. */
  readonly usePinPad?: boolean;
}

export type PinRoute = "page" | "pinpad" | "prompt";

/**
 * Raised before any APDU when a PIN does not have the 4–8 digit format, or not the length the card's
 * AODF allows: invalid params, answered -32602 with the issue on `pin` (never the PIN or its length).
 */
export class PinFormatError extends InvalidParamsError {
  constructor(message = "the PIN must be 4 to 8 digits") {
    super([{ path: "pin", message }]);
  }
}

export function checkPinFormat(pin: string): void {
  if (typeof pin !== "string" || !PIN_PATTERN.test(pin)) throw new PinFormatError();
}

/**
 * The counter rule before any VERIFY, for every CPS generation: 0 tries → PIN_BLOCKED; 1 try → the
 * last try is the user's, never a page's word: a PIN sent by the page is refused however the call
 * is flagged (a page allowed to send PINs could otherwise block the card in three calls); only the
 * PIN pad or the daemon's own PIN page, which both warn, may spend it, with `confirmLastTry`.
 */
export function checkTriesBeforeVerify(
  tries: number,
  request: Pick<VerifyPinRequest, "pin" | "confirmLastTry">,
): void {
  if (tries === 0) throw new PasserelleError("PIN_BLOCKED", undefined, { triesRemaining: 0 });
  if (tries !== 1) return;
  if (request.pin !== undefined) {
    throw new PasserelleError(
      "PIN_LAST_TRY",
      "one try left: it must be typed on the PIN pad or in Passerelle's PIN window (call again without pin)",
      { triesRemaining: 1, route: "page" },
    );
  }
  if (request.confirmLastTry !== true)
    throw new PasserelleError("PIN_LAST_TRY", undefined, { triesRemaining: 1 });
}

/** Which route to use, or the error that no route is allowed. */
export function choosePinRoute(options: {
  pagePin: boolean;
  pinFromPage: boolean;
  pinPad: boolean;
  prompt: boolean;
}): PinRoute {
  if (options.pagePin) {
    if (!options.pinFromPage) {
      throw new PasserelleError("PIN_ENTRY_UNAVAILABLE", "the policy does not let this origin send the PIN", {
        route: "page",
      });
    }
    return "page";
  }
  if (options.pinPad) return "pinpad";
  if (options.prompt) return "prompt";
  throw new PasserelleError("PIN_ENTRY_UNAVAILABLE", "no PIN pad and no PIN page available");
}

/**
 * The VERIFY data block the AODF describes: ASCII digits (or BCD), left-justified, padded with the
 * pad character to the stored length **only when the AODF's pinFlags say needs-padding** (PKCS#15
 * v1.1 §6.8, bit 5), as Cryptolib and OpenSC build it (`sc_build_pin(…, pin->flags &
 * SC_PKCS15_PIN_FLAG_NEEDS_PADDING)`, pkcs15-pin.c). A card that stores the PIN unpadded compares
 * a padded block as a wrong PIN: a try lost.
 */
export function buildPinBlock(pin: string, entry: PinEntry): Uint8Array {
  checkPinFormat(pin);
  if (pin.length < entry.minLength || pin.length > entry.maxLength)
    throw new PinFormatError(`this card takes a PIN of ${entry.minLength} to ${entry.maxLength} digits`);
  const bcd = entry.type === 0;
  const digitsBytes = bcd ? Math.ceil(pin.length / 2) : pin.length;
  const length = entry.needsPadding ? Math.max(entry.storedLength, digitsBytes) : digitsBytes;
  const block = new Uint8Array(length).fill(entry.padChar);
  if (bcd) {
    // BCD: two digits per byte, an odd last nibble padded with F (ISO 9564 style).
    for (let i = 0; i < pin.length; i++) {
      const nibble = pin.charCodeAt(i) - 0x30;
      const at = i >> 1;
      block[at] = i % 2 === 0 ? (nibble << 4) | 0x0f : (block[at]! & 0xf0) | nibble;
    }
  } else {
    for (let i = 0; i < pin.length; i++) block[i] = pin.charCodeAt(i);
  }
  return block;
}

// ---------------------------------------------------------------------------------------------
// PC/SC v2 part 10 (PIN pads)
// ---------------------------------------------------------------------------------------------

/** SCARD_CTL_CODE(3400): pcsc-lite 0x42000000 + code; Windows FILE_DEVICE_SMARTCARD (0x31) << 16 | code << 2. */
export function scardCtlCode(code: number, platform: NodeJS.Platform = process.platform): number {
  return platform === "win32" ? ((0x31 << 16) | (code << 2)) >>> 0 : 0x42000000 + code;
}
export const CM_IOCTL_GET_FEATURE_REQUEST_FUNCTION = 3400;
export const FEATURE_VERIFY_PIN_DIRECT = 0x06;
/** How long the PIN pad waits for the user, in seconds (bTimerOut; 0 would be the reader's default). */
export const PIN_PAD_TIMEOUT_SECONDS = 30;
/** wLangId: French. */
export const PIN_PAD_LANGUAGE = 0x040c;

/** Parses the GET_FEATURE_REQUEST answer: TLVs of (tag, 4, big-endian control code). */
export function parseFeatures(answer: Uint8Array): Map<number, number> {
  const out = new Map<number, number>();
  for (let i = 0; i + 6 <= answer.length; i += 6) {
    if (answer[i + 1] !== 4) break;
    out.set(
      answer[i]!,
      ((answer[i + 2]! << 24) | (answer[i + 3]! << 16) | (answer[i + 4]! << 8) | answer[i + 5]!) >>> 0,
    );
  }
  return out;
}

/**
 * PIN_VERIFY_STRUCTURE (PC/SC v2 part 10 §2.5.2), little-endian, packed, followed by the VERIFY
 * APDU whose data the reader fills with the digits the user types; `cla` is the card's class byte
 * (00, or 01 for the CPS4's logical channel 1).
 */
export function buildPinVerifyStructure(entry: PinEntry, cla = 0x00): Uint8Array {
  if (entry.type === 2)
    throw new PasserelleError("PIN_ENTRY_UNAVAILABLE", "a UTF-8 PIN cannot be typed on a PIN pad");
  const blockLength = Math.max(entry.storedLength, entry.maxLength);
  const apdu = new Uint8Array(5 + blockLength);
  apdu.set([cla, 0x20, 0x00, entry.reference, blockLength]);
  apdu.fill(entry.padChar, 5);
  const out = new Uint8Array(19 + apdu.length);
  const view = new DataView(out.buffer);
  out[0] = PIN_PAD_TIMEOUT_SECONDS; // bTimerOut
  out[1] = PIN_PAD_TIMEOUT_SECONDS; // bTimerOut2
  // bmFormatString: bit 7 = units are bytes, bits 6-3 = PIN position 0 in the APDU data,
  // bit 2 = left justify, bits 1-0 = 01 BCD | 10 ASCII.
  out[2] = 0x80 | (entry.type === 0 ? 0x01 : 0x02);
  // bmPINBlockString: bits 7-4 = no PIN length field, bits 3-0 = PIN block size in bytes.
  out[3] = blockLength & 0x0f;
  out[4] = 0x00; // bmPINLengthFormat
  view.setUint16(5, (entry.minLength << 8) | entry.maxLength, true); // wPINMaxExtraDigit: XXYY = min, max
  out[7] = 0x02; // bEntryValidationCondition: validation key pressed
  out[8] = 0x01; // bNumberMessage
  view.setUint16(9, PIN_PAD_LANGUAGE, true); // wLangId
  out[11] = 0x00; // bMsgIndex
  out[12] = out[13] = out[14] = 0x00; // bTeoPrologue
  view.setUint32(15, apdu.length, true); // ulDataLength
  out.set(apdu, 19);
  return out;
}
