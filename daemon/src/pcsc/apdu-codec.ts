/**
 * APDU codec (ISO/IEC 7816-4 §5.1, 7816-3 §12): pure functions from CommandApdu to bytes and from
 * bytes to ResponseApdu, plus the ATR facts the transport needs (historical bytes, card
 * capabilities). No I/O here: apdu-transport.ts drives the round trips.
 */
import { PasserelleError } from "../errors.ts";
import type { CommandApdu, ResponseApdu } from "./apdu.ts";

/** Short APDUs carry at most 255 data bytes (Lc on one byte, 00 is not a length) … */
export const SHORT_MAX_DATA = 255;
/** … and ask for at most 256 bytes (Le `00` means 256). */
export const SHORT_MAX_LE = 256;
/** Extended APDUs: Lc on two bytes (1..65535), Le on two bytes (`00 00` means 65536). */
export const EXTENDED_MAX_DATA = 65535;
export const EXTENDED_MAX_LE = 65536;
/** An R-APDU ends with SW1 SW2. */
export const SW_LENGTH = 2;
/** Largest R-APDU a card can send in one exchange: extended Le + SW. */
export const MAX_RESPONSE_APDU = EXTENDED_MAX_LE + SW_LENGTH;
/** Largest R-APDU to a short command: 256 data bytes + SW. */
export const MAX_SHORT_RESPONSE_APDU = SHORT_MAX_LE + SW_LENGTH;
/** CLA bit b5 (0x10): "command is not the last of a chain" (ISO/IEC 7816-4 §5.4.1). */
export const CLA_CHAINING = 0x10;
export const INS_GET_RESPONSE = 0xc0;

export type ApduForm = "short" | "extended";

function assertByte(name: string, value: number): void {
  if (!Number.isInteger(value) || value < 0 || value > 0xff) {
    throw new RangeError(`APDU ${name} must be a byte, got ${value}`);
  }
}

/** Checks a command built by a driver. A bad command is a driver bug, hence RangeError. */
export function validateCommand(command: CommandApdu): void {
  assertByte("CLA", command.cla);
  assertByte("INS", command.ins);
  assertByte("P1", command.p1);
  assertByte("P2", command.p2);
  if (command.cla === 0xff) throw new RangeError("APDU CLA FF is reserved for PPS");
  const dataLength = command.data?.length ?? 0;
  if (dataLength > EXTENDED_MAX_DATA) throw new RangeError(`APDU data too long: ${dataLength}`);
  if (
    command.le !== undefined &&
    (!Number.isInteger(command.le) || command.le < 1 || command.le > EXTENDED_MAX_LE)
  ) {
    throw new RangeError(`APDU Le must be 1..${EXTENDED_MAX_LE}, got ${command.le}`);
  }
}

export function fitsShort(command: CommandApdu): boolean {
  return (command.data?.length ?? 0) <= SHORT_MAX_DATA && (command.le ?? 0) <= SHORT_MAX_LE;
}

/** Encodes the four ISO cases, short or extended. The caller picks the form (see apdu-transport.ts). */
export function encodeCommand(
  command: CommandApdu,
  form: ApduForm = fitsShort(command) ? "short" : "extended",
): Uint8Array {
  validateCommand(command);
  const data = command.data && command.data.length > 0 ? command.data : undefined;
  const { le } = command;
  if (form === "short") {
    if (!fitsShort(command)) throw new RangeError("APDU does not fit the short form");
    const out = new Uint8Array(4 + (data ? 1 + data.length : 0) + (le === undefined ? 0 : 1));
    out[0] = command.cla;
    out[1] = command.ins;
    out[2] = command.p1;
    out[3] = command.p2;
    let offset = 4;
    if (data) {
      out[offset++] = data.length;
      out.set(data, offset);
      offset += data.length;
    }
    if (le !== undefined) out[offset] = le === SHORT_MAX_LE ? 0 : le;
    return out;
  }
  // Extended form: one 00 byte, then Lc on two bytes; Le on two bytes (three with the 00 when there
  // is no data: case 2E).
  if (!data && le === undefined) throw new RangeError("case 1 APDU has no extended form");
  const out = new Uint8Array(4 + (data ? 3 + data.length : 0) + (le === undefined ? 0 : data ? 2 : 3));
  out[0] = command.cla;
  out[1] = command.ins;
  out[2] = command.p1;
  out[3] = command.p2;
  let offset = 4;
  if (data) {
    out[offset++] = 0;
    out[offset++] = data.length >> 8;
    out[offset++] = data.length & 0xff;
    out.set(data, offset);
    offset += data.length;
  }
  if (le !== undefined) {
    const value = le === EXTENDED_MAX_LE ? 0 : le;
    if (!data) out[offset++] = 0;
    out[offset++] = value >> 8;
    out[offset] = value & 0xff;
  }
  return out;
}

/**
 * The receive buffer an encoded C-APDU needs: 258 bytes for a short command, 65538 for an
 * extended one (recognised by the 00 byte after the header: a short Lc is never 0).
 * Sizing it to the command keeps every short exchange from allocating 64 KiB.
 */
export function responseBufferSize(encoded: Uint8Array): number {
  return encoded.length > 5 && encoded[4] === 0 ? MAX_RESPONSE_APDU : MAX_SHORT_RESPONSE_APDU;
}

/**
 * Splits a command whose data exceeds `chunkSize` into a command chain: every part but the last
 * has CLA b5 set and no Le (ISO/IEC 7816-4 §5.4.1).
 */
export function chainCommand(command: CommandApdu, chunkSize: number = SHORT_MAX_DATA): CommandApdu[] {
  validateCommand(command);
  const data = command.data ?? new Uint8Array();
  if (data.length <= chunkSize) return [command];
  if ((command.cla & CLA_CHAINING) !== 0) throw new RangeError("command already has the chaining bit");
  const parts: CommandApdu[] = [];
  for (let offset = 0; offset < data.length; offset += chunkSize) {
    const last = offset + chunkSize >= data.length;
    const chunk = data.subarray(offset, Math.min(offset + chunkSize, data.length));
    const base = { ins: command.ins, p1: command.p1, p2: command.p2, data: chunk };
    parts.push(
      last
        ? { cla: command.cla, ...base, ...(command.le === undefined ? {} : { le: command.le }) }
        : { cla: command.cla | CLA_CHAINING, ...base },
    );
  }
  return parts;
}

/** GET RESPONSE for a `61xx` (or GSM `9Fxx`) answer: same class (chaining bit cleared), Le = SW2. */
export function getResponseCommand(cla: number, sw2: number): CommandApdu {
  return {
    cla: cla & ~CLA_CHAINING & 0xff,
    ins: INS_GET_RESPONSE,
    p1: 0,
    p2: 0,
    le: sw2 === 0 ? SHORT_MAX_LE : sw2,
  };
}

/**
 * SW1 values a card may send (ISO/IEC 7816-3 §10.3.3): 61..6F except 60 (NULL procedure byte),
 * and 90..9F. Anything else is not a status word but garbage.
 */
export function isValidSw1(sw1: number): boolean {
  return (sw1 >= 0x61 && sw1 <= 0x6f) || (sw1 >= 0x90 && sw1 <= 0x9f);
}

function cardError(message: string, details: Record<string, unknown>): PasserelleError {
  return new PasserelleError("CARD_ERROR", message, details);
}

/**
 * Parses one raw R-APDU. Fewer than two bytes, or a first status byte that no card may send,
 * is CARD_ERROR: a card answer is length-checked before anything reads it.
 */
export function decodeResponse(raw: Uint8Array): ResponseApdu {
  if (raw.length < SW_LENGTH) {
    throw cardError(`response too short: ${raw.length} byte(s), no status word`, {
      responseLength: raw.length,
    });
  }
  if (raw.length > MAX_RESPONSE_APDU) {
    throw cardError(`response too long: ${raw.length} bytes`, { responseLength: raw.length });
  }
  const sw1 = raw[raw.length - 2] as number;
  const sw2 = raw[raw.length - 1] as number;
  const sw = (sw1 << 8) | sw2;
  if (!isValidSw1(sw1)) {
    throw cardError(`invalid status word ${hexSw(sw)}`, { sw: hexSw(sw), responseLength: raw.length });
  }
  return { data: raw.slice(0, raw.length - SW_LENGTH), sw };
}

export function hexSw(sw: number): string {
  return sw.toString(16).toUpperCase().padStart(4, "0");
}

// --- ATR (ISO/IEC 7816-3 §8.2, 7816-4 §12.1) -------------------------------------------------

export interface AtrInfo {
  /** Protocols offered by TDi (T=0 when the ATR has no TD1). */
  readonly protocols: readonly number[];
  readonly historicalBytes: Uint8Array;
  /** Card capabilities (compact-TLV tag 7, third software function table), when the card says. */
  readonly extendedLength: boolean;
  readonly commandChaining: boolean;
}

/** Parses the structure of an ATR. Returns undefined for bytes that are not a well-formed ATR. */
export function parseAtr(atr: Uint8Array): AtrInfo | undefined {
  if (atr.length < 2 || atr.length > 33) return undefined;
  const ts = atr[0];
  if (ts !== 0x3b && ts !== 0x3f) return undefined;
  let index = 1;
  let y = (atr[index] as number) >> 4;
  const k = (atr[index] as number) & 0x0f;
  index += 1;
  const protocols: number[] = [];
  for (;;) {
    index += (y & 1) + ((y >> 1) & 1) + ((y >> 2) & 1); // TAi, TBi, TCi
    if ((y & 8) === 0) break;
    const td = atr[index];
    if (td === undefined) return undefined;
    protocols.push(td & 0x0f);
    y = td >> 4;
    index += 1;
  }
  if (index + k > atr.length) return undefined;
  const historicalBytes = atr.slice(index, index + k);
  const capabilities = cardCapabilities(historicalBytes);
  return {
    protocols: protocols.length === 0 ? [0] : [...new Set(protocols)],
    historicalBytes,
    extendedLength: capabilities !== undefined && ((capabilities[2] ?? 0) & 0x40) !== 0,
    commandChaining: capabilities !== undefined && ((capabilities[2] ?? 0) & 0x80) !== 0,
  };
}

/** The value of compact-TLV tag 7 ("card capabilities") in the historical bytes, if present. */
function cardCapabilities(historical: Uint8Array): Uint8Array | undefined {
  const category = historical[0];
  // Category 00: compact-TLV objects then a 3-byte status indicator; 80: compact-TLV objects only.
  let end: number;
  if (category === 0x00) end = historical.length - 3;
  else if (category === 0x80) end = historical.length;
  else return undefined;
  let index = 1;
  while (index < end) {
    const header = historical[index] as number;
    const tag = header >> 4;
    const length = header & 0x0f;
    const value = historical.subarray(index + 1, index + 1 + length);
    if (value.length !== length) return undefined;
    if (tag === 7) return value;
    index += 1 + length;
  }
  return undefined;
}
