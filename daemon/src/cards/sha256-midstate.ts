/**
 * SHA-256 split in two halves (FIPS 180-4), for IAS-ECC signatures where the card must perform the
 * last hashing round: the host compresses every full 64-byte block but the last, then sends the
 * intermediate state, the number of bits already hashed and the remaining 1..64 bytes (PSO HASH).
 * The card (or our emulator) resumes from that state, pads and finishes.
 *
 * node:crypto exposes no intermediate state, hence this small implementation. It is tested against
 * node:crypto on boundary and random lengths (daemon/test/cards/sha256-midstate.test.ts).
 */

export const SHA256_BLOCK_BYTES = 64;
export const SHA256_STATE_BYTES = 32;
/** The IAS-ECC PSO HASH carries the bit count as 8 bytes, big-endian. */
export const SHA256_COUNTER_BYTES = 8;

const INITIAL_STATE = [
  0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
] as const;

const K = Uint32Array.of(
  0x428a2f98,
  0x71374491,
  0xb5c0fbcf,
  0xe9b5dba5,
  0x3956c25b,
  0x59f111f1,
  0x923f82a4,
  0xab1c5ed5,
  0xd807aa98,
  0x12835b01,
  0x243185be,
  0x550c7dc3,
  0x72be5d74,
  0x80deb1fe,
  0x9bdc06a7,
  0xc19bf174,
  0xe49b69c1,
  0xefbe4786,
  0x0fc19dc6,
  0x240ca1cc,
  0x2de92c6f,
  0x4a7484aa,
  0x5cb0a9dc,
  0x76f988da,
  0x983e5152,
  0xa831c66d,
  0xb00327c8,
  0xbf597fc7,
  0xc6e00bf3,
  0xd5a79147,
  0x06ca6351,
  0x14292967,
  0x27b70a85,
  0x2e1b2138,
  0x4d2c6dfc,
  0x53380d13,
  0x650a7354,
  0x766a0abb,
  0x81c2c92e,
  0x92722c85,
  0xa2bfe8a1,
  0xa81a664b,
  0xc24b8b70,
  0xc76c51a3,
  0xd192e819,
  0xd6990624,
  0xf40e3585,
  0x106aa070,
  0x19a4c116,
  0x1e376c08,
  0x2748774c,
  0x34b0bcb5,
  0x391c0cb3,
  0x4ed8aa4a,
  0x5b9cca4f,
  0x682e6ff3,
  0x748f82ee,
  0x78a5636f,
  0x84c87814,
  0x8cc70208,
  0x90befffa,
  0xa4506ceb,
  0xbef9a3f7,
  0xc67178f2,
);

/** The state of a SHA-256 computation after a whole number of blocks. */
export interface Sha256Midstate {
  /** H0..H7, big-endian, 32 bytes. */
  readonly state: Uint8Array;
  /** Bytes already compressed into `state` (a multiple of 64). */
  readonly hashedBytes: number;
  /** The bytes not yet hashed: 1..64 of them for a non-empty message, none for an empty one. */
  readonly remainder: Uint8Array;
}

function compress(h: Uint32Array, block: Uint8Array, offset: number, w: Uint32Array): void {
  for (let t = 0; t < 16; t++) {
    const i = offset + t * 4;
    w[t] = ((block[i]! << 24) | (block[i + 1]! << 16) | (block[i + 2]! << 8) | block[i + 3]!) >>> 0;
  }
  for (let t = 16; t < 64; t++) {
    const w15 = w[t - 15]!;
    const w2 = w[t - 2]!;
    const s0 = ((w15 >>> 7) | (w15 << 25)) ^ ((w15 >>> 18) | (w15 << 14)) ^ (w15 >>> 3);
    const s1 = ((w2 >>> 17) | (w2 << 15)) ^ ((w2 >>> 19) | (w2 << 13)) ^ (w2 >>> 10);
    w[t] = (w[t - 16]! + s0 + w[t - 7]! + s1) >>> 0;
  }
  let a = h[0]!;
  let b = h[1]!;
  let c = h[2]!;
  let d = h[3]!;
  let e = h[4]!;
  let f = h[5]!;
  let g = h[6]!;
  let hh = h[7]!;
  for (let t = 0; t < 64; t++) {
    const s1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
    const ch = (e & f) ^ (~e & g);
    const t1 = (hh + s1 + ch + K[t]! + w[t]!) >>> 0;
    const s0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
    const maj = (a & b) ^ (a & c) ^ (b & c);
    const t2 = (s0 + maj) >>> 0;
    hh = g;
    g = f;
    f = e;
    e = (d + t1) >>> 0;
    d = c;
    c = b;
    b = a;
    a = (t1 + t2) >>> 0;
  }
  h[0] = (h[0]! + a) >>> 0;
  h[1] = (h[1]! + b) >>> 0;
  h[2] = (h[2]! + c) >>> 0;
  h[3] = (h[3]! + d) >>> 0;
  h[4] = (h[4]! + e) >>> 0;
  h[5] = (h[5]! + f) >>> 0;
  h[6] = (h[6]! + g) >>> 0;
  h[7] = (h[7]! + hh) >>> 0;
}

function stateToBytes(h: Uint32Array): Uint8Array {
  const out = new Uint8Array(SHA256_STATE_BYTES);
  const view = new DataView(out.buffer);
  for (let i = 0; i < 8; i++) view.setUint32(i * 4, h[i]!);
  return out;
}

function stateFromBytes(state: Uint8Array): Uint32Array {
  if (state.length !== SHA256_STATE_BYTES) throw new RangeError("a SHA-256 state is 32 bytes");
  const view = new DataView(state.buffer, state.byteOffset, state.byteLength);
  const h = new Uint32Array(8);
  for (let i = 0; i < 8; i++) h[i] = view.getUint32(i * 4);
  return h;
}

/**
 * Hashes every full block of `message` except the last one, so that the remainder is 1..64 bytes
 * (the card refuses an empty last block; source: Cryptolib CPS `cps3_compute_hash`).
 */
export function sha256Midstate(message: Uint8Array): Sha256Midstate {
  const fullBlocks = message.length === 0 ? 0 : Math.floor((message.length - 1) / SHA256_BLOCK_BYTES);
  const hashedBytes = fullBlocks * SHA256_BLOCK_BYTES;
  const h = Uint32Array.from(INITIAL_STATE);
  const w = new Uint32Array(64);
  for (let offset = 0; offset < hashedBytes; offset += SHA256_BLOCK_BYTES) compress(h, message, offset, w);
  return { state: stateToBytes(h), hashedBytes, remainder: message.slice(hashedBytes) };
}

/** The initial state, as a card starts from when the host hashed nothing. */
export function sha256InitialState(): Uint8Array {
  return stateToBytes(Uint32Array.from(INITIAL_STATE));
}

/**
 * Resumes from an intermediate state after `hashedBytes` bytes (a multiple of 64), hashes `rest`
 * (any length) and pads: the card's side of PSO HASH. Returns the 32-byte digest.
 */
export function sha256Resume(state: Uint8Array, hashedBytes: number, rest: Uint8Array): Uint8Array {
  if (!Number.isSafeInteger(hashedBytes) || hashedBytes < 0 || hashedBytes % SHA256_BLOCK_BYTES !== 0) {
    throw new RangeError("hashedBytes must be a non-negative multiple of 64");
  }
  const h = stateFromBytes(state);
  const w = new Uint32Array(64);
  const totalBytes = hashedBytes + rest.length;
  // Padding: 0x80, zeros, then the 64-bit big-endian bit length, up to a multiple of 64 bytes.
  const paddedLength = Math.ceil((rest.length + 1 + 8) / SHA256_BLOCK_BYTES) * SHA256_BLOCK_BYTES;
  const tail = new Uint8Array(paddedLength);
  tail.set(rest);
  tail[rest.length] = 0x80;
  const view = new DataView(tail.buffer);
  const totalBits = BigInt(totalBytes) * 8n;
  view.setBigUint64(paddedLength - 8, totalBits);
  for (let offset = 0; offset < paddedLength; offset += SHA256_BLOCK_BYTES) compress(h, tail, offset, w);
  tail.fill(0);
  return stateToBytes(h);
}

/** The 8-byte big-endian bit counter that follows the state in PSO HASH. */
export function sha256BitCounter(hashedBytes: number): Uint8Array {
  const out = new Uint8Array(SHA256_COUNTER_BYTES);
  new DataView(out.buffer).setBigUint64(0, BigInt(hashedBytes) * 8n);
  return out;
}

/** Reads back an 8-byte big-endian bit counter; undefined when it is not a whole number of blocks. */
export function sha256HashedBytesFromCounter(counter: Uint8Array): number | undefined {
  if (counter.length !== SHA256_COUNTER_BYTES) return undefined;
  const bits = new DataView(counter.buffer, counter.byteOffset, counter.byteLength).getBigUint64(0);
  if (bits % 8n !== 0n) return undefined;
  const bytes = bits / 8n;
  if (bytes > BigInt(Number.MAX_SAFE_INTEGER) || bytes % BigInt(SHA256_BLOCK_BYTES) !== 0n) return undefined;
  return Number(bytes);
}
