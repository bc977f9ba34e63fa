/**
 * The file image of an emulated Vitale 2, in one of the two layouts public readers show
 * (public-facts.ts names each source):
 *
 * - `single`: every beneficiary field in files of the VITALE application, one `65` record with
 *   `93 80 81 82` per file, all listed in the pointer file (cardpeek's tag table read as one record);
 * - `split`: the names and birth dates in a file of the MF (short file 2: Rufus), the NIRs in
 *   short file 2 of the VITALE application (Rufus), matched by position; the pointer file lists
 *   the MF file under the MF_VITALE application (cardpeek reads every application's files).
 *
 * Built from plain beneficiary values and public-facts.ts, never from the driver's layout, plus the
 * one thing no public source gives: the lab's own birth-rank tag (LAB_BENEFICIARY_LAYOUT).
 * File names, FIDs other than the public ones, short file numbers other than 2, the padding sizes
 * and the one-record-per-file split are the lab's choices, not facts about real cards: the driver
 * must not depend on them (it follows the pointer file).
 */
import { encodeTlv } from "../../../cards/tlv.ts";
import { nirKey } from "../../../ins/index.ts";
import type { VitaleBeneficiaryLayout } from "../../../cards/vitale/layout.ts";
import {
  AID_MF_VITALE,
  AID_VITALE,
  FID_DIR,
  FID_PAN,
  FID_POINTERS,
  SFI_IDENTITIES,
  SFI_NIRS,
  TAG_BENEFICIARY,
  TAG_BIRTH_DATE,
  TAG_CARD,
  TAG_CARD_VALIDITY_START,
  TAG_FIRST_NAME,
  TAG_LAST_NAME,
  TAG_NATIONALITY,
  TAG_NIR,
  TAG_POINTER_APPLICATION,
  TAG_POINTER_APPLICATIONS,
  TAG_POINTER_FILE,
  TAG_POINTERS,
} from "./public-facts.ts";

/** The lab layout: public tags + `83` for the birth rank (the lab's choice; no public source). */
export const LAB_BIRTH_RANK_TAG = 0x83;
export const LAB_BENEFICIARY_LAYOUT: VitaleBeneficiaryLayout = {
  nir: TAG_NIR,
  lastName: TAG_LAST_NAME,
  firstName: TAG_FIRST_NAME,
  birthDate: TAG_BIRTH_DATE,
  birthRank: LAB_BIRTH_RANK_TAG,
};

/** The emulator holds 1 to 6 beneficiaries (an insured person and their family). */
export const VITALE2_MIN_BENEFICIARIES = 1;
export const VITALE2_MAX_BENEFICIARIES = 6;

/** `single`: everything under VITALE; `split`: identities in the MF, NIRs under VITALE. */
export type Vitale2Layout = "single" | "split";

/** Pointer-file entry ids of the two applications (lab values). */
const ENTRY_VITALE = 0x0001;
const ENTRY_MF = 0x0002;
/** Lab FIDs of the `single` layout: the card file, then one file per beneficiary. */
export const CARD_FILE_ID = 0x2002;
export const FIRST_BENEFICIARY_FILE_ID = 0x2004;
/** A file the pointer file may list without it being on the card (fault injection). */
export const MISSING_FILE_ID = 0x20ff;
/**
 * Lab FIDs of the `split` layout. D001 for the MF's short file 2 is named in issue #10; no public
 * source seen here gives that FID (a guess). The VITALE files' FIDs are the lab's.
 */
export const SPLIT_IDENTITY_FILE_ID = 0xd001;
export const SPLIT_NIR_FILE_ID = 0x2002;
export const SPLIT_CARD_FILE_ID = 0x2003;
/** Short file number of the pointer file (a guess: the low bits of 2001). */
const SFI_POINTERS = 1;
/** Zero bytes after the records of a `split` file (Rufus stops at zero padding; the size is ours). */
const SPLIT_PADDING_BYTES = 16;

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
  /** Default `single`. */
  readonly layout?: Vitale2Layout;
  /** YYYYMMDD of tag 66/80. */
  readonly validFrom?: string;
  /** List MISSING_FILE_ID in the pointer file although no such file exists. */
  readonly listMissingFile?: boolean;
  /**
   * `split` only: list the MF's identity file in the pointer file (default true). Off, the card
   * shows what Rufus reads and cardpeek would not find: the file is reachable by short file 2 only.
   */
  readonly listIdentityFile?: boolean;
}

export interface ElementaryFile {
  readonly fid: number;
  /** Short EF identifier (1–30), when READ BINARY may address the file by it. */
  readonly sfi?: number;
  readonly content: Uint8Array;
}

export interface Vitale2Image {
  readonly layout: Vitale2Layout;
  /** EFs directly under the MF (DF name MF_VITALE). */
  readonly mf: ReadonlyMap<number, ElementaryFile>;
  /** EFs of the VITALE application. */
  readonly vitale: ReadonlyMap<number, ElementaryFile>;
  /** FID of the VITALE file holding each beneficiary's NIR, in order. */
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

function pointerFile(entries: readonly Uint8Array[]): Uint8Array {
  return encodeTlv(TAG_POINTERS, [
    encodeTlv(TAG_POINTER_APPLICATIONS, [
      pointerApplication(ENTRY_VITALE, AID_VITALE),
      pointerApplication(ENTRY_MF, AID_MF_VITALE),
    ]),
    ...entries,
  ]);
}

function nirText(beneficiary: Vitale2Beneficiary): string {
  const key = beneficiary.nirKey === undefined ? nirKey(beneficiary.nir) : beneficiary.nirKey;
  return beneficiary.nir + (key ?? "");
}

function nationality(beneficiary: Vitale2Beneficiary): Uint8Array[] {
  return beneficiary.nationality === undefined
    ? []
    : [encodeTlv(TAG_NATIONALITY, ascii(beneficiary.nationality))];
}

function identityFields(beneficiary: Vitale2Beneficiary): Uint8Array[] {
  return [
    encodeTlv(TAG_LAST_NAME, ascii(beneficiary.lastName)),
    encodeTlv(TAG_FIRST_NAME, ascii(beneficiary.firstName)),
    encodeTlv(TAG_BIRTH_DATE, ascii(beneficiary.birthDate)),
    ...(beneficiary.birthRank === undefined
      ? []
      : [encodeTlv(LAB_BIRTH_RANK_TAG, Uint8Array.of(beneficiary.birthRank))]),
  ];
}

/** A whole `single`-layout record: `65 { [90] 93 80 81 82 [83] }`. */
export function beneficiaryRecord(beneficiary: Vitale2Beneficiary): Uint8Array {
  return encodeTlv(TAG_BENEFICIARY, [
    ...nationality(beneficiary),
    encodeTlv(TAG_NIR, ascii(nirText(beneficiary))),
    ...identityFields(beneficiary),
  ]);
}

/** `split` layout, VITALE short file 2: `65 { [90] 93 }` per beneficiary. */
export function nirRecord(beneficiary: Vitale2Beneficiary): Uint8Array {
  return encodeTlv(TAG_BENEFICIARY, [
    ...nationality(beneficiary),
    encodeTlv(TAG_NIR, ascii(nirText(beneficiary))),
  ]);
}

/** `split` layout, MF short file 2: `65 { 80 81 82 [83] }` per beneficiary. */
export function identityRecord(beneficiary: Vitale2Beneficiary): Uint8Array {
  return encodeTlv(TAG_BENEFICIARY, identityFields(beneficiary));
}

function cardRecord(validFrom: string | undefined): Uint8Array {
  return encodeTlv(TAG_CARD, [encodeTlv(TAG_CARD_VALIDITY_START, ascii(validFrom ?? "20240102"))]);
}

function padded(records: readonly Uint8Array[]): Uint8Array {
  const length = records.reduce((sum, record) => sum + record.length, 0);
  const out = new Uint8Array(length + SPLIT_PADDING_BYTES);
  let offset = 0;
  for (const record of records) {
    out.set(record, offset);
    offset += record.length;
  }
  return out;
}

/** ISO/IEC 7816-4 EF.DIR: one `61 { 4F AID }` template per application (content a guess). */
function directory(): Uint8Array {
  return Uint8Array.from([
    ...encodeTlv(0x61, [encodeTlv(0x4f, AID_VITALE)]),
    ...encodeTlv(0x61, [encodeTlv(0x4f, AID_MF_VITALE)]),
  ]);
}

function fileMap(files: readonly ElementaryFile[]): Map<number, ElementaryFile> {
  return new Map(files.map((file) => [file.fid, file]));
}

export function buildVitale2Image(options: Vitale2ImageOptions): Vitale2Image {
  const count = options.beneficiaries.length;
  if (count < VITALE2_MIN_BENEFICIARIES || count > VITALE2_MAX_BENEFICIARIES) {
    throw new RangeError(
      `an emulated Vitale 2 holds ${VITALE2_MIN_BENEFICIARIES} to ${VITALE2_MAX_BENEFICIARIES} beneficiaries`,
    );
  }
  return (options.layout ?? "single") === "split" ? buildSplit(options) : buildSingle(options);
}

function buildSingle(options: Vitale2ImageOptions): Vitale2Image {
  const files: ElementaryFile[] = [{ fid: CARD_FILE_ID, content: cardRecord(options.validFrom) }];
  const entries: Uint8Array[] = [pointerFileEntry("CARTE", ENTRY_VITALE, CARD_FILE_ID)];
  const beneficiaryFiles: number[] = [];
  options.beneficiaries.forEach((beneficiary, index) => {
    const fid = FIRST_BENEFICIARY_FILE_ID + index;
    beneficiaryFiles.push(fid);
    files.push({ fid, content: beneficiaryRecord(beneficiary) });
    entries.push(pointerFileEntry(`BENEF${index + 1}`, ENTRY_VITALE, fid));
  });
  if (options.listMissingFile === true)
    entries.push(pointerFileEntry("ABSENT", ENTRY_VITALE, MISSING_FILE_ID));
  entries.push(pointerFileEntry("PAN", ENTRY_MF, FID_PAN));
  files.push({ fid: FID_POINTERS, sfi: SFI_POINTERS, content: pointerFile(entries) });
  return { layout: "single", mf: new Map(), vitale: fileMap(files), beneficiaryFiles };
}

function buildSplit(options: Vitale2ImageOptions): Vitale2Image {
  const entries: Uint8Array[] = [
    pointerFileEntry("CARTE", ENTRY_VITALE, SPLIT_CARD_FILE_ID),
    pointerFileEntry("NIR", ENTRY_VITALE, SPLIT_NIR_FILE_ID),
  ];
  if (options.listMissingFile === true)
    entries.push(pointerFileEntry("ABSENT", ENTRY_VITALE, MISSING_FILE_ID));
  if (options.listIdentityFile !== false)
    entries.push(pointerFileEntry("IDENT", ENTRY_MF, SPLIT_IDENTITY_FILE_ID));
  const vitale: ElementaryFile[] = [
    { fid: FID_POINTERS, sfi: SFI_POINTERS, content: pointerFile(entries) },
    { fid: SPLIT_NIR_FILE_ID, sfi: SFI_NIRS, content: padded(options.beneficiaries.map(nirRecord)) },
    { fid: SPLIT_CARD_FILE_ID, content: cardRecord(options.validFrom) },
  ];
  const mf: ElementaryFile[] = [
    { fid: FID_DIR, content: directory() },
    {
      fid: SPLIT_IDENTITY_FILE_ID,
      sfi: SFI_IDENTITIES,
      content: padded(options.beneficiaries.map(identityRecord)),
    },
  ];
  return {
    layout: "split",
    mf: fileMap(mf),
    vitale: fileMap(vitale),
    beneficiaryFiles: options.beneficiaries.map(() => SPLIT_NIR_FILE_ID),
  };
}
