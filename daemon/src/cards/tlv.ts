/**
 * A strict, length-checked BER-TLV codec for card data objects (ISO/IEC 7816-4 §5.2, X.690 §8.1).
 *
 * Pure: bytes in, a tree or a typed failure out; it never throws on bad input and never reads past
 * the buffer. Card files are outside input, so every limit below is a named constant and every
 * length is checked against its enclosing object before it is trusted.
 *
 * What it refuses, and why:
 * - indefinite length (`80`): X.690 allows it for BER, ISO 7816-4 data objects never use it, and
 *   accepting it would mean scanning for end-of-contents in untrusted bytes;
 * - a first tag byte `00` or `FF`: ISO 7816-4 reserves both as padding, never as a tag;
 * - a non-minimal multi-byte tag (first subsequent byte `80`, X.690 §8.1.2.4.2 c);
 * - a value that runs past its parent (or past the input), at any depth.
 * What it accepts: non-minimal long-form lengths (`81 05`), because BER permits them and cards
 * emit them.
 */

/** Nesting depth limit: Vitale and CPS files nest 2–3 levels; 8 leaves room and bounds recursion. */
export const TLV_MAX_DEPTH = 8;
/** Input size limit: a whole card file is a few KiB at most. */
export const TLV_MAX_INPUT_BYTES = 64 * 1024;
/** Tag length limit: ISO 7816-4 tags are 1 to 3 bytes. */
export const TLV_MAX_TAG_BYTES = 3;
/** Long-form length limit: `81`, `82`, `83` (up to 16 MiB, far past TLV_MAX_INPUT_BYTES anyway). */
export const TLV_MAX_LENGTH_BYTES = 3;
/** Object count limit over the whole input, so a file of 1-byte objects cannot build a huge tree. */
export const TLV_MAX_OBJECTS = 4096;

export type TlvErrorCode =
  | "TOO_LARGE"
  | "TOO_DEEP"
  | "TOO_MANY_OBJECTS"
  | "INVALID_TAG"
  | "TAG_TOO_LONG"
  | "TRUNCATED_TAG"
  | "TRUNCATED_LENGTH"
  | "INDEFINITE_LENGTH"
  | "LENGTH_TOO_LONG"
  | "VALUE_OVERRUN";

export interface TlvNode {
  /** The tag bytes as one number, e.g. 0x65, 0x5F37, 0x7F21. */
  readonly tag: number;
  /** Bit 6 of the first tag byte: the value is itself a sequence of TLV objects. */
  readonly constructed: boolean;
  /** The value bytes (a view into the input, not a copy). */
  readonly value: Uint8Array;
  /** The decoded children of a constructed object; empty for a primitive one. */
  readonly children: readonly TlvNode[];
  /** Offset of the first tag byte in the decoded input. */
  readonly offset: number;
}

export interface TlvError {
  readonly code: TlvErrorCode;
  /** Offset in the decoded input where the fault was found. */
  readonly offset: number;
}

export type TlvResult =
  | { readonly ok: true; readonly nodes: readonly TlvNode[] }
  | { readonly ok: false; readonly error: TlvError };

export interface TlvDecodeOptions {
  /**
   * Ignore `00`/`FF` bytes after the last top-level object (ISO 7816-4 §5.2.2 padding; card files
   * are fixed-size and padded). Off by default; never applies inside a constructed object.
   */
  readonly trailingPadding?: boolean;
}

const PADDING_BYTES = new Set([0x00, 0xff]);

class Failure {
  readonly error: TlvError;
  constructor(code: TlvErrorCode, offset: number) {
    this.error = { code, offset };
  }
}

interface Cursor {
  objects: number;
}

export function decodeTlv(input: Uint8Array, options: TlvDecodeOptions = {}): TlvResult {
  if (input.length > TLV_MAX_INPUT_BYTES) return { ok: false, error: { code: "TOO_LARGE", offset: 0 } };
  let end = input.length;
  // Fast path: a last byte that is not padding means there is no trailing padding run.
  if (options.trailingPadding === true && PADDING_BYTES.has(input[input.length - 1] ?? 0)) {
    // Only a padding run that follows the objects is dropped; decodeObjects still refuses a
    // padding byte where a tag is expected before that run.
    end = trailingContentEnd(input);
  }
  const result = decodeObjects(input, 0, end, 1, { objects: 0 });
  return result instanceof Failure ? { ok: false, error: result.error } : { ok: true, nodes: result };
}

/**
 * The end of the TLV content when trailing `00`/`FF` bytes are padding: walk the top-level objects
 * and stop at the first padding byte where a tag would start. A malformed object stops the walk at
 * its start, so decodeObjects reports the fault itself.
 */
function trailingContentEnd(input: Uint8Array): number {
  let offset = 0;
  while (offset < input.length) {
    const first = input[offset];
    if (first === undefined || PADDING_BYTES.has(first)) {
      const rest = input.subarray(offset);
      return rest.every((byte) => PADDING_BYTES.has(byte)) ? offset : input.length;
    }
    const header = readHeader(input, offset, input.length);
    if (header instanceof Failure) return input.length;
    const next = header.valueStart + header.length;
    if (next > input.length) return input.length;
    offset = next;
  }
  return input.length;
}

interface Header {
  readonly tag: number;
  readonly constructed: boolean;
  readonly valueStart: number;
  readonly length: number;
}

function readHeader(input: Uint8Array, offset: number, end: number): Header | Failure {
  const first = input[offset];
  if (first === undefined || offset >= end) return new Failure("TRUNCATED_TAG", offset);
  if (PADDING_BYTES.has(first)) return new Failure("INVALID_TAG", offset);
  let tag = first;
  let cursor = offset + 1;
  if ((first & 0x1f) === 0x1f) {
    // Multi-byte tag: subsequent bytes carry b8 = 1 while more follow (X.690 §8.1.2.4).
    let subsequent = 0;
    for (;;) {
      const byte = cursor < end ? input[cursor] : undefined;
      if (byte === undefined) return new Failure("TRUNCATED_TAG", offset);
      if (subsequent === 0 && byte === 0x80) return new Failure("INVALID_TAG", offset);
      subsequent += 1;
      if (subsequent + 1 > TLV_MAX_TAG_BYTES) return new Failure("TAG_TOO_LONG", offset);
      tag = tag * 0x100 + byte;
      cursor += 1;
      if ((byte & 0x80) === 0) break;
    }
  }
  const lengthByte = cursor < end ? input[cursor] : undefined;
  if (lengthByte === undefined) return new Failure("TRUNCATED_LENGTH", offset);
  cursor += 1;
  let length: number;
  if (lengthByte < 0x80) {
    length = lengthByte;
  } else if (lengthByte === 0x80) {
    return new Failure("INDEFINITE_LENGTH", offset);
  } else {
    const count = lengthByte & 0x7f;
    if (count > TLV_MAX_LENGTH_BYTES) return new Failure("LENGTH_TOO_LONG", offset);
    if (cursor + count > end) return new Failure("TRUNCATED_LENGTH", offset);
    length = 0;
    for (let i = 0; i < count; i += 1) length = length * 0x100 + (input[cursor + i] ?? 0);
    cursor += count;
  }
  return { tag, constructed: (first & 0x20) !== 0, valueStart: cursor, length };
}

function decodeObjects(
  input: Uint8Array,
  start: number,
  end: number,
  depth: number,
  counter: Cursor,
): TlvNode[] | Failure {
  if (depth > TLV_MAX_DEPTH) return new Failure("TOO_DEEP", start);
  const nodes: TlvNode[] = [];
  let offset = start;
  while (offset < end) {
    counter.objects += 1;
    if (counter.objects > TLV_MAX_OBJECTS) return new Failure("TOO_MANY_OBJECTS", offset);
    const header = readHeader(input, offset, end);
    if (header instanceof Failure) return header;
    const valueEnd = header.valueStart + header.length;
    if (valueEnd > end) return new Failure("VALUE_OVERRUN", offset);
    const value = input.subarray(header.valueStart, valueEnd);
    let children: TlvNode[] = [];
    if (header.constructed) {
      const decoded = decodeObjects(input, header.valueStart, valueEnd, depth + 1, counter);
      if (decoded instanceof Failure) return decoded;
      children = decoded;
    }
    nodes.push({ tag: header.tag, constructed: header.constructed, value, children, offset });
    offset = valueEnd;
  }
  return nodes;
}

/** The tag as upper-case hex, e.g. "65", "5F37". */
export function tagHex(tag: number): string {
  const hex = tag.toString(16).toUpperCase();
  return hex.length % 2 === 0 ? hex : `0${hex}`;
}

/** The first child with this tag, if any. */
export function findTlv(nodes: readonly TlvNode[], tag: number): TlvNode | undefined {
  return nodes.find((node) => node.tag === tag);
}

function tagToBytes(tag: number): number[] {
  if (!Number.isInteger(tag) || tag <= 0 || tag > 0xffffff) throw new RangeError("TLV tag out of range");
  const bytes: number[] = [];
  for (let rest = tag; rest > 0; rest = Math.floor(rest / 0x100)) bytes.unshift(rest % 0x100);
  if (bytes.length > TLV_MAX_TAG_BYTES) throw new RangeError("TLV tag too long");
  return bytes;
}

function lengthToBytes(length: number): number[] {
  if (length < 0x80) return [length];
  const bytes: number[] = [];
  for (let rest = length; rest > 0; rest = Math.floor(rest / 0x100)) bytes.unshift(rest % 0x100);
  if (bytes.length > TLV_MAX_LENGTH_BYTES) throw new RangeError("TLV value too long");
  return [0x80 | bytes.length, ...bytes];
}

/**
 * Encodes one object with the minimal length form. For building card images (the emulators) and
 * test fixtures; a programming error (bad tag, huge value) throws RangeError.
 */
export function encodeTlv(tag: number, value: Uint8Array | readonly Uint8Array[]): Uint8Array {
  const body = value instanceof Uint8Array ? value : concatBytes(value);
  return concatBytes([Uint8Array.from(tagToBytes(tag)), Uint8Array.from(lengthToBytes(body.length)), body]);
}

function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
