/**
 * The professional behind a CPS, from the authentication certificate's subject (IGC-Santé layout:
 * `CN=<idNat>+SN=<nom>+GN=<prénom>, title=<profession>, C=FR`; older IGC-CPS2bis subjects put the
 * profession in OU; a CPE's names the structure, O and OU, and no person: `nameKnown: false`).
 * node:crypto parses the certificate, a small DER reader here the subject (node's X509Certificate
 * gives the subject only as escaped text; node-forge, 865 KB, would be loaded at every start for
 * this alone); garbage is a CpsCertificateError.
 */
import { X509Certificate, type KeyObject } from "node:crypto";

export class CpsCertificateError extends Error {
  override readonly name = "CpsCertificateError";
}

/** The idNat's first character (ANS "type d'identifiant national", PSIdNat). */
export const ID_NAT_TYPES: Readonly<Record<string, string>> = {
  "0": "ADELI",
  "1": "ADELI_CABINET",
  "3": "FINESS",
  "4": "SIREN",
  "5": "SIRET",
  "6": "RPPS_CABINET",
  "8": "RPPS",
};

const OID = {
  commonName: "2.5.4.3",
  surname: "2.5.4.4",
  organization: "2.5.4.10",
  organizationalUnit: "2.5.4.11",
  title: "2.5.4.12",
  givenName: "2.5.4.42",
} as const;
const UTF8_STRING = 12;
const BMP_STRING = 30;
/**
 * An idNat is a type digit and an identifier of letters/digits (ADELI may carry 2A/2B). A CPE's CN
 * is the structure's identifier, a slash and the card's number (a public parser's layout; a guess
 * for real cards): that one slash is accepted.
 */
const ID_NAT_PATTERN = /^[0-9][0-9A-Z]{1,30}(\/[0-9A-Z]{1,30})?$/;

export interface CpsHolder {
  readonly idNat: string;
  readonly idType: string;
  readonly nationalId: string;
  /** "" when the subject carries no SN (`nameKnown: false`). */
  readonly lastName: string;
  /** "" when the subject carries no GN (`nameKnown: false`). */
  readonly firstName: string;
  readonly profession?: string;
  /** The subject's O, when it has one (a CPE names its structure there). */
  readonly organization?: string;
  /**
   * false when the certificate's subject does not name the holder (no SN or no GN: a CPE, an
   * establishment's employee card); absent when it does.
   */
  readonly nameKnown?: false;
}

export interface ParsedCertificate {
  readonly pem: string;
  /** ISO 8601. */
  readonly notAfter: string;
  readonly der: Uint8Array;
  readonly publicKey: KeyObject;
}

/**
 * The certificate without what follows its DER: a card's certificate file is often larger than the
 * certificate (allocated once, padded), and OpenSC cuts it to the DER length too (pkcs15-cert.c
 * `parse_x509_cert` reads the outer SEQUENCE's length). A length past the file's end is an error.
 */
export function cutToDer(file: Uint8Array, which: string): Uint8Array {
  const bad = (): CpsCertificateError => new CpsCertificateError(`the ${which} certificate does not parse`);
  if (file.length < 2 || file[0] !== 0x30) throw bad();
  const first = file[1]!;
  let length: number;
  let header: number;
  if (first < 0x80) {
    length = first;
    header = 2;
  } else {
    const octets = first & 0x7f;
    // 1–3 length octets: a certificate on a card is well under 16 MiB; 80 (indefinite) is not DER.
    if (octets === 0 || octets > 3 || file.length < 2 + octets) throw bad();
    length = 0;
    for (let i = 0; i < octets; i++) length = length * 256 + file[2 + i]!;
    header = 2 + octets;
  }
  if (header + length > file.length) throw bad();
  return file.subarray(0, header + length);
}

/** Parses a certificate with node:crypto (PEM, validity, public key); garbage → CpsCertificateError. */
export function parseCertificate(file: Uint8Array, which: string): ParsedCertificate {
  const der = cutToDer(file, which).slice();
  try {
    const x509 = new X509Certificate(der);
    const notAfter = new Date(x509.validTo);
    if (Number.isNaN(notAfter.getTime())) throw new Error("validity");
    return { pem: x509.toString(), notAfter: notAfter.toISOString(), der, publicKey: x509.publicKey };
  } catch (cause) {
    throw new CpsCertificateError(`the ${which} certificate does not parse`, { cause });
  }
}

interface SubjectAttribute {
  readonly type: string;
  /** The value decoded by its string type, or undefined when it is not a string type we read. */
  readonly value: string | undefined;
}

/** One DER element: its identifier octet and where its content lies in `der`. */
interface Element {
  readonly identifier: number;
  readonly start: number;
  readonly end: number;
}

const SEQUENCE = 0x30;
const SET = 0x31;
const OBJECT_IDENTIFIER = 0x06;
const CONTEXT_0_CONSTRUCTED = 0xa0;
/** Character string types read as one byte per character (PrintableString, T61, IA5, Visible). */
const SINGLE_BYTE_STRINGS = new Set([19, 20, 22, 26]);

/** The element at `offset`, within `limit` (X.690 §8.1: low tag numbers, definite lengths only). */
function elementAt(der: Uint8Array, offset: number, limit: number): Element {
  if (offset + 2 > limit) throw new Error("truncated element");
  const identifier = der[offset]!;
  if ((identifier & 0x1f) === 0x1f) throw new Error("high tag number");
  const first = der[offset + 1]!;
  let length = first;
  let start = offset + 2;
  if (first >= 0x80) {
    const octets = first & 0x7f;
    if (octets === 0 || octets > 3 || start + octets > limit) throw new Error("bad length");
    length = 0;
    for (let i = 0; i < octets; i++) length = length * 256 + der[start + i]!;
    start += octets;
  }
  if (start + length > limit) throw new Error("element past its parent's end");
  return { identifier, start, end: start + length };
}

/** The children of a constructed element, in order. */
function childrenOf(der: Uint8Array, parent: Element): Element[] {
  const out: Element[] = [];
  for (let offset = parent.start; offset < parent.end;) {
    const child = elementAt(der, offset, parent.end);
    out.push(child);
    offset = child.end;
  }
  return out;
}

function expect(element: Element | undefined, identifier: number, what: string): Element {
  if (!element || element.identifier !== identifier) throw new Error(`no ${what}`);
  return element;
}

/** Dotted form of an OBJECT IDENTIFIER's content (X.690 §8.19). */
function objectIdentifier(der: Uint8Array, element: Element): string {
  const arcs: number[] = [];
  let arc = 0;
  for (let i = element.start; i < element.end; i++) {
    const byte = der[i]!;
    arc = arc * 128 + (byte & 0x7f);
    if (byte & 0x80) continue;
    if (arcs.length === 0) {
      // The first subidentifier holds two arcs: 40 × first + second, first ≤ 2.
      const first = Math.min(2, Math.floor(arc / 40));
      arcs.push(first, arc - first * 40);
    } else arcs.push(arc);
    arc = 0;
  }
  if (arcs.length === 0 || (der[element.end - 1]! & 0x80) !== 0) throw new Error("bad object identifier");
  return arcs.join(".");
}

function stringValue(der: Uint8Array, element: Element): string | undefined {
  const bytes = der.subarray(element.start, element.end);
  if (element.identifier === UTF8_STRING) return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  if (element.identifier === BMP_STRING) {
    let out = "";
    for (let i = 0; i + 1 < bytes.length; i += 2)
      out += String.fromCharCode((bytes[i]! << 8) | bytes[i + 1]!);
    return out;
  }
  if (SINGLE_BYTE_STRINGS.has(element.identifier)) return Buffer.from(bytes).toString("latin1");
  return undefined;
}

/**
 * The subject's attributes, multi-valued RDNs flattened, read from the TBSCertificate (RFC 5280
 * §4.1: Name is a SEQUENCE of SETs of AttributeTypeAndValue).
 */
function subjectAttributes(der: Uint8Array): SubjectAttribute[] {
  try {
    const certificate = expect(elementAt(der, 0, der.length), SEQUENCE, "certificate");
    const tbs = expect(childrenOf(der, certificate)[0], SEQUENCE, "TBSCertificate");
    const fields = childrenOf(der, tbs);
    // TBSCertificate: [0] version (optional), serialNumber, signature, issuer, validity, subject, …
    const hasVersion = fields[0]?.identifier === CONTEXT_0_CONSTRUCTED;
    const subject = expect(fields[hasVersion ? 5 : 4], SEQUENCE, "subject");
    const attributes: SubjectAttribute[] = [];
    for (const rdn of childrenOf(der, subject)) {
      for (const pair of childrenOf(der, expect(rdn, SET, "RDN"))) {
        const [type, value] = childrenOf(der, expect(pair, SEQUENCE, "attribute"));
        if (!value) throw new Error("attribute without a value");
        attributes.push({
          type: objectIdentifier(der, expect(type, OBJECT_IDENTIFIER, "attribute type")),
          value: stringValue(der, value),
        });
      }
    }
    return attributes;
  } catch (cause) {
    throw new CpsCertificateError("the authentication certificate's subject does not parse", { cause });
  }
}

function attribute(attributes: readonly SubjectAttribute[], oid: string): string | undefined {
  return attributes.find((a) => a.type === oid)?.value;
}

export function holderFromCertificate(parsed: Pick<ParsedCertificate, "der">): CpsHolder {
  const attributes = subjectAttributes(parsed.der);
  const idNat = attribute(attributes, OID.commonName)?.trim();
  const lastName = attribute(attributes, OID.surname)?.trim();
  const firstName = attribute(attributes, OID.givenName)?.trim();
  if (!idNat || !ID_NAT_PATTERN.test(idNat)) throw new CpsCertificateError("the subject has no idNat in CN");
  const typeDigit = idNat.charAt(0);
  const profession =
    attribute(attributes, OID.title)?.trim() ?? attribute(attributes, OID.organizationalUnit)?.trim();
  const organization = attribute(attributes, OID.organization)?.trim();
  return {
    idNat,
    idType: ID_NAT_TYPES[typeDigit] ?? typeDigit,
    nationalId: idNat.slice(1),
    // A CPE's subject names the structure, not the person: the certificates are still the card's.
    lastName: lastName ?? "",
    firstName: firstName ?? "",
    ...(profession ? { profession } : {}),
    ...(organization ? { organization } : {}),
    ...(lastName && firstName ? {} : { nameKnown: false as const }),
  };
}
