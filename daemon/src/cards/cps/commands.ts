/**
 * The CPS3 (IAS-ECC CPx) commands the driver sends, as CommandApdu values. Pure builders; sources
 * for each byte are in docs/cards.md (Cryptolib CPS card-cps3.c, OpenSC card-iasecc.c, ISO 7816-4).
 */
import type { CommandApdu } from "../../pcsc/apdu.ts";

/** "CPx IAS" contact application. */
export const CPX_IAS_AID = Uint8Array.of(
  0xe8,
  0x28,
  0xbd,
  0x08,
  0x0f,
  0x80,
  0x25,
  0x00,
  0x00,
  0x01,
  0xff,
  0x00,
  0x10,
);
/** "CPx IAS CL", the contactless application (Cryptolib `cps3_aid_cps3_cl`; OpenSC dir.c). */
export const CPX_IAS_CL_AID = Uint8Array.of(...CPX_IAS_AID.subarray(0, 11), 0x00, 0x20);
/** EF.DIR under the MF (ISO/IEC 7816-4 §8.2.1.1): where the card says its applications live. */
export const EF_DIR = 0x2f00;
/** EF.SN.ICC under the MF. */
export const EF_SN_ICC = 0xd003;
/** PKCS#15 v1.1 §5.5: the ODF's FID inside the application DF. */
export const EF_ODF = 0x5031;
/** Bytes 2..6 of EF.SN.ICC on every CPx: the ANS issuer number (Cryptolib `cps3_fsn`). */
export const ANS_ISSUER_NUMBER = Uint8Array.of(0x80, 0x25, 0x00, 0x00, 0x01);
/**
 * READ BINARY asks at most this many bytes: the ANS middleware's `card->max_recv_size = 0xE7`
 * (Cryptolib `card-cps3.c` `cps3_init`), so that each READ is one the middleware sends to every
 * CPS3 in the field (reads at offsets 0, 0xE7, 0x1CE…).
 */
export const READ_BINARY_MAX = 0xe7;
/** Largest EF offset a short READ BINARY can address (P1 bit 8 is the SFI flag). */
export const READ_BINARY_MAX_OFFSET = 0x7fff;

export const ALGORITHM = {
  /** RSA PKCS#1 v1.5, the card pads, the host gives a DigestInfo (INTERNAL AUTHENTICATE). */
  rsaPkcs1: 0x02,
  /** SHA-256 (MSE SET HT). */
  sha256: 0x40,
  /** SHA-256 + RSA PKCS#1 v1.5 (MSE SET DST). */
  sha256RsaPkcs1: 0x42,
} as const;

export const SW = {
  ok: 0x9000,
  wrongLength: 0x6700,
  securityNotSatisfied: 0x6982,
  authenticationBlocked: 0x6983,
  conditionsNotSatisfied: 0x6985,
  fileNotFound: 0x6a82,
  referenceNotFound: 0x6a88,
  /** PC/SC part 10: the PIN pad's user timed out / cancelled (PCSC v2 part 10 §2.5.2). */
  pinPadTimeout: 0x6400,
  pinPadCancelled: 0x6401,
} as const;

const P2_FCP = 0x04;
const P2_NO_DATA = 0x0c;
/** SELECT P1=09 with the whole path from the MF, 3F00 included, as Cryptolib `cps3_select_file` does. */
const P1_PATH = 0x09;
const MF = Uint8Array.of(0x3f, 0x00);

function absolute(path: Uint8Array): Uint8Array {
  if (path.length % 2 !== 0 || path.length > 16) throw new RangeError("SELECT path");
  return path[0] === 0x3f && path[1] === 0x00 ? path : Uint8Array.of(...MF, ...path);
}

/**
 * SELECT by path from the MF with the FCP (for the size): `00 A4 09 04 Lc 3F00 … [Le]`. Logically
 * case 4 with Le 256, as Cryptolib builds it; on T=0 the transport sends it without Le.
 */
export function selectPathWithFcp(path: Uint8Array): CommandApdu {
  return { cla: 0x00, ins: 0xa4, p1: P1_PATH, p2: P2_FCP, data: absolute(path), le: 256 };
}

/** SELECT by path from the MF without answer data: `00 A4 09 0C Lc 3F00 …` (case 3). */
export function selectPath(path: Uint8Array): CommandApdu {
  return { cla: 0x00, ins: 0xa4, p1: P1_PATH, p2: P2_NO_DATA, data: absolute(path) };
}

/** SELECT MF: `00 A4 09 0C 02 3F 00` (Cryptolib before GET DATA; OpenSC issue #2275). */
export function selectMf(): CommandApdu {
  return selectPath(MF);
}

export function readBinary(offset: number, length: number): CommandApdu {
  if (offset < 0 || offset > READ_BINARY_MAX_OFFSET) throw new RangeError("READ BINARY offset");
  return { cla: 0x00, ins: 0xb0, p1: offset >> 8, p2: offset & 0xff, le: Math.min(length, READ_BINARY_MAX) };
}

/**
 * IAS-ECC GET DATA on the CHV SDO `BF81<ref>`, asking for its DOCP (A0): the maximum and remaining
 * tries, without spending one (Cryptolib `cps3_get_pin_counter`). Needs the MF selected.
 */
export function getPinCounter(pinReference: number): CommandApdu {
  return {
    cla: 0x00,
    ins: 0xcb,
    p1: 0x3f,
    p2: 0xff,
    data: Uint8Array.of(0x4d, 0x08, 0x70, 0x06, 0xbf, 0x81, pinReference & 0x7f, 0x02, 0xa0, 0x80),
    // Case 4 with Le 256, as Cryptolib builds it; sent without Le on T=0.
    le: 256,
  };
}

/** ISO VERIFY with a formatted PIN block. The caller wipes `pinBlock` after transmit. */
export function verify(pinReference: number, pinBlock: Uint8Array): CommandApdu {
  return { cla: 0x00, ins: 0x20, p1: 0x00, p2: pinReference, data: pinBlock };
}

/** MSE SET AT for INTERNAL AUTHENTICATE with a private key. */
export function mseSetAuthentication(keyReference: number): CommandApdu {
  return {
    cla: 0x00,
    ins: 0x22,
    p1: 0x41,
    p2: 0xa4,
    data: Uint8Array.of(0x80, 0x01, ALGORITHM.rsaPkcs1, 0x84, 0x01, keyReference),
  };
}

/** MSE SET DST for PSO COMPUTE DIGITAL SIGNATURE, SHA-256 + PKCS#1 v1.5. */
export function mseSetSignature(keyReference: number): CommandApdu {
  return {
    cla: 0x00,
    ins: 0x22,
    p1: 0x41,
    p2: 0xb6,
    data: Uint8Array.of(0x80, 0x01, ALGORITHM.sha256RsaPkcs1, 0x84, 0x01, keyReference),
  };
}

/** MSE SET HT: the card will finish a SHA-256. */
export function mseSetHash(): CommandApdu {
  return { cla: 0x00, ins: 0x22, p1: 0x41, p2: 0xaa, data: Uint8Array.of(0x80, 0x01, ALGORITHM.sha256) };
}

/**
 * PSO HASH: `90 <00|28> [state ‖ 8-byte bit count]` then `80 <1..64> <last bytes>`. With nothing
 * hashed on the host, tag 90 is empty (Cryptolib `cps3_compute_hash`).
 */
export function psoHash(intermediate: Uint8Array, last: Uint8Array): CommandApdu {
  if (last.length === 0 || last.length > 64) throw new RangeError("PSO HASH last block is 1..64 bytes");
  const data = new Uint8Array(4 + intermediate.length + last.length);
  data[0] = 0x90;
  data[1] = intermediate.length;
  data.set(intermediate, 2);
  data[2 + intermediate.length] = 0x80;
  data[3 + intermediate.length] = last.length;
  data.set(last, 4 + intermediate.length);
  return { cla: 0x00, ins: 0x2a, p1: 0x90, p2: 0xa0, data };
}

export function psoComputeDigitalSignature(): CommandApdu {
  return { cla: 0x00, ins: 0x2a, p1: 0x9e, p2: 0x9a, le: 256 };
}

export function internalAuthenticate(digestInfo: Uint8Array): CommandApdu {
  return { cla: 0x00, ins: 0x88, p1: 0x00, p2: 0x00, data: digestInfo, le: 256 };
}

export function swHex(sw: number): string {
  return sw.toString(16).toUpperCase().padStart(4, "0");
}
