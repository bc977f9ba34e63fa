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
import type { CardChannel, CommandApdu, ResponseApdu } from "../../pcsc/apdu.ts";
import { SW_OK } from "../../pcsc/apdu.ts";
import { isPasserelleError, PasserelleError } from "../../errors.ts";
import {
  decodeDataFile,
  decodePointerFile,
  lacksIdentity,
  mergeRecords,
  toBeneficiary,
  type BeneficiaryRecord,
  type DataFileContent,
  type PointerFile,
  type VitaleBeneficiary,
  type VitaleCardData,
} from "./decode.ts";
import {
  MF_FID,
  MF_FILES_WITHOUT_BENEFICIARY,
  MF_IDENTITY_SFI,
  POINTER_FILE_ID,
  PUBLIC_BENEFICIARY_LAYOUT,
  VITALE_AID,
  VITALE_MF_AID,
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

/** `details.step` of a CARD_ERROR: which part of the read the card broke. */
export const STEP_SELECT_APPLICATION = "select application";
export const STEP_POINTER_FILE = "pointer file";
/** The split layout's names and birth dates in the MF. Data files are named `file <FID> (<name>)`. */
export const STEP_MF_IDENTITIES = "MF identities";

/**
 * One command of the read. A card answer the PC/SC layer could not make sense of (no status word,
 * an impossible one, an endless 61xx loop…) is a CARD_ERROR there; here it gets the step it broke
 * (`details.step`), so the web app and the logs say where. Other errors (CARD_REMOVED…) pass as is.
 */
async function transmitAt(card: CardChannel, step: string, command: CommandApdu): Promise<ResponseApdu> {
  try {
    return await card.transmit(command);
  } catch (error) {
    if (isPasserelleError(error, "CARD_ERROR") && error.details["step"] === undefined) {
      throw new PasserelleError(
        "CARD_ERROR",
        `Vitale ${step}: ${error.message}`,
        { ...error.details, step },
        error,
      );
    }
    throw error;
  }
}

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

  const selected = await transmitAt(card, STEP_SELECT_APPLICATION, selectApplication(VITALE_AID));
  if (selected.sw !== SW_OK) {
    if (SW_NO_APPLICATION.has(selected.sw)) {
      throw new PasserelleError("WRONG_CARD", "no Vitale application on this card", {
        sw: swHex(selected.sw),
      });
    }
    throw new PasserelleError("CARD_ERROR", "the card refused to select the Vitale application", {
      step: STEP_SELECT_APPLICATION,
      sw: swHex(selected.sw),
    });
  }

  const pointer = await readFile(card, { fid: POINTER_FILE_ID }, STEP_POINTER_FILE);
  if (!pointer.ok) {
    throw new PasserelleError(
      "CARD_ERROR",
      `Vitale pointer file ${fidHex(POINTER_FILE_ID)}: ${pointer.problem}`,
      {
        step: STEP_POINTER_FILE,
        file: fidHex(POINTER_FILE_ID),
        ...(pointer.sw === undefined ? {} : { sw: swHex(pointer.sw) }),
      },
    );
  }
  const directory = decodePointerFile(pointer.bytes);
  if (!directory.ok) {
    throw new PasserelleError("CARD_ERROR", `Vitale pointer file: ${directory.problem}`, {
      step: STEP_POINTER_FILE,
      file: fidHex(POINTER_FILE_ID),
    });
  }

  const entryOf = (aid: Uint8Array): number | undefined =>
    directory.value.applications.find((entry) => sameBytes(entry.aid, aid))?.entry;
  const vitaleEntry = entryOf(VITALE_AID);
  const mfEntry = entryOf(VITALE_MF_AID);
  const warnings: string[] = [];
  const vitaleFiles: PointerFile[] = [];
  const identityFiles: PointerFile[] = [];
  for (const file of directory.value.files) {
    if (vitaleEntry !== undefined && file.entry === vitaleEntry && file.fid !== POINTER_FILE_ID) {
      vitaleFiles.push(file);
    } else if (
      mfEntry !== undefined &&
      file.entry === mfEntry &&
      !MF_FILES_WITHOUT_BENEFICIARY.has(file.fid)
    ) {
      identityFiles.push(file);
    }
  }
  if (vitaleFiles.length === 0)
    warnings.push("the pointer file lists no data file of the Vitale application");

  const read = await readDataFiles(card, vitaleFiles, layout, warnings);
  let records: readonly LabelledRecord[] = read.records;
  // The split layout (Rufus): the VITALE application holds NIR-only records, the names and birth
  // dates are in the MF. Read them only then, so the single layout costs no extra command.
  if (
    records.some((entry) => lacksIdentity(entry.record)) ||
    (records.length === 0 && identityFiles.length > 0)
  ) {
    const identities = await readIdentities(card, identityFiles, layout, warnings);
    records = matchByPosition(records, identities, warnings);
  }

  const beneficiaries: VitaleBeneficiary[] = [];
  for (const { label, record } of records) {
    if (beneficiaries.length >= MAX_BENEFICIARIES) {
      warnings.push(`more than ${MAX_BENEFICIARIES} beneficiaries, the rest is ignored`);
      break;
    }
    const decoded = toBeneficiary(record, layout);
    beneficiaries.push({ index: beneficiaries.length, ...decoded.beneficiary });
    warnings.push(...decoded.problems.map((problem) => `${label}: ${problem}`));
  }

  const result: VitaleCardData = {
    card: {
      generation: "vitale2",
      reader: PUBLIC_LAYOUT_READER_NAME,
      ...(read.validFrom === undefined ? {} : { validFrom: read.validFrom }),
    },
    beneficiaries,
  };
  return warnings.length === 0 ? result : { ...result, warnings };
}

/** One `65` record and where it came from (for warnings: a file name, never personal data). */
interface LabelledRecord {
  readonly label: string;
  readonly record: BeneficiaryRecord;
}

async function readDataFiles(
  card: CardChannel,
  files: readonly PointerFile[],
  layout: VitaleBeneficiaryLayout,
  warnings: string[],
): Promise<{ records: LabelledRecord[]; validFrom?: string }> {
  const records: LabelledRecord[] = [];
  let validFrom: string | undefined;
  for (const file of files) {
    const label = `file ${fidHex(file.fid)} (${file.name})`;
    const content = await readDataFile(card, { fid: file.fid }, label, layout, warnings);
    if (content === undefined) continue;
    for (const record of content.records) {
      if (records.length > MAX_BENEFICIARIES) break;
      records.push({ label, record });
    }
    validFrom ??= content.validFrom;
  }
  return validFrom === undefined ? { records } : { records, validFrom };
}

async function readDataFile(
  card: CardChannel,
  target: FileTarget,
  label: string,
  layout: VitaleBeneficiaryLayout,
  warnings: string[],
): Promise<DataFileContent | undefined> {
  const read = await readFile(card, target, label);
  if (!read.ok) {
    warnings.push(`${label}: ${read.problem}`);
    return undefined;
  }
  const content = decodeDataFile(read.bytes, layout);
  if (!content.ok) {
    warnings.push(`${label}: ${content.problem}`);
    return undefined;
  }
  warnings.push(...content.value.problems.map((problem) => `${label}: ${problem}`));
  return content.value;
}

/**
 * The names and birth dates of the split layout, from the MF: the files the pointer file lists
 * for the MF_VITALE application (cardpeek reads every application's files), else short file 2 of
 * the MF (Rufus: `00 A4 00 00 02 3F 00`, `00 B0 82 00 00`). A failure is a warning: the NIRs are
 * still returned.
 */
async function readIdentities(
  card: CardChannel,
  listed: readonly PointerFile[],
  layout: VitaleBeneficiaryLayout,
  warnings: string[],
): Promise<LabelledRecord[]> {
  if (listed.length > 0) {
    const selected = await transmitAt(card, STEP_MF_IDENTITIES, selectApplication(VITALE_MF_AID));
    if (selected.sw !== SW_OK) {
      warnings.push(`SELECT of the MF_VITALE application answered status ${swHex(selected.sw)}`);
      return [];
    }
    return (await readDataFiles(card, listed, layout, warnings)).records;
  }
  const selected = await transmitAt(card, STEP_MF_IDENTITIES, {
    cla: 0x00,
    ins: 0xa4,
    p1: 0x00,
    p2: 0x00,
    data: MF_FID,
  });
  if (selected.sw !== SW_OK) {
    warnings.push(`SELECT of the MF answered status ${swHex(selected.sw)}`);
    return [];
  }
  const label = `MF short file ${MF_IDENTITY_SFI}`;
  const content = await readDataFile(card, { sfi: MF_IDENTITY_SFI }, label, layout, warnings);
  return content?.records.slice(0, MAX_BENEFICIARIES + 1).map((record) => ({ label, record })) ?? [];
}

/** Merges the VITALE records with the MF's identities by position; never drops either side. */
function matchByPosition(
  nirs: readonly LabelledRecord[],
  identities: readonly LabelledRecord[],
  warnings: string[],
): LabelledRecord[] {
  if (nirs.length !== identities.length) {
    warnings.push(
      `the Vitale application holds ${nirs.length} beneficiary records and the MF ${identities.length}: matched by position`,
    );
  }
  const merged: LabelledRecord[] = [];
  for (let i = 0; i < Math.max(nirs.length, identities.length); i += 1) {
    const nir = nirs[i];
    const identity = identities[i];
    if (nir !== undefined && identity !== undefined) {
      merged.push({ label: nir.label, record: mergeRecords(nir.record, identity.record) });
    } else if (nir !== undefined) merged.push(nir);
    else if (identity !== undefined) merged.push(identity);
  }
  return merged;
}

/** SELECT by AID, FCI asked and ignored (cardpeek's form: `00 A4 04 00 Lc AID 00`). */
function selectApplication(aid: Uint8Array): CommandApdu {
  return { cla: 0x00, ins: 0xa4, p1: 0x04, p2: 0x00, data: aid, le: 256 };
}

type FileRead =
  | { readonly ok: true; readonly bytes: Uint8Array }
  | { readonly ok: false; readonly problem: string; readonly sw?: number };

/** A file to read: selected by FID in the current DF, or addressed by its short EF identifier. */
type FileTarget = { readonly fid: number } | { readonly sfi: number };

/**
 * SELECT (by FID, no FCI) then READ BINARY in chunks until a short chunk or the end of file; or,
 * for a short EF identifier, a first READ BINARY with the SFI in P1 (which makes the file current,
 * ISO/IEC 7816-4 §11.2.2) and the next chunks by offset.
 */
async function readFile(card: CardChannel, target: FileTarget, step: string): Promise<FileRead> {
  if ("fid" in target) {
    const selected = await transmitAt(card, step, {
      cla: 0x00,
      ins: 0xa4,
      p1: 0x02,
      p2: 0x0c,
      data: Uint8Array.of(target.fid >> 8, target.fid & 0xff),
    });
    if (selected.sw === SW_FILE_NOT_FOUND)
      return { ok: false, problem: "listed but not on the card (6A82)", sw: selected.sw };
    if (selected.sw !== SW_OK) return statusProblem("SELECT", selected);
  }

  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const bySfi = size === 0 && "sfi" in target;
    const response = await transmitAt(card, step, {
      cla: 0x00,
      ins: 0xb0,
      p1: bySfi ? 0x80 | target.sfi : (size >> 8) & 0x7f,
      p2: bySfi ? 0 : size & 0xff,
      le: READ_CHUNK_BYTES,
    });
    if (response.sw === SW_WRONG_OFFSET && size > 0) break; // the file ended exactly on a chunk
    if (bySfi && response.sw === SW_FILE_NOT_FOUND)
      return { ok: false, problem: "not on the card (6A82)", sw: response.sw };
    if (response.sw !== SW_OK && response.sw !== SW_END_OF_FILE)
      return statusProblem("READ BINARY", response);
    if (response.data.length > READ_CHUNK_BYTES)
      return {
        ok: false,
        problem: `READ BINARY answered ${response.data.length} bytes for ${READ_CHUNK_BYTES}`,
      };
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
