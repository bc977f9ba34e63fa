/**
 * The file image of an emulated Vitale 2: the pointer file and the data files, built from plain
 * beneficiary values with the public layout (cards/vitale/layout.ts), plus the one thing the
 * public layout lacks: the lab's own birth-rank tag (LAB_BENEFICIARY_LAYOUT).
 *
 * File names, FIDs and the one-record-per-file split are the lab's choices, not facts about real
 * cards: the driver must not depend on them (it follows the pointer file).
 */
import { encodeTlv } from "../../../cards/tlv.ts";
import { nirKey } from "../../../ins/index.ts";
import {
  POINTER_FILE_ID,
  PUBLIC_BENEFICIARY_LAYOUT,
  TAG_BENEFICIARY,
  TAG_CARD,
  TAG_CARD_VALIDITY_START,
  TAG_POINTER_APPLICATION,
  TAG_POINTER_APPLICATIONS,
  TAG_POINTER_FILE,
  TAG_POINTERS,
  VITALE_AID,
  VITALE_MF_AID,
  type VitaleBeneficiaryLayout,
} from "../../../cards/vitale/layout.ts";

/** The lab layout: public tags + `83` for the birth rank (the lab's choice; no public source). */
export const LAB_BIRTH_RANK_TAG = 0x83;
export const LAB_BENEFICIARY_LAYOUT: VitaleBeneficiaryLayout = {
  ...PUBLIC_BENEFICIARY_LAYOUT,
  birthRank: LAB_BIRTH_RANK_TAG,
};

/** The emulator holds 1 to 6 beneficiaries (an insured person and their family). */
export const VITALE2_MIN_BENEFICIARIES = 1;
export const VITALE2_MAX_BENEFICIARIES = 6;

/** Pointer-file entry ids of the two applications. */
const ENTRY_VITALE = 0x0001;
const ENTRY_MF = 0x0002;
/** Lab FIDs: the card file, then one file per beneficiary. */
export const CARD_FILE_ID = 0x2002;
export const FIRST_BENEFICIARY_FILE_ID = 0x2004;
/** A file the pointer file may list without it being on the card (fault injection). */
export const MISSING_FILE_ID = 0x20ff;
/** A file of the MF_VITALE application, listed but not readable from the VITALE application. */
const MF_PAN_FILE_ID = 0x2f02;

export interface Vitale2Beneficiary {
  /** 13 characters (Corsican 2A/2B allowed). */
  readonly nir: string;
  /**
   * The key written after the NIR: the correct one by default; a wrong one to test marking;
   * `null` to write the 13-character NIR alone.
   */
  readonly nirKey?: string | null;
  readonly lastName: string;
  readonly firstName: string;
  /** YYYYMMDD, `00` allowed for a lunar day or month. */
  readonly birthDate: string;
  readonly birthRank?: number;
  /** Tag `90` (nationality), kept raw by the reader. */
  readonly nationality?: string;
}

export interface Vitale2ImageOptions {
  readonly beneficiaries: readonly Vitale2Beneficiary[];
  /** YYYYMMDD of tag 66/80. */
  readonly validFrom?: string;
  /** List MISSING_FILE_ID in the pointer file although no such file exists. */
  readonly listMissingFile?: boolean;
}

export interface Vitale2Image {
  /** FID → content. */
  readonly files: ReadonlyMap<number, Uint8Array>;
  /** FID of the data file of each beneficiary, in order. */
  readonly beneficiaryFiles: readonly number[];
}

const ascii = (text: string): Uint8Array => Uint8Array.from(text, (char) => char.charCodeAt(0) & 0xff);

function pointerFileEntry(name: string, entry: number, fid: number): Uint8Array {
  const value = new Uint8Array(12);
  value.set(ascii(name.padEnd(8, " ").slice(0, 8)), 0);
  value.set([entry >> 8, entry & 0xff, fid >> 8, fid & 0xff], 8);
  return encodeTlv(TAG_POINTER_FILE, value);
}

function pointerApplication(entry: number, aid: Uint8Array): Uint8Array {
  return encodeTlv(TAG_POINTER_APPLICATION, [Uint8Array.of(entry >> 8, entry & 0xff, 0x00, 0x00), aid]);
}

export function beneficiaryRecord(beneficiary: Vitale2Beneficiary): Uint8Array {
  const key = beneficiary.nirKey === undefined ? nirKey(beneficiary.nir) : beneficiary.nirKey;
  const layout = LAB_BENEFICIARY_LAYOUT;
  const children = [
    ...(beneficiary.nationality === undefined ? [] : [encodeTlv(0x90, ascii(beneficiary.nationality))]),
    encodeTlv(layout.nir, ascii(beneficiary.nir + (key ?? ""))),
    encodeTlv(layout.lastName, ascii(beneficiary.lastName)),
    encodeTlv(layout.firstName, ascii(beneficiary.firstName)),
    encodeTlv(layout.birthDate, ascii(beneficiary.birthDate)),
    ...(beneficiary.birthRank === undefined
      ? []
      : [encodeTlv(LAB_BIRTH_RANK_TAG, Uint8Array.of(beneficiary.birthRank))]),
  ];
  return encodeTlv(TAG_BENEFICIARY, children);
}

export function buildVitale2Image(options: Vitale2ImageOptions): Vitale2Image {
  const count = options.beneficiaries.length;
  if (count < VITALE2_MIN_BENEFICIARIES || count > VITALE2_MAX_BENEFICIARIES) {
    throw new RangeError(
      `an emulated Vitale 2 holds ${VITALE2_MIN_BENEFICIARIES} to ${VITALE2_MAX_BENEFICIARIES} beneficiaries`,
    );
  }
  const files = new Map<number, Uint8Array>();
  const entries: Uint8Array[] = [pointerFileEntry("CARTE", ENTRY_VITALE, CARD_FILE_ID)];
  files.set(
    CARD_FILE_ID,
    encodeTlv(TAG_CARD, [encodeTlv(TAG_CARD_VALIDITY_START, ascii(options.validFrom ?? "20240102"))]),
  );

  const beneficiaryFiles: number[] = [];
  options.beneficiaries.forEach((beneficiary, index) => {
    const fid = FIRST_BENEFICIARY_FILE_ID + index;
    beneficiaryFiles.push(fid);
    files.set(fid, beneficiaryRecord(beneficiary));
    entries.push(pointerFileEntry(`BENEF${index + 1}`, ENTRY_VITALE, fid));
  });
  if (options.listMissingFile === true)
    entries.push(pointerFileEntry("ABSENT", ENTRY_VITALE, MISSING_FILE_ID));
  entries.push(pointerFileEntry("PAN", ENTRY_MF, MF_PAN_FILE_ID));

  const pointer = encodeTlv(TAG_POINTERS, [
    encodeTlv(TAG_POINTER_APPLICATIONS, [
      pointerApplication(ENTRY_VITALE, VITALE_AID),
      pointerApplication(ENTRY_MF, VITALE_MF_AID),
    ]),
    ...entries,
  ]);
  files.set(POINTER_FILE_ID, pointer);
  return { files, beneficiaryFiles };
}
