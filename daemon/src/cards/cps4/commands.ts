/**
 * The CPS4 (NXP ChipDoc) commands the driver sends, as CommandApdu values. Pure builders. Every form
 * is one the ANS Cryptolib 5.2.2 sends to a CPS4 (test/cps/dialect-cps4.test.ts checks it); sources for
 * each byte are in docs/cards.md, "CPS4" (dops-cryptolib card-cps4.c, card-cps.c, cards.h, internal.h).
 */
import type { CommandApdu } from "../../pcsc/apdu.ts";

/** Cryptolib drives the ChipDoc applet on logical channel 1 (card-cps4.c `CLA_CHANNEL_ONE`). */
export const CLA = 0x01;
/** The ChipDoc applet (card-cps4.c `CHIPDOC_APP_AID`). */
export const CHIPDOC_AID = Uint8Array.of(0x80, 0x25, 0x00, 0x00, 0x01, 0xff, 0x01, 0x00);
/** The PKCS#15 application Cryptolib looks for in EF.DIR (card-cps4.c `cps_aid_cps4`). */
export const PKCS15_AID = Uint8Array.of(
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
/** MF files: EF.DIR (ISO/IEC 7816-4 §8.2.1.1) and EF.SN.ICC (card-cps.h `CPS_EF_SN_PATH` 3F00D003). */
export const EF_DIR = 0x2f00;
export const EF_SN_ICC = 0xd003;
/** PKCS#15 v1.1 §5.5: the ODF's FID inside the application DF. */
export const EF_ODF = 0x5031;
/** Bytes 2..6 of EF.SN.ICC on every CPx: the ANS issuer number (card-cps.c `cps3_fsn`). */
export const ANS_ISSUER_NUMBER = Uint8Array.of(0x80, 0x25, 0x00, 0x00, 0x01);
/** EF.SN.ICC is exactly 12 bytes (card-cps.c `_cps_read_efsnicc`: "Bad EFSN file length"). */
export const EF_SN_ICC_SIZE = 12;
/** Short READ BINARY: 256 bytes at most per command. */
export const READ_BINARY_MAX = 256;
export const READ_BINARY_MAX_OFFSET = 0x7fff;

/** ChipDoc algorithm identifiers for MSE SET DST (dops-cryptolib cards.h `CPSV4_ALG_*`). */
export const ALGORITHM = {
  /** CPSV4_ALG_RSA_SHA_256_PKCS1: PKCS#1 v1.5 over a SHA-256 the host computed. */
  sha256Pkcs1: 0x28,
} as const;
/** Key reference bit 8 in MSE SET DST: "the hash is given" (card-cps4.c `key_ref[0] | 0x80`). */
export const KEY_REF_HASH_GIVEN = 0x80;

export const SW = {
  ok: 0x9000,
  /** The channel is not open (a reset closed it): select the applet again. */
  channelNotSupported: 0x6881,
  securityNotSatisfied: 0x6982,
  authenticationBlocked: 0x6983,
  conditionsNotSatisfied: 0x6985,
  fileNotFound: 0x6a82,
  pinPadTimeout: 0x6400,
  pinPadCancelled: 0x6401,
} as const;

const P2_FCI = 0x00;
const P2_NO_DATA = 0x0c;

/** SELECT the ChipDoc applet on channel 1 (case 3; its first SELECT opens the channel). */
export function selectApplet(): CommandApdu {
  return { cla: CLA, ins: 0xa4, p1: 0x04, p2: P2_NO_DATA, data: CHIPDOC_AID };
}

/** SELECT by path from the MF (P1=08, the path without 3F00), with the FCI (its tag 80: the size). */
export function selectPath(path: Uint8Array): CommandApdu {
  return { cla: CLA, ins: 0xa4, p1: 0x08, p2: P2_FCI, data: path, le: 256 };
}

export function readBinary(offset: number, length: number): CommandApdu {
  if (offset < 0 || offset > READ_BINARY_MAX_OFFSET) throw new RangeError("READ BINARY offset");
  return { cla: CLA, ins: 0xb0, p1: offset >> 8, p2: offset & 0xff, le: Math.min(length, READ_BINARY_MAX) };
}

/** VERIFY without data: the tries counter, no try spent (card-cps4.c `_cps4_get_pin_counter`). */
export function pinCounter(pinReference: number): CommandApdu {
  return { cla: CLA, ins: 0x20, p1: 0x00, p2: pinReference };
}

/** VERIFY with the PIN block. The caller wipes `pinBlock` after transmit. */
export function verify(pinReference: number, pinBlock: Uint8Array): CommandApdu {
  return { cla: CLA, ins: 0x20, p1: 0x00, p2: pinReference, data: pinBlock };
}

/** MSE SET DST for PSO CDS: `81 B6 {91 02 <alg> <keyRef | 80>}` (card-cps4.c `cps4_set_security_env`). */
export function mseSetSignature(keyReference: number): CommandApdu {
  return {
    cla: CLA,
    ins: 0x22,
    p1: 0x81,
    p2: 0xb6,
    data: Uint8Array.of(0x91, 0x02, ALGORITHM.sha256Pkcs1, (keyReference | KEY_REF_HASH_GIVEN) & 0xff),
  };
}

/** MSE SET for PSO DECIPHER: `41 B8 {83 01 <keyRef>}` (card-cps4.c, the authentication key). */
export function mseSetDecipher(keyReference: number): CommandApdu {
  return { cla: CLA, ins: 0x22, p1: 0x41, p2: 0xb8, data: Uint8Array.of(0x83, 0x01, keyReference & 0xff) };
}

/** PSO COMPUTE DIGITAL SIGNATURE over the hash the host computed (card-cps4.c `cps4_sign`). */
export function psoComputeDigitalSignature(hash: Uint8Array): CommandApdu {
  return { cla: CLA, ins: 0x2a, p1: 0x9e, p2: 0x9a, data: hash, le: 256 };
}

/**
 * PSO DECIPHER of a block as long as the modulus, no padding indicator byte (card-cps4.c
 * `decipher`); the CardChannel chains it (CLA b5) since it is longer than 255 bytes.
 */
export function psoDecipher(block: Uint8Array): CommandApdu {
  return { cla: CLA, ins: 0x2a, p1: 0x80, p2: 0x86, data: block, le: 256 };
}

export function swHex(sw: number): string {
  return sw.toString(16).toUpperCase().padStart(4, "0");
}
