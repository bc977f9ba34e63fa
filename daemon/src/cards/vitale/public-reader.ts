/**
 * The default VitaleReader: reads a Vitale 2 card with plain ISO 7816-4 commands, following only
 * the publicly documented layout (layout.ts). Display-only, best effort: it is not the GIE's
 * approved reading component and must not be presented as one (docs/cards.md "Vitale").
 *
 * Sequence: SELECT the VITALE application → SELECT + READ BINARY the pointer file `2001` → SELECT
 * + READ BINARY every data file the pointer file lists for that application. T=0 details (61xx,
 * 6Cxx) are the CardChannel's job. A status error or malformed content in one data file becomes a
 * warning and the other files are still read; a transport error (card pulled, reader gone)
 * propagates as the CardChannel's PasserelleError.
 */
import type { CardChannel, ResponseApdu } from "../../pcsc/apdu.ts";
import { SW_OK } from "../../pcsc/apdu.ts";
import { PasserelleError } from "../../errors.ts";
import {
  decodeDataFile,
  decodePointerFile,
  type PointerFile,
  type VitaleBeneficiary,
  type VitaleCardData,
} from "./decode.ts";
import {
  POINTER_FILE_ID,
  PUBLIC_BENEFICIARY_LAYOUT,
  VITALE_AID,
  vitaleGenerationOf,
  type VitaleBeneficiaryLayout,
} from "./layout.ts";
import type { VitaleReader } from "./reader.ts";

/** READ BINARY chunk: the short-APDU maximum (Le = 00). A shorter answer means end of file. */
export const READ_CHUNK_BYTES = 256;
/** Largest data file we read; READ BINARY offsets stop at 0x7FFF anyway (P1 bit 8 = 0). */
export const MAX_FILE_BYTES = 8 * 1024;
/** The protocol's beneficiaryIndex goes up to 20: more records than that cannot be addressed. */
export const MAX_BENEFICIARIES = 21;

const SW_END_OF_FILE = 0x6282;
const SW_WRONG_OFFSET = 0x6b00;
/** SELECT of the application: what a card without it answers (ISO 7816-4 §5.6). */
const SW_NO_APPLICATION = new Set([0x6a82, 0x6a81, 0x6a86, 0x6d00, 0x6e00]);
const SW_FILE_NOT_FOUND = 0x6a82;

export interface PublicLayoutReaderOptions {
  /** Which beneficiary tags mean what; the public layout by default. */
  readonly layout?: VitaleBeneficiaryLayout;
}

export const PUBLIC_LAYOUT_READER_NAME = "public-layout";

export function createPublicLayoutVitaleReader(options: PublicLayoutReaderOptions = {}): VitaleReader {
  const layout = options.layout ?? PUBLIC_BENEFICIARY_LAYOUT;
  return {
    name: PUBLIC_LAYOUT_READER_NAME,
    read: (card) => readPublicLayout(card, layout),
  };
}

function swHex(sw: number): string {
  return sw.toString(16).toUpperCase().padStart(4, "0");
}

function fidHex(fid: number): string {
  return fid.toString(16).toUpperCase().padStart(4, "0");
}

async function readPublicLayout(card: CardChannel, layout: VitaleBeneficiaryLayout): Promise<VitaleCardData> {
  if (vitaleGenerationOf(card.atr) === "vitale1") {
    throw new PasserelleError(
      "WRONG_CARD",
      "this is a Vitale 1 card: that card generation is not supported (only Vitale 2 can be read)",
      { cardType: "vitale", generation: "vitale1" },
    );
  }

  const selected = await card.transmit({
    cla: 0x00,
    ins: 0xa4,
    p1: 0x04,
    p2: 0x00,
    data: VITALE_AID,
    le: 256,
  });
  if (selected.sw !== SW_OK) {
    if (SW_NO_APPLICATION.has(selected.sw)) {
      throw new PasserelleError("WRONG_CARD", "no Vitale application on this card", {
        sw: swHex(selected.sw),
      });
    }
    throw new PasserelleError("CARD_ERROR", "the card refused to select the Vitale application", {
      sw: swHex(selected.sw),
    });
  }

  const pointer = await readFile(card, POINTER_FILE_ID);
  if (!pointer.ok) {
    throw new PasserelleError(
      "CARD_ERROR",
      `Vitale pointer file ${fidHex(POINTER_FILE_ID)}: ${pointer.problem}`,
      {
        file: fidHex(POINTER_FILE_ID),
        ...(pointer.sw === undefined ? {} : { sw: swHex(pointer.sw) }),
      },
    );
  }
  const directory = decodePointerFile(pointer.bytes);
  if (!directory.ok) {
    throw new PasserelleError("CARD_ERROR", `Vitale pointer file: ${directory.problem}`, {
      file: fidHex(POINTER_FILE_ID),
    });
  }

  const application = directory.value.applications.find((entry) => sameBytes(entry.aid, VITALE_AID));
  const warnings: string[] = [];
  const files: PointerFile[] = [];
  for (const file of directory.value.files) {
    // Files of other applications (MF_VITALE: DIR, PAN) hold no beneficiary: not read.
    if (application === undefined || file.entry !== application.entry) continue;
    if (file.fid === POINTER_FILE_ID) continue;
    files.push(file);
  }
  if (files.length === 0) warnings.push("the pointer file lists no data file of the Vitale application");

  const beneficiaries: VitaleBeneficiary[] = [];
  let validFrom: string | undefined;
  for (const file of files) {
    const label = `file ${fidHex(file.fid)} (${file.name})`;
    const read = await readFile(card, file.fid);
    if (!read.ok) {
      warnings.push(`${label}: ${read.problem}`);
      continue;
    }
    const content = decodeDataFile(read.bytes, layout);
    if (!content.ok) {
      warnings.push(`${label}: ${content.problem}`);
      continue;
    }
    for (const beneficiary of content.value.beneficiaries) {
      if (beneficiaries.length >= MAX_BENEFICIARIES) {
        warnings.push(`${label}: more than ${MAX_BENEFICIARIES} beneficiaries, the rest is ignored`);
        break;
      }
      beneficiaries.push({ index: beneficiaries.length, ...beneficiary });
    }
    warnings.push(...content.value.problems.map((problem) => `${label}: ${problem}`));
    validFrom ??= content.value.validFrom;
  }

  const result: VitaleCardData = {
    card: {
      generation: "vitale2",
      reader: PUBLIC_LAYOUT_READER_NAME,
      ...(validFrom === undefined ? {} : { validFrom }),
    },
    beneficiaries,
  };
  return warnings.length === 0 ? result : { ...result, warnings };
}

type FileRead =
  | { readonly ok: true; readonly bytes: Uint8Array }
  | { readonly ok: false; readonly problem: string; readonly sw?: number };

/** SELECT (by FID, no FCI) then READ BINARY in chunks until a short chunk or the end of file. */
async function readFile(card: CardChannel, fid: number): Promise<FileRead> {
  const selected = await card.transmit({
    cla: 0x00,
    ins: 0xa4,
    p1: 0x02,
    p2: 0x0c,
    data: Uint8Array.of(fid >> 8, fid & 0xff),
  });
  if (selected.sw === SW_FILE_NOT_FOUND)
    return { ok: false, problem: "listed but not on the card (6A82)", sw: selected.sw };
  if (selected.sw !== SW_OK) return statusProblem("SELECT", selected);

  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const response = await card.transmit({
      cla: 0x00,
      ins: 0xb0,
      p1: (size >> 8) & 0x7f,
      p2: size & 0xff,
      le: READ_CHUNK_BYTES,
    });
    if (response.sw === SW_WRONG_OFFSET && size > 0) break; // the file ended exactly on a chunk
    if (response.sw !== SW_OK && response.sw !== SW_END_OF_FILE)
      return statusProblem("READ BINARY", response);
    chunks.push(response.data);
    size += response.data.length;
    if (size > MAX_FILE_BYTES) return { ok: false, problem: `larger than ${MAX_FILE_BYTES} bytes` };
    if (response.sw === SW_END_OF_FILE || response.data.length < READ_CHUNK_BYTES) break;
  }
  if (chunks.length === 1 && chunks[0] !== undefined) return { ok: true, bytes: chunks[0] };
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.length;
  }
  return { ok: true, bytes };
}

function statusProblem(command: string, response: ResponseApdu): FileRead {
  return { ok: false, problem: `${command} answered status ${swHex(response.sw)}`, sw: response.sw };
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}
