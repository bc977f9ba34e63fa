/**
 * The PKCS#15 directory files of the CPx IAS application (ISO/IEC 7816-15, PKCS#15 v1.1): ODF,
 * CDF, PrKDF, AODF. Pure parsers over the shared BER-TLV codec; anything malformed is a Pkcs15Error
 * that the driver turns into CARD_ERROR.
 */
import { decodeTlv, findTlv, type TlvNode } from "../tlv.ts";

export class Pkcs15Error extends Error {
  override readonly name = "Pkcs15Error";
}

/** Tags of the ODF's choices (PKCS#15 v1.1 §6.2). */
export const ODF_TAG = { privateKeys: 0xa0, certificates: 0xa4, authObjects: 0xa8 } as const;

/** KeyUsageFlags bit 9 (PKCS#15 v1.1 §6.4): the signature ("non-repudiation") key. */
const KEY_USAGE_NON_REPUDIATION = 9;
const KEY_USAGE_SIGN = 2;

export interface Odf {
  /** Absolute paths (with 3F00) of each directory file. */
  readonly privateKeys: Uint8Array[];
  readonly certificates: Uint8Array[];
  readonly authObjects: Uint8Array[];
}

export interface CertificateEntry {
  readonly label: string;
  readonly id: Uint8Array;
  readonly path: Uint8Array;
}

export interface PrivateKeyEntry {
  readonly label: string;
  readonly id: Uint8Array;
  readonly keyReference: number;
  readonly nonRepudiation: boolean;
  readonly sign: boolean;
  readonly modulusBits?: number;
}

export interface PinEntry {
  readonly label: string;
  readonly reference: number;
  readonly minLength: number;
  readonly maxLength: number;
  readonly storedLength: number;
  /** 0 bcd, 1 ascii-numeric, 2 utf8 (PKCS#15 PinType). */
  readonly type: number;
  readonly padChar: number;
  readonly needsPadding: boolean;
}

function decode(bytes: Uint8Array, what: string): readonly TlvNode[] {
  const result = decodeTlv(bytes, { trailingPadding: true });
  if (!result.ok) throw new Pkcs15Error(`${what}: ${result.error.code} at ${result.error.offset}`);
  return result.nodes;
}

function need(node: TlvNode | undefined, what: string): TlvNode {
  if (!node) throw new Pkcs15Error(`${what} missing`);
  return node;
}

function unsigned(node: TlvNode, what: string): number {
  if (node.value.length === 0 || node.value.length > 4) throw new Pkcs15Error(`${what}: bad integer`);
  let n = 0;
  for (const b of node.value) n = n * 256 + b;
  return n;
}

function utf8(node: TlvNode | undefined): string {
  return node ? new TextDecoder().decode(node.value) : "";
}

/** A PKCS15Path `30 { 04 path … }` → the path bytes. */
function pathOf(node: TlvNode, what: string): Uint8Array {
  if (node.tag !== 0x30) throw new Pkcs15Error(`${what}: path is not a SEQUENCE`);
  const octets = need(findTlv(node.children, 0x04), `${what} path`).value;
  if (octets.length === 0 || octets.length % 2 !== 0) throw new Pkcs15Error(`${what}: odd path`);
  return octets;
}

/** Makes a path absolute: paths in the ODF/CDF may be relative to the application DF. */
export function absolutePath(path: Uint8Array, applicationPath: Uint8Array): Uint8Array {
  if (path[0] === 0x3f && path[1] === 0x00) return path;
  const out = new Uint8Array(applicationPath.length + path.length);
  out.set(applicationPath);
  out.set(path, applicationPath.length);
  return out;
}

function bitSet(bitString: TlvNode, bit: number): boolean {
  // BIT STRING: first byte = unused bits, then bits numbered from the MSB of the first data byte.
  const byte = bitString.value[1 + (bit >> 3)];
  return byte !== undefined && (byte & (0x80 >> (bit & 7))) !== 0;
}

export function parseOdf(bytes: Uint8Array, applicationPath: Uint8Array): Odf {
  const odf: Odf = { privateKeys: [], certificates: [], authObjects: [] };
  for (const node of decode(bytes, "ODF")) {
    const target =
      node.tag === ODF_TAG.privateKeys
        ? odf.privateKeys
        : node.tag === ODF_TAG.certificates
          ? odf.certificates
          : node.tag === ODF_TAG.authObjects
            ? odf.authObjects
            : undefined;
    if (!target) continue;
    const path = need(node.children[0], "ODF entry path");
    target.push(absolutePath(pathOf(path, "ODF entry"), applicationPath));
  }
  return odf;
}

/** CDF: x509Certificate entries (`30`), other certificate types are skipped. */
export function parseCdf(bytes: Uint8Array, applicationPath: Uint8Array): CertificateEntry[] {
  const out: CertificateEntry[] = [];
  for (const entry of decode(bytes, "CDF")) {
    if (entry.tag !== 0x30) continue;
    const [common, certCommon, typed] = entry.children;
    const id = need(
      findTlv(need(certCommon, "CommonCertificateAttributes").children, 0x04),
      "certificate iD",
    );
    const typeAttributes = need(
      typed?.tag === 0xa1 ? typed : findTlv(entry.children, 0xa1),
      "X509CertificateAttributes",
    );
    const x509 = need(typeAttributes.children[0], "X509CertificateAttributes");
    const value = need(x509.children[0], "certificate value");
    out.push({
      label: utf8(findTlv(common?.children ?? [], 0x0c)),
      id: id.value,
      path: absolutePath(pathOf(value, "certificate"), applicationPath),
    });
  }
  return out;
}

/** PrKDF: privateRSAKey entries (`30`). */
export function parsePrkdf(bytes: Uint8Array): PrivateKeyEntry[] {
  const out: PrivateKeyEntry[] = [];
  for (const entry of decode(bytes, "PrKDF")) {
    if (entry.tag !== 0x30) continue;
    const [common, keyCommon] = entry.children;
    const attributes = need(keyCommon, "CommonKeyAttributes").children;
    const id = need(findTlv(attributes, 0x04), "key iD");
    const usage = need(findTlv(attributes, 0x03), "key usage");
    const reference = need(findTlv(attributes, 0x02), "keyReference");
    const rsa = findTlv(entry.children, 0xa1)?.children[0];
    const modulus = rsa ? findTlv(rsa.children, 0x02) : undefined;
    out.push({
      label: utf8(findTlv(common?.children ?? [], 0x0c)),
      id: id.value,
      keyReference: unsigned(reference, "keyReference"),
      nonRepudiation: bitSet(usage, KEY_USAGE_NON_REPUDIATION),
      sign: bitSet(usage, KEY_USAGE_SIGN),
      ...(modulus ? { modulusBits: unsigned(modulus, "modulusLength") } : {}),
    });
  }
  return out;
}

/** AODF: pinAuthObject entries (`30`); the first one is the cardholder PIN. */
export function parseAodf(bytes: Uint8Array): PinEntry[] {
  const out: PinEntry[] = [];
  for (const entry of decode(bytes, "AODF")) {
    if (entry.tag !== 0x30) continue;
    const [common] = entry.children;
    const attributes = need(
      need(findTlv(entry.children, 0xa1), "PinAttributes").children[0],
      "PinAttributes",
    );
    const a = attributes.children;
    const flags = need(findTlv(a, 0x03), "pinFlags");
    const integers = a.filter((n) => n.tag === 0x02).map((n) => unsigned(n, "PIN length"));
    const [minLength, storedLength, maxLength] = integers;
    if (minLength === undefined || storedLength === undefined) throw new Pkcs15Error("PIN lengths missing");
    const reference = findTlv(a, 0x80);
    const padChar = findTlv(a, 0x04)?.value[0];
    out.push({
      label: utf8(findTlv(common?.children ?? [], 0x0c)),
      reference: reference ? unsigned(reference, "pinReference") : 0,
      minLength,
      storedLength,
      maxLength: maxLength ?? storedLength,
      type: unsigned(need(findTlv(a, 0x0a), "pinType"), "pinType"),
      padChar: padChar ?? 0xff,
      needsPadding: bitSet(flags, 5),
    });
  }
  return out;
}

export interface DirApplication {
  readonly aid: Uint8Array;
  readonly label: string;
  /** Absolute path (3F00 first) of the application DF, when the record has one (tag 51). */
  readonly path?: Uint8Array;
}

/** EF.DIR (ISO/IEC 7816-4 §8.2.1.1): application templates `61 { 4F AID, 50 label, 51 path }`. */
export function parseDir(bytes: Uint8Array): DirApplication[] {
  const out: DirApplication[] = [];
  for (const record of decode(bytes, "EF.DIR")) {
    if (record.tag !== 0x61) continue;
    const aid = need(findTlv(record.children, 0x4f), "EF.DIR AID").value;
    const path = findTlv(record.children, 0x51)?.value;
    if (path !== undefined && (path.length === 0 || path.length % 2 !== 0 || path.length > 16))
      throw new Pkcs15Error("EF.DIR: bad application path");
    out.push({
      aid,
      label: utf8(findTlv(record.children, 0x50)),
      ...(path === undefined ? {} : { path: absolutePath(path, Uint8Array.of(0x3f, 0x00)) }),
    });
  }
  return out;
}

function fcpObjects(fcp: Uint8Array): readonly TlvNode[] | undefined {
  if (fcp.length === 0) return undefined;
  const result = decodeTlv(fcp);
  if (!result.ok) return undefined;
  const fci = findTlv(result.nodes, 0x6f);
  const top = findTlv(result.nodes, 0x62) ?? (fci ? (findTlv(fci.children, 0x62) ?? fci) : undefined);
  return top?.children;
}

/** The FCP's FID (tag 83), if the card sent one. */
export function fileIdFromFcp(fcp: Uint8Array): Uint8Array | undefined {
  const id = findTlv(fcpObjects(fcp) ?? [], 0x83);
  return id?.value.length === 2 ? id.value : undefined;
}

/** The FCP's file size (tag 80 inside 62), if the card sent one. */
export function fileSizeFromFcp(fcp: Uint8Array): number | undefined {
  const size = findTlv(fcpObjects(fcp) ?? [], 0x80);
  if (!size || size.value.length === 0 || size.value.length > 3) return undefined;
  let n = 0;
  for (const b of size.value) n = n * 256 + b;
  return n;
}
