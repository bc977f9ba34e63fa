/**
 * The vpcd socket protocol (vsmartcard `vpcd.c`): both directions carry frames made of a uint16
 * big-endian length and that many bytes. From vpcd to the card, a 1-byte frame is a control
 * code (00 power off, 01 power on, 02 reset, 04 get ATR); a longer frame is a C-APDU. The card
 * answers GET ATR with the ATR and every C-APDU with the R-APDU; control codes 00/01/02 get no
 * answer. Pure code: vpcd-bridge.ts does the socket.
 */

export const VPCD_POWER_OFF = 0x00;
export const VPCD_POWER_ON = 0x01;
export const VPCD_RESET = 0x02;
export const VPCD_GET_ATR = 0x04;
/** vpcd's length prefix is 16 bits: no frame can be longer. */
export const VPCD_MAX_FRAME = 0xffff;
/** Port of slot 0 (`/etc/reader.conf.d/vpcd`: DEVICENAME /dev/null:0x8C7B); slot n uses base + n. */
export const VPCD_BASE_PORT = 0x8c7b;

export type VpcdMessage =
  | { readonly kind: "control"; readonly code: number }
  | { readonly kind: "apdu"; readonly apdu: Uint8Array }
  /** A zero-length frame: vpcd never sends one; ignored. */
  | { readonly kind: "empty" };

export function encodeFrame(payload: Uint8Array): Uint8Array {
  if (payload.length > VPCD_MAX_FRAME) throw new RangeError(`vpcd frame too long: ${payload.length}`);
  const frame = new Uint8Array(2 + payload.length);
  frame[0] = payload.length >> 8;
  frame[1] = payload.length & 0xff;
  frame.set(payload, 2);
  return frame;
}

/** Reassembles frames from TCP chunks (a frame may span chunks; a chunk may hold several). */
export class VpcdDecoder {
  #buffer: Uint8Array = new Uint8Array();

  push(chunk: Uint8Array): VpcdMessage[] {
    const joined = new Uint8Array(this.#buffer.length + chunk.length);
    joined.set(this.#buffer);
    joined.set(chunk, this.#buffer.length);
    const messages: VpcdMessage[] = [];
    let offset = 0;
    while (joined.length - offset >= 2) {
      const length = ((joined[offset] as number) << 8) | (joined[offset + 1] as number);
      if (joined.length - offset - 2 < length) break;
      const payload = joined.slice(offset + 2, offset + 2 + length);
      offset += 2 + length;
      if (length === 0) messages.push({ kind: "empty" });
      else if (length === 1) messages.push({ kind: "control", code: payload[0] as number });
      else messages.push({ kind: "apdu", apdu: payload });
    }
    this.#buffer = joined.slice(offset);
    return messages;
  }

  /** Bytes of an incomplete frame waiting for more data. */
  get pending(): number {
    return this.#buffer.length;
  }
}
