/**
 * The bytes real CPx cards exchanged in published logs, as test fixtures (data, quoted from public
 * issues; the parts the issues elide are left out, never invented):
 * - OpenSC issue #2275 (vjardin, 2021-03-28), a real CPx driven by "the supplier's PKCS11 driver"
 *   (the ANS middleware): EF.SN.ICC, a missing file, the application DF, the PIN counter;
 * - OpenSC issue #2223 (vjardin, 2021-02-07), the same kind of card driven by OpenSC's iasecc-tool:
 *   EF.ATR, the root AID, EF.DIR's FCP (its READ BINARY answer is cut off in the issue).
 * In the logs' own form (`APDU:` / `SW:`), read by the replay card's parseTrace.
 */
import { parseTrace } from "../../../src/simulator/cards/replay/index.ts";

export const ISSUE_2275_CRYPTOLIB = parseTrace(`
APDU: 00 A4 09 04 04 3F 00 D0 03
SW: 61 27
APDU: 00 C0 00 00 27
SW: 62 25 80 02 00 0C 82 01 01 83 02 D0 03 88 01 E0 A1 12 8C 07 7B FF FF FF FF FF 00 9C 07 7B FF FF FF FF FF 00 8A 01 05 90 00
APDU: 00 B0 00 00 0C
SW: 5A 0A 80 25 00 00 01 99 21 38 45 0F 90 00
APDU: 00 A4 09 04 04 3F 00 D0 10
SW: 6A 82
APDU: 00 A4 09 04 04 3F 00 D0 10
SW: 6A 82
APDU: 00 A4 09 0C 04 3F 00 00 01
SW: 90 00
APDU: 00 A4 09 0C 02 3F 00
SW: 90 00
APDU: 00 CB 3F FF 0A 4D 08 70 06 BF 81 01 02 A0 80
SW: 61 18
APDU: 00 C0 00 00 18
SW: 70 16 BF 81 01 12 A0 10 9A 01 03 9B 01 03 A1 08 8C 06 F3 00 00 13 FF 00 90 00
APDU: 00 A4 09 0C 02 3F 00
SW: 90 00
`);

/** The serial in #2275's EF.SN.ICC (after the ANS issuer number 80 25 00 00 01). */
export const ISSUE_2275_SERIAL = Uint8Array.of(0x99, 0x21, 0x38, 0x45, 0x0f);

export const ISSUE_2223_OPENSC = parseTrace(`
APDU: 00 A4 00 0C 02 3F 00
SW: 90 00
APDU: 00 A4 09 04 02 2F 01
SW: 61 27
APDU: 00 C0 00 00 27
SW: 62 25 80 02 00 39 82 01 01 83 02 2F 01 88 01 E8 A1 12 8C 07 7B 45 FF FF FF 45 00 9C 07 7B FF FF FF FF FF 00 8A 01 05 90 00
APDU: 00 B0 00 00 39
SW: 80 43 01 B8 46 04 04 B0 EC C1 47 03 94 01 80 4F 08 80 25 00 00 01 FF 01 00 E0 10 02 02 01 04 02 02 01 04 02 02 01 00 02 02 01 00 78 08 06 06 2B 81 22 F8 78 02 82 02 90 00 90 00
APDU: 00 A4 04 00 08 80 25 00 00 01 FF 01 00
SW: 90 00
APDU: 00 A4 09 04 02 2F 00
SW: 61 27
APDU: 00 C0 00 00 27
SW: 62 25 80 02 00 65 82 01 01 83 02 2F 00 88 01 F0 A1 12 8C 07 7B 45 FF FF FF 45 00 9C 07 7B FF FF FF FF FF 00 8A 01 05 90 00
`);
