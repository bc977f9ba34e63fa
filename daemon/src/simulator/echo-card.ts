/**
 * Trivial lab cards for exercising the PC/SC layer itself (no card application behind them).
 *
 * `echo` (T=1, extended length in its ATR):
 *   - `00 A4 …`            SELECT: 9000 whatever the target
 *   - `80 10 00 00 Lc data [Le]`  ECHO: returns the data (command chaining accepted: parts with
 *                          CLA b5 are buffered and answered 9000)
 *   - `80 B0 hi lo Le`     READ: returns Le bytes of a counter pattern, offset hi‖lo (for reads)
 *   - `80 C4 00 00 Le`     BIG READ: returns Le bytes in 61xx chunks of 256 (GET RESPONSE test)
 *   - `80 6C 00 00 Le`     STRICT READ: answers 6C10 unless Le = 16, then 16 bytes (6Cxx test)
 *   - `00 C0 00 00 Le`     GET RESPONSE for BIG READ
 *   - anything else        6D00
 * `blank`: a T=0 card that answers 9000 to SELECT and 6D00 to the rest.
 */
import type { CardEmulator } from "./card-emulator.ts";

/**
 * T=1 only (TD1=81, TD2=01), historical bytes `80 73 C0 21 C0`: category 80, card capabilities
 * (tag 7) whose third byte C0 says command chaining + extended Lc/Le; TCK D7.
 */
export const ECHO_ATR = Uint8Array.from([0x3b, 0x85, 0x81, 0x01, 0x80, 0x73, 0xc0, 0x21, 0xc0, 0xd7]);
/** T=0 (no TD1), four historical bytes. */
export const BLANK_ATR = Uint8Array.from([0x3b, 0x04, 0x42, 0x4c, 0x4e, 0x4b]);

const SW_OK = [0x90, 0x00];
const SW_INS_NOT_SUPPORTED = [0x6d, 0x00];
const GET_RESPONSE_CHUNK = 256;
const STRICT_LE = 16;

const withSw = (data: ArrayLike<number>, sw: readonly number[] = SW_OK): Uint8Array =>
  Uint8Array.from([...Array.from(data), ...sw]);

export function pattern(offset: number, length: number): Uint8Array {
  return Uint8Array.from({ length }, (_, i) => (offset + i) & 0xff);
}

/** Reads Lc/data/Le from a short or extended C-APDU. */
export function parseCommandBody(apdu: Uint8Array): { data: Uint8Array; le: number | undefined } {
  const body = apdu.subarray(4);
  if (body.length === 0) return { data: new Uint8Array(), le: undefined };
  if (body.length === 1) return { data: new Uint8Array(), le: body[0] === 0 ? 256 : body[0] };
  if (body[0] === 0 && body.length >= 3) {
    const n = ((body[1] as number) << 8) | (body[2] as number);
    if (body.length === 3) return { data: new Uint8Array(), le: n === 0 ? 65536 : n };
    const data = body.subarray(3, 3 + n);
    const rest = body.subarray(3 + n);
    const le = rest.length === 2 ? ((rest[0] as number) << 8) | (rest[1] as number) : undefined;
    return { data, le: le === 0 ? 65536 : le };
  }
  const lc = body[0] as number;
  const data = body.subarray(1, 1 + lc);
  const rest = body.subarray(1 + lc);
  return { data, le: rest.length === 1 ? (rest[0] === 0 ? 256 : rest[0]) : undefined };
}

export function createEchoCard(): CardEmulator {
  let chained: number[] = [];
  let pending: Uint8Array = new Uint8Array();
  return {
    atr: ECHO_ATR,
    reset() {
      chained = [];
      pending = new Uint8Array();
    },
    transmit(apdu) {
      if (apdu.length < 4) return Uint8Array.from([0x67, 0x00]);
      const [cla = 0, ins = 0, p1 = 0, p2 = 0] = apdu;
      const { data, le } = parseCommandBody(apdu);
      if (ins === 0xa4) return withSw([]);
      if (ins === 0x10 && (cla & ~0x10) === 0x80) {
        chained.push(...data);
        if ((cla & 0x10) !== 0) return withSw([]);
        const all = chained;
        chained = [];
        return withSw(le === undefined ? all : all.slice(0, le));
      }
      if (cla === 0x80 && ins === 0xb0) return withSw(pattern((p1 << 8) | p2, le ?? 0));
      if (cla === 0x80 && ins === 0xc4) {
        pending = pattern(0, le ?? 0);
        return nextChunk();
      }
      if (ins === 0xc0) return nextChunk(le);
      if (cla === 0x80 && ins === 0x6c)
        return le === STRICT_LE ? withSw(pattern(0, STRICT_LE)) : withSw([], [0x6c, STRICT_LE]);
      return withSw([], SW_INS_NOT_SUPPORTED);
    },
  };

  function nextChunk(le = GET_RESPONSE_CHUNK): Uint8Array {
    const chunk = pending.subarray(0, Math.min(le, GET_RESPONSE_CHUNK));
    pending = pending.subarray(chunk.length);
    if (pending.length === 0) return withSw(chunk);
    return withSw(chunk, [0x61, pending.length >= GET_RESPONSE_CHUNK ? 0 : pending.length]);
  }
}

export function createBlankCard(): CardEmulator {
  return {
    atr: BLANK_ATR,
    reset() {},
    transmit(apdu) {
      return withSw([], apdu[1] === 0xa4 ? SW_OK : SW_INS_NOT_SUPPORTED);
    },
  };
}
