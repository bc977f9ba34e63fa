/**
 * Pure decoding of Vitale 2 files (bytes → values). No I/O: the reader fetches the bytes, these
 * functions give them meaning, and never more meaning than the public layout documents.
 */
import type { MethodResult } from "@passerelle/protocol";
import { isNirKeyValid, isNirShape, NIR_LENGTH } from "../../ins/index.ts";
import { decodeTlv, findTlv, tagHex, type TlvError, type TlvNode } from "../tlv.ts";
import {
  POINTER_APPLICATION_MIN_BYTES,
  POINTER_FILE_ENTRY_BYTES,
  POINTER_FILE_NAME_BYTES,
  TAG_BENEFICIARY,
  TAG_CARD,
  TAG_CARD_VALIDITY_START,
  TAG_POINTER_APPLICATION,
  TAG_POINTER_APPLICATIONS,
  TAG_POINTER_FILE,
  TAG_POINTERS,
  type VitaleBeneficiaryLayout,
} from "./layout.ts";

export type VitaleCardData = Omit<MethodResult<"vitale.read">, "readerId">;
export type VitaleBeneficiary = VitaleCardData["beneficiaries"][number];

/** More file entries than this in the pointer file is not a Vitale card we understand. */
export const MAX_POINTER_ENTRIES = 32;
/** A NIR with its key: 13 characters + 2 digits. */
const NIR_WITH_KEY_LENGTH = NIR_LENGTH + 2;
const BIRTH_DATE_PATTERN = /^([0-9]{4})([0-9]{2})([0-9]{2})$/;

export interface PointerApplication {
  readonly entry: number;
  readonly aid: Uint8Array;
}

export interface PointerFile {
  /** 8-character name from the pointer file, trimmed. Not personal data. */
  readonly name: string;
  readonly entry: number;
  readonly fid: number;
}

export interface PointerDirectory {
  readonly applications: readonly PointerApplication[];
  readonly files: readonly PointerFile[];
}

export type Decoded<T> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly problem: string };

function tlvProblem(error: TlvError): string {
  return `malformed TLV (${error.code} at offset ${error.offset})`;
}

/** Pointer file `2001`: `E0 { A0 { 82… } 80… }` (cardpeek create_card_map). */
export function decodePointerFile(bytes: Uint8Array): Decoded<PointerDirectory> {
  const tlv = decodeTlv(bytes, { trailingPadding: true });
  if (!tlv.ok) return { ok: false, problem: tlvProblem(tlv.error) };
  const [root, ...others] = tlv.nodes;
  if (root?.tag !== TAG_POINTERS || others.length > 0) {
    return { ok: false, problem: "pointer file is not one E0 object" };
  }
  const applications: PointerApplication[] = [];
  const files: PointerFile[] = [];
  for (const node of root.children) {
    if (node.tag === TAG_POINTER_APPLICATIONS) {
      for (const child of node.children) {
        if (child.tag !== TAG_POINTER_APPLICATION) continue;
        if (child.value.length < POINTER_APPLICATION_MIN_BYTES) {
          return { ok: false, problem: "pointer file: application entry too short" };
        }
        applications.push({ entry: readUint16(child.value, 0), aid: child.value.slice(4) });
      }
    } else if (node.tag === TAG_POINTER_FILE) {
      if (node.value.length !== POINTER_FILE_ENTRY_BYTES) {
        return { ok: false, problem: "pointer file: file entry is not 12 bytes" };
      }
      files.push({
        name: printableName(node.value.subarray(0, POINTER_FILE_NAME_BYTES)),
        entry: readUint16(node.value, POINTER_FILE_NAME_BYTES),
        fid: readUint16(node.value, POINTER_FILE_NAME_BYTES + 2),
      });
    }
    if (files.length + applications.length > MAX_POINTER_ENTRIES) {
      return { ok: false, problem: "pointer file: too many entries" };
    }
  }
  return { ok: true, value: { applications, files } };
}

/**
 * The fields of one `65` record as the card holds them, before any check: a record of the split
 * layout carries only some of them (the NIR under VITALE, the names and birth date in the MF), and
 * two such records are merged (`mergeRecords`) before they become a beneficiary.
 */
export interface BeneficiaryRecord {
  readonly nir?: string;
  readonly lastName?: string;
  readonly firstName?: string;
  readonly birthDate?: string;
  /** The birth-rank object's value bytes, when the layout names a tag for it. */
  readonly birthRank?: Uint8Array;
  /** Unknown and repeated tags: `tag hex` → `value hex`. */
  readonly raw?: Readonly<Record<string, string>>;
}

/** What one data file holds: beneficiary records, the card's validity start, or nothing we know. */
export interface DataFileContent {
  readonly records: readonly BeneficiaryRecord[];
  readonly validFrom?: string;
  /** File-level problems (no personal data), to become warnings. */
  readonly problems: readonly string[];
}

/**
 * A data file of the VITALE application or of the MF. Content that is not TLV at all (first byte
 * `00`, or `04 00`, which cardpeek also shows raw) holds nothing for us; malformed TLV is a problem.
 */
export function decodeDataFile(bytes: Uint8Array, layout: VitaleBeneficiaryLayout): Decoded<DataFileContent> {
  if (bytes.length === 0 || bytes[0] === 0x00 || (bytes[0] === 0x04 && bytes[1] === 0x00)) {
    return { ok: true, value: { records: [], problems: [] } };
  }
  const tlv = decodeTlv(bytes, { trailingPadding: true });
  if (!tlv.ok) return { ok: false, problem: tlvProblem(tlv.error) };
  const records: BeneficiaryRecord[] = [];
  const problems: string[] = [];
  let validFrom: string | undefined;
  for (const node of tlv.nodes) {
    if (node.tag === TAG_BENEFICIARY && node.constructed) {
      records.push(decodeRecord(node, layout));
    } else if (node.tag === TAG_CARD && node.constructed) {
      const start = findTlv(node.children, TAG_CARD_VALIDITY_START);
      if (start !== undefined) {
        const date = formatCardDate(latin1(start.value));
        if (date === undefined) problems.push("card validity start is not YYYYMMDD");
        else validFrom = date;
      }
    }
  }
  return {
    ok: true,
    value: validFrom === undefined ? { records, problems } : { records, validFrom, problems },
  };
}

/**
 * One `65` record's fields. The first object of each known tag is the field; anything else
 * (unknown tags, repeated known tags) is kept raw.
 */
export function decodeRecord(record: TlvNode, layout: VitaleBeneficiaryLayout): BeneficiaryRecord {
  const fields: { -readonly [K in keyof BeneficiaryRecord]: BeneficiaryRecord[K] } = {};
  let raw: Record<string, string> | undefined;
  for (const child of record.children) {
    const tag = child.tag;
    if (tag === layout.nir && fields.nir === undefined) fields.nir = latin1(child.value);
    else if (tag === layout.lastName && fields.lastName === undefined) fields.lastName = latin1(child.value);
    else if (tag === layout.firstName && fields.firstName === undefined)
      fields.firstName = latin1(child.value);
    else if (tag === layout.birthDate && fields.birthDate === undefined)
      fields.birthDate = latin1(child.value);
    else if (tag === layout.birthRank && fields.birthRank === undefined) fields.birthRank = child.value;
    else {
      raw ??= {};
      addRaw(raw, tagHex(tag), bytesHex(child.value));
    }
  }
  if (raw !== undefined) fields.raw = raw;
  return fields;
}

function addRaw(raw: Record<string, string>, base: string, value: string): void {
  let key = base;
  for (let n = 2; Object.hasOwn(raw, key); n += 1) key = `${base}#${n}`;
  raw[key] = value;
}

/** Does this record carry none of the identity fields (a NIR-only record of the split layout)? */
export function lacksIdentity(record: BeneficiaryRecord): boolean {
  return record.lastName === undefined && record.firstName === undefined && record.birthDate === undefined;
}

/**
 * Two records of the same beneficiary, matched by position (Rufus `lecteurvitale.cpp`): a field
 * of `primary` (the VITALE application's record) wins, `secondary` (the MF's) fills the gaps;
 * raw objects of both are kept.
 */
export function mergeRecords(primary: BeneficiaryRecord, secondary: BeneficiaryRecord): BeneficiaryRecord {
  const merged: { -readonly [K in keyof BeneficiaryRecord]: BeneficiaryRecord[K] } = {
    ...secondary,
    ...definedOnly(primary),
  };
  if (primary.raw !== undefined && secondary.raw !== undefined) {
    const raw: Record<string, string> = { ...primary.raw };
    for (const [key, value] of Object.entries(secondary.raw)) addRaw(raw, key.replace(/#[0-9]+$/, ""), value);
    merged.raw = raw;
  }
  return merged;
}

function definedOnly(record: BeneficiaryRecord): BeneficiaryRecord {
  return Object.fromEntries(Object.entries(record).filter(([, value]) => value !== undefined));
}

interface DecodedBeneficiary {
  readonly beneficiary: Omit<VitaleBeneficiary, "index">;
  readonly problems: readonly string[];
}

/** One `65` record as a beneficiary (see `toBeneficiary`). */
export function decodeBeneficiary(record: TlvNode, layout: VitaleBeneficiaryLayout): DecodedBeneficiary {
  return toBeneficiary(decodeRecord(record, layout), layout);
}

/**
 * A record (or a merged pair) as a beneficiary. Never drops it: a missing or malformed field
 * becomes an empty or raw string plus a problem, a NIR that fails its checks is marked
 * `nirValid: false`.
 */
export function toBeneficiary(
  record: BeneficiaryRecord,
  layout: VitaleBeneficiaryLayout,
): DecodedBeneficiary {
  const problems: string[] = [];
  const nir = splitNir(fieldText(record.nir, layout.nir, "NIR", problems).replaceAll(" ", ""));
  const birthText = fieldText(record.birthDate, layout.birthDate, "birth date", problems);
  const birthDate = formatBirthDate(birthText);
  if (birthDate === undefined && birthText !== "") problems.push("birth date is not YYYYMMDD");

  const beneficiary: {
    -readonly [K in keyof Omit<VitaleBeneficiary, "index">]: Omit<VitaleBeneficiary, "index">[K];
  } = {
    nir: nir.nir,
    nirValid: nir.valid,
    lastName: fieldText(record.lastName, layout.lastName, "last name", problems),
    firstName: fieldText(record.firstName, layout.firstName, "first name", problems),
    birthDate: birthDate ?? birthText,
  };
  if (nir.key !== undefined) beneficiary.nirKey = nir.key;
  if (record.birthRank !== undefined) {
    const rank = record.birthRank.length === 1 ? (record.birthRank[0] ?? 0) : 0;
    if (rank > 0) beneficiary.birthRank = rank;
    else problems.push(`birth rank (tag ${tagHex(layout.birthRank ?? 0)}) is not one byte from 1 to 255`);
  }
  if (record.raw !== undefined) beneficiary.raw = record.raw;
  return { beneficiary, problems };
}

function fieldText(value: string | undefined, tag: number, label: string, problems: string[]): string {
  if (value !== undefined) return value;
  problems.push(`no ${label} (tag ${tagHex(tag)})`);
  return "";
}

function bytesHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString("hex").toUpperCase();
}

interface SplitNir {
  readonly nir: string;
  readonly key?: string;
  readonly valid: boolean;
}

/**
 * 15 characters: NIR + key, the key is checked (INS rules, Corsica 2A/2B). 13 characters: no key
 * on the card, only the shape can be checked. Anything else is kept as read and marked invalid.
 */
export function splitNir(text: string): SplitNir {
  if (text.length === NIR_WITH_KEY_LENGTH) {
    const nir = text.slice(0, NIR_LENGTH);
    const key = text.slice(NIR_LENGTH);
    return { nir, key, valid: isNirKeyValid(nir, key) };
  }
  if (text.length === NIR_LENGTH) return { nir: text, valid: isNirShape(text) };
  return { nir: text, valid: false };
}

/** `YYYYMMDD` → `YYYY-MM-DD`, digits kept as they are: a lunar `00` day or month stays `00`. */
export function formatBirthDate(text: string): string | undefined {
  const match = BIRTH_DATE_PATTERN.exec(text);
  return match === null ? undefined : `${match[1]}-${match[2]}-${match[3]}`;
}

function formatCardDate(text: string): string | undefined {
  return formatBirthDate(text);
}

/**
 * Card text is 8-bit (ISO 8859-1, as the "Adèle" AID shows). Padding (`00`, `FF`, spaces) at
 * either end is not part of the value.
 */
export function latin1(bytes: Uint8Array): string {
  let start = 0;
  let end = bytes.length;
  while (start < end && TEXT_PADDING.has(bytes[start] ?? 0)) start += 1;
  while (end > start && TEXT_PADDING.has(bytes[end - 1] ?? 0)) end -= 1;
  let text = "";
  for (let i = start; i < end; i += 1) text += String.fromCharCode(bytes[i] ?? 0);
  return text;
}

const TEXT_PADDING = new Set([0x00, 0xff, 0x20]);

/** A file name for warnings: printable ASCII only, whatever bytes the card holds. */
function printableName(bytes: Uint8Array): string {
  let name = "";
  for (const byte of bytes) name += byte >= 0x20 && byte < 0x7f ? String.fromCharCode(byte) : " ";
  return name.trim();
}

function readUint16(bytes: Uint8Array, offset: number): number {
  return ((bytes[offset] ?? 0) << 8) | (bytes[offset + 1] ?? 0);
}
