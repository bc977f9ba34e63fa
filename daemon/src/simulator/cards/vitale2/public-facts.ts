/**
 * What public readers show of a Vitale 2 card, written down for the emulator on its own: the lab
 * copies the field, never the driver, so nothing here is imported from cards/vitale/.
 *
 * Sources (read, not copied):
 * - cardpeek `vitale_2.lua` (Debian `cardpeek-data`, /usr/share/cardpeek/vitale_2.lua): the two
 *   AIDs, the pointer file `2001` of the VITALE application and its `E0 { A0 { 82… } 80… }` shape,
 *   the data tags `65` (beneficiary) `90 93 80 81 82`, `66/80`; DIR `2F00` and PAN `2F02` added by
 *   the script to the MF_VITALE application; READ BINARY in 256-byte steps until a short answer.
 * - Rufus `lecteurvitale.cpp` (ukinoki/Rufus): `SELECT 3F00` (`00 A4 00 00 02 3F 00`), then
 *   `READ BINARY` of short file 2 (`00 B0 82 00 00`) gives `65 { 80 81 82 }` (names, birth date);
 *   `SELECT` the VITALE AID, `READ BINARY` of its short file 2 gives `65 { 93 }` (NIRs), matched
 *   with the first file's records by position; 1-byte tags and lengths, zero padding at the end.
 * Anything not in these sources is a lab choice and says so where it is defined (image.ts).
 */

const ascii = (text: string): number[] => Array.from(text, (char) => char.charCodeAt(0));

/** Application "…VITALE" (cardpeek AID_VITALE, Rufus). */
export const AID_VITALE = Uint8Array.of(0xd2, 0x50, 0x00, 0x00, 0x02, ...ascii("VITALE"));
/** Application "…MF_VITALE" (cardpeek AID_VITALE_MF): the MF's DF name in the lab (a guess). */
export const AID_MF_VITALE = Uint8Array.of(0xd2, 0x50, 0x00, 0x00, 0x02, ...ascii("MF_VITALE"));

/** ISO/IEC 7816-4: the MF; Rufus selects it by this FID. */
export const FID_MF = 0x3f00;
/** cardpeek: EF "POINTERS" of the VITALE application. */
export const FID_POINTERS = 0x2001;
/** cardpeek: DIR and PAN, which the script adds to the MF_VITALE application itself. */
export const FID_DIR = 0x2f00;
export const FID_PAN = 0x2f02;
/** Rufus: short file 2 of the MF holds the identities, short file 2 of VITALE the NIRs. */
export const SFI_IDENTITIES = 2;
export const SFI_NIRS = 2;

/** Pointer file (cardpeek create_card_map). */
export const TAG_POINTERS = 0xe0;
export const TAG_POINTER_APPLICATIONS = 0xa0;
/** entry id (2) ‖ 2 bytes cardpeek skips ‖ AID */
export const TAG_POINTER_APPLICATION = 0x82;
/** 8-character name ‖ entry id (2) ‖ FID (2) */
export const TAG_POINTER_FILE = 0x80;

/** Data objects (cardpeek VITALE_IDO; Rufus for 80/81/82/90/93). */
export const TAG_BENEFICIARY = 0x65;
export const TAG_CARD = 0x66;
export const TAG_CARD_VALIDITY_START = 0x80;
export const TAG_LAST_NAME = 0x80;
export const TAG_FIRST_NAME = 0x81;
export const TAG_BIRTH_DATE = 0x82;
export const TAG_NATIONALITY = 0x90;
export const TAG_NIR = 0x93;
