/**
 * Vitale 2 file contents written by hand, byte by byte, from what the public readers parse — not
 * from the lab's image builder and not from our driver:
 * - Rufus `lecteurvitale.cpp` (`pourChaquePorteur`, `sousTag`): a file is a run of `65` templates
 *   with 1-byte tags and 1-byte lengths, and may end with zero padding; MF short file 2 holds
 *   `80` last name, `81` first name, `82` birth date (AAAAMMJJ); VITALE short file 2 holds `93`,
 *   the 15-character NIR with its key; the two are matched by position.
 * - cardpeek `vitale_2.lua` (`create_card_map`): the pointer file `2001` is
 *   `E0 { A0 { 82 <entry:2> <2 bytes> <AID> … } 80 <name:8> <entry:2> <FID:2> … }`.
 * The people are fictional; the NIR keys were computed (97 − N mod 97) when this was written.
 * Which FIDs hold these files on a real card is not public (D001 is issue #10's word, a guess).
 */

const hex = (text: string): Uint8Array => Uint8Array.from(Buffer.from(text.replace(/\s+/g, ""), "hex"));

/** The three beneficiaries, as a reader should return them. */
export const PUBLIC_FIXTURE_PEOPLE = [
  { nir: "2900575056123", nirKey: "84", lastName: "MARTIN", firstName: "CAMILLE", birthDate: "1990-05-21" },
  { nir: "2900575056123", nirKey: "84", lastName: "MARTIN", firstName: "LEO", birthDate: "2020-01-01" },
  { nir: "1880369123045", nirKey: "79", lastName: "BERNARD", firstName: "HUGO", birthDate: "1988-03-00" },
] as const;

/** MF short file 2 (Rufus): three `65 { 80 81 82 }` records, then zero padding. */
export const MF_IDENTITIES = hex(`
  65 1B 80 06 4D415254494E 81 07 43414D494C4C45 82 08 3139393030353231
  65 17 80 06 4D415254494E 81 03 4C454F         82 08 3230323030313031
  65 19 80 07 4245524E415244 81 04 4855474F     82 08 3139383830333030
  00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
`);

/** VITALE short file 2 (Rufus): three `65 { 93 }` records, same order, then zero padding. */
export const VITALE_NIRS = hex(`
  65 11 93 0F 323930303537353035363132333834
  65 11 93 0F 323930303537353035363132333834
  65 11 93 0F 313838303336393132333034353739
  00 00 00 00 00 00 00 00
`);

/**
 * Pointer file (cardpeek's shape): applications VITALE (entry 1) and MF_VITALE (entry 2); files
 * CARTE 2003 and NIR 2002 of VITALE, IDENT D001 of MF_VITALE.
 */
export const POINTERS_SPLIT = hex(`
  E0 51
    A0 25
      82 0F 0001 0000 D250000002564954414C45
      82 12 0002 0000 D2500000024D465F564954414C45
    80 0C 4341525445202020 0001 2003
    80 0C 4E49522020202020 0001 2002
    80 0C 4944454E54202020 0002 D001
`);
