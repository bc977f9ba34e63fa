/**
 * What is publicly known of the Vitale card (docs/cards.md "Vitale"; sources: pcsc-tools'
 * smartcard_list.txt for the ATRs, cardpeek's public reverse engineering for the application, the
 * pointer file and the data tags). The full layout (birth rank, régime, caisse, rights) is licensed
 * by GIE SESAM-Vitale and is NOT here: nothing below guesses a meaning for an unknown tag.
 */

import { recognizeCard } from "../recognize.ts";

/** The card table's generation label for Vitale 1 (cards/card-table.json). */
const VITALE1_TABLE_GENERATION = "Vitale 1";

/** Application "…VITALE": D2 50 00 00 02 + ASCII "VITALE". */
export const VITALE_AID = Uint8Array.of(0xd2, 0x50, 0x00, 0x00, 0x02, 0x56, 0x49, 0x54, 0x41, 0x4c, 0x45);
/** Application "…MF_VITALE" (DIR, PAN): listed in the pointer file, holds no beneficiary. */
export const VITALE_MF_AID = Uint8Array.of(
  0xd2,
  0x50,
  0x00,
  0x00,
  0x02,
  0x4d,
  0x46,
  0x5f,
  0x56,
  0x49,
  0x54,
  0x41,
  0x4c,
  0x45,
);

/** ISO/IEC 7816-4: the MF, selected by Rufus with `00 A4 00 00 02 3F 00`. */
export const MF_FID = Uint8Array.of(0x3f, 0x00);
/**
 * Rufus `lecteurvitale.cpp`: short file 2 of the MF holds the names and birth dates of the split
 * layout (`00 B0 82 00 00`). Its FID is not in any public source seen (issue #10 names D001).
 */
export const MF_IDENTITY_SFI = 2;
/** DIR and PAN, which cardpeek adds to the MF_VITALE application: no beneficiary in them. */
export const MF_FILES_WITHOUT_BENEFICIARY: ReadonlySet<number> = new Set([0x2f00, 0x2f02]);

/** EF "POINTERS" of the VITALE application: the directory of applications and data files. */
export const POINTER_FILE_ID = 0x2001;

/** Pointer file: E0 { A0 { 82 application… } 80 file… } */
export const TAG_POINTERS = 0xe0;
export const TAG_POINTER_APPLICATIONS = 0xa0;
/** Application entry: entry id (2) ‖ 2 bytes of unknown meaning ‖ AID. */
export const TAG_POINTER_APPLICATION = 0x82;
/** File entry: 8-character name ‖ entry id (2) ‖ FID (2). */
export const TAG_POINTER_FILE = 0x80;
export const POINTER_FILE_NAME_BYTES = 8;
export const POINTER_FILE_ENTRY_BYTES = POINTER_FILE_NAME_BYTES + 2 + 2;
export const POINTER_APPLICATION_MIN_BYTES = 2 + 2 + 5;

/** Data objects (cardpeek VITALE_IDO). */
export const TAG_BENEFICIARY = 0x65;
export const TAG_CARD = 0x66;
export const TAG_CARD_VALIDITY_START = 0x80;

/**
 * Which child tag of a beneficiary record (`65`) carries which field. `birthRank` has no public
 * tag: a licensed layout, or the lab's emulator layout, may name one; the default does not.
 */
export interface VitaleBeneficiaryLayout {
  readonly nir: number;
  readonly lastName: number;
  readonly firstName: number;
  /** ASCII YYYYMMDD; day or month may be 00 ("lunar" dates). */
  readonly birthDate: number;
  /** A 1-byte rank (1, 2… for twins). Absent from the public layout. */
  readonly birthRank?: number;
}

/** The public layout: cardpeek's `65/93`, `65/80`, `65/81`, `65/82`. `65/90` (nationality) stays raw. */
export const PUBLIC_BENEFICIARY_LAYOUT: VitaleBeneficiaryLayout = {
  nir: 0x93,
  lastName: 0x80,
  firstName: 0x81,
  birthDate: 0x82,
};

export type VitaleGeneration = "vitale1" | "vitale2";

/**
 * The Vitale generation an ATR names (the ATR table in cards/card-table.json, from pcsc-tools'
 * smartcard_list.txt), or undefined when it is not a known Vitale ATR. Vitale 2 has no TD1, so it
 * is T=0. Vitale 1 (Bull CP8, inverse convention `3F`) uses a proprietary command set (CLA BC)
 * whose data format was never published.
 */
export function vitaleGenerationOf(atr: Uint8Array): VitaleGeneration | undefined {
  const card = recognizeCard(atr);
  if (card.type !== "vitale") return undefined;
  return card.generation === VITALE1_TABLE_GENERATION ? "vitale1" : "vitale2";
}

/** Is this the ATR of a CPx (CPS3/CPS4) card? */
export function isCpxAtr(atr: Uint8Array): boolean {
  return recognizeCard(atr).type === "cps";
}
