/**
 * An emulated Vitale 2 card (and a Vitale 1 stand-in) for the lab: raw C-APDU in, raw R-APDU out.
 *
 * T=0 behaviour, as a real T=0 card shows it through a plain reader:
 * - READ BINARY whose Le is larger than what is left of the file → `6C xx` (exact length), and the
 *   host must send it again with Le = xx (ISO 7816-3 §12.2.3);
 * - every command that returns data answers `61 xx` first (when `getResponse` is on, the default),
 *   and the data comes with GET RESPONSE `00 C0 00 00 xx`; any other command drops the pending data.
 * The host's APDU layer must handle both; the driver never sees them.
 */
import type { CardEmulator } from "../../card-emulator.ts";
import { encodeTlv } from "../../../cards/tlv.ts";
import {
  buildVitale2Image,
  type ElementaryFile,
  type Vitale2Beneficiary,
  type Vitale2Layout,
} from "./image.ts";
import { AID_MF_VITALE, AID_VITALE, FID_MF } from "./public-facts.ts";
import { FAMILY_OF_4 } from "./fixtures.ts";

/** A Vitale 2 ATR from smartcard_list.txt ("Carte Vitale 2 (Nouvelle version avec photo)"). */
export const VITALE2_ATR = Uint8Array.of(0x3b, 0x75, 0x13, 0x00, 0x00, 0x44, 0x09, 0xea, 0x90, 0x00);
/** A Vitale 1 ATR from smartcard_list.txt (inverse convention, Bull CP8). */
export const VITALE1_ATR = Uint8Array.of(0x3f, 0x65, 0x25, 0x00, 0x2c, 0x09, 0x69, 0x90, 0x00);

/** Short APDUs only: a response never exceeds 256 bytes. */
const MAX_SHORT_LE = 256;

const SW = {
  OK: 0x9000,
  END_OF_FILE: 0x6282,
  WRONG_LENGTH: 0x6700,
  NO_CURRENT_EF: 0x6986,
  CONDITIONS_NOT_SATISFIED: 0x6985,
  FILE_NOT_FOUND: 0x6a82,
  WRONG_P1P2: 0x6a86,
  WRONG_OFFSET: 0x6b00,
  INS_NOT_SUPPORTED: 0x6d00,
  CLA_NOT_SUPPORTED: 0x6e00,
} as const;

export interface Vitale2EmulatorOptions {
  /** 1 to 6 beneficiaries; the default family of 4 otherwise. */
  readonly beneficiaries?: readonly Vitale2Beneficiary[];
  /** Which of the two public layouts (image.ts); `single` by default. */
  readonly layout?: Vitale2Layout;
  /** `split` only: list the MF's identity file in the pointer file (default true). */
  readonly listIdentityFile?: boolean;
  /** Answer these status words to READ BINARY of these files (FID, in whichever DF). */
  readonly failingFiles?: readonly { readonly fid: number; readonly sw: number }[];
  readonly validFrom?: string;
  /** Answer this status word to READ BINARY of one beneficiary's file (0-based index). */
  readonly failingBeneficiary?: { readonly index: number; readonly sw: number };
  /** List a file in the pointer file that is not on the card. */
  readonly listMissingFile?: boolean;
  /** Replace the content of files (FID → bytes; a FID on neither DF goes to VITALE), for malformed-content tests. */
  readonly fileContents?: ReadonlyMap<number, Uint8Array>;
  /** Answer 61xx and wait for GET RESPONSE before giving data (default true). */
  readonly getResponse?: boolean;
  readonly atr?: Uint8Array;
}

type DedicatedFile = "mf" | "vitale";

export interface Vitale2Emulator extends CardEmulator {
  readonly layout: Vitale2Layout;
  /** FID of the file holding each beneficiary's NIR, in card order (fault injection in tests). */
  readonly beneficiaryFiles: readonly number[];
}

function status(sw: number): Uint8Array {
  return Uint8Array.of(sw >> 8, sw & 0xff);
}

function withStatus(data: Uint8Array, sw: number): Uint8Array {
  const out = new Uint8Array(data.length + 2);
  out.set(data, 0);
  out.set(status(sw), data.length);
  return out;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}

interface ParsedApdu {
  readonly cla: number;
  readonly ins: number;
  readonly p1: number;
  readonly p2: number;
  readonly data: Uint8Array;
  /** Undefined: no Le byte. 0 in the byte means 256. */
  readonly le?: number;
}

/** Short APDU cases 1–4; a T=0 case 4 may arrive without its Le byte. */
function parseApdu(apdu: Uint8Array): ParsedApdu | undefined {
  if (apdu.length < 4) return undefined;
  const [cla = 0, ins = 0, p1 = 0, p2 = 0] = apdu;
  if (apdu.length === 4) return { cla, ins, p1, p2, data: new Uint8Array() };
  const p3 = apdu[4] ?? 0;
  if (apdu.length === 5)
    return { cla, ins, p1, p2, data: new Uint8Array(), le: p3 === 0 ? MAX_SHORT_LE : p3 };
  const data = apdu.subarray(5, 5 + p3);
  if (data.length !== p3 || p3 === 0) return undefined;
  const rest = apdu.length - 5 - p3;
  if (rest === 0) return { cla, ins, p1, p2, data };
  if (rest === 1) {
    const le = apdu[5 + p3] ?? 0;
    return { cla, ins, p1, p2, data, le: le === 0 ? MAX_SHORT_LE : le };
  }
  return undefined;
}

export function createVitale2Emulator(options: Vitale2EmulatorOptions = {}): Vitale2Emulator {
  const image = buildVitale2Image({
    beneficiaries: options.beneficiaries ?? FAMILY_OF_4,
    ...(options.layout === undefined ? {} : { layout: options.layout }),
    ...(options.validFrom === undefined ? {} : { validFrom: options.validFrom }),
    ...(options.listMissingFile === undefined ? {} : { listMissingFile: options.listMissingFile }),
    ...(options.listIdentityFile === undefined ? {} : { listIdentityFile: options.listIdentityFile }),
  });
  const dfs: Record<DedicatedFile, Map<number, ElementaryFile>> = {
    mf: new Map(image.mf),
    vitale: new Map(image.vitale),
  };
  for (const [fid, content] of options.fileContents ?? []) {
    const df: DedicatedFile = dfs.mf.has(fid) ? "mf" : "vitale";
    dfs[df].set(fid, { ...(dfs[df].get(fid) ?? { fid }), content });
  }
  const failing = options.failingBeneficiary;
  const failingFile = failing === undefined ? undefined : image.beneficiaryFiles[failing.index];
  if (failing !== undefined && failingFile === undefined)
    throw new RangeError("failingBeneficiary.index out of range");
  const failures = new Map<number, number>();
  if (failing !== undefined && failingFile !== undefined) failures.set(failingFile, failing.sw);
  for (const { fid, sw } of options.failingFiles ?? []) failures.set(fid, sw);
  const useGetResponse = options.getResponse ?? true;

  // After the ATR the MF is the current DF (ISO/IEC 7816-4 §7.1.1).
  let currentDf: DedicatedFile = "mf";
  let currentEf: ElementaryFile | undefined;
  let pending: Uint8Array | undefined;

  /** Data out: straight with 9000, or parked behind 61xx for GET RESPONSE. */
  function answer(data: Uint8Array): Uint8Array {
    if (!useGetResponse || data.length === 0) return withStatus(data, SW.OK);
    pending = data;
    return status(0x6100 | (data.length & 0xff));
  }

  function getResponse(apdu: ParsedApdu): Uint8Array {
    if (pending === undefined) return status(SW.CONDITIONS_NOT_SATISFIED);
    const available = Math.min(pending.length, MAX_SHORT_LE);
    const le = apdu.le ?? MAX_SHORT_LE;
    if (le > available) return status(0x6c00 | (available & 0xff));
    const out = pending.subarray(0, le);
    const rest = pending.subarray(le);
    pending = rest.length > 0 ? rest : undefined;
    return withStatus(out, rest.length > 0 ? 0x6100 | (Math.min(rest.length, MAX_SHORT_LE) & 0xff) : SW.OK);
  }

  function selectDf(df: DedicatedFile, wantsFci: boolean): Uint8Array {
    currentDf = df;
    currentEf = undefined;
    const aid = df === "vitale" ? AID_VITALE : AID_MF_VITALE;
    return wantsFci ? answer(encodeTlv(0x6f, [encodeTlv(0x84, aid)])) : status(SW.OK);
  }

  function select(apdu: ParsedApdu): Uint8Array {
    const wantsFci = (apdu.p2 & 0x0c) !== 0x0c;
    if (apdu.p1 === 0x04) {
      if (sameBytes(apdu.data, AID_VITALE)) return selectDf("vitale", wantsFci);
      if (sameBytes(apdu.data, AID_MF_VITALE)) return selectDf("mf", wantsFci);
      return status(SW.FILE_NOT_FOUND);
    }
    if (apdu.p1 === 0x00 && apdu.data.length === 0) return selectDf("mf", wantsFci);
    if (apdu.p1 === 0x00 || apdu.p1 === 0x02) {
      if (apdu.data.length !== 2) return status(SW.WRONG_LENGTH);
      const fid = ((apdu.data[0] ?? 0) << 8) | (apdu.data[1] ?? 0);
      if (apdu.p1 === 0x00 && fid === FID_MF) return selectDf("mf", wantsFci);
      const file = dfs[currentDf].get(fid);
      if (file === undefined) return status(SW.FILE_NOT_FOUND);
      currentEf = file;
      if (!wantsFci) return status(SW.OK);
      const size = Uint8Array.of(file.content.length >> 8, file.content.length & 0xff);
      return answer(encodeTlv(0x62, [encodeTlv(0x80, size), encodeTlv(0x83, apdu.data)]));
    }
    return status(SW.WRONG_P1P2);
  }

  function readBinary(apdu: ParsedApdu): Uint8Array {
    let offset = (apdu.p1 << 8) | apdu.p2;
    if (apdu.p1 & 0x80) {
      // Short EF identifier in P1 bits 1-5, offset in P2; the file becomes the current EF.
      if (apdu.p1 & 0x60) return status(SW.WRONG_P1P2);
      const sfi = apdu.p1 & 0x1f;
      const file = [...dfs[currentDf].values()].find((candidate) => candidate.sfi === sfi);
      if (sfi === 0 || file === undefined) return status(SW.FILE_NOT_FOUND);
      currentEf = file;
      offset = apdu.p2;
    }
    if (currentEf === undefined) return status(SW.NO_CURRENT_EF);
    const failure = failures.get(currentEf.fid);
    if (failure !== undefined) return status(failure);
    if (apdu.le === undefined) return status(SW.WRONG_LENGTH);
    const content = currentEf.content;
    if (offset > content.length) return status(SW.WRONG_OFFSET);
    const available = Math.min(content.length - offset, MAX_SHORT_LE);
    if (available === 0) return status(SW.END_OF_FILE);
    if (apdu.le > available) return status(0x6c00 | (available & 0xff));
    return answer(content.subarray(offset, offset + apdu.le));
  }

  return {
    atr: options.atr ?? VITALE2_ATR,
    layout: image.layout,
    beneficiaryFiles: image.beneficiaryFiles,
    transmit(raw) {
      const apdu = parseApdu(raw);
      if (apdu === undefined) {
        pending = undefined;
        return status(SW.WRONG_LENGTH);
      }
      if (apdu.cla !== 0x00) return status(SW.CLA_NOT_SUPPORTED);
      if (apdu.ins === 0xc0) return getResponse(apdu);
      pending = undefined;
      switch (apdu.ins) {
        case 0xa4:
          return select(apdu);
        case 0xb0:
          return readBinary(apdu);
        default:
          return status(SW.INS_NOT_SUPPORTED);
      }
    },
    reset() {
      currentDf = "mf";
      currentEf = undefined;
      pending = undefined;
    },
  };
}

/**
 * A Vitale 1 stand-in: the Vitale 1 ATR, and a card that refuses the ISO class (its own command
 * set uses CLA BC and was never published, so the lab does not pretend to know it).
 */
export function createVitale1Emulator(): CardEmulator {
  return {
    atr: VITALE1_ATR,
    transmit(raw) {
      return status(raw[0] === 0xbc ? SW.INS_NOT_SUPPORTED : SW.CLA_NOT_SUPPORTED);
    },
    reset() {},
  };
}
