/**
 * The professional behind a CPS, from the authentication certificate's subject (IGC-Santé layout:
 * `CN=<idNat>+SN=<nom>+GN=<prénom>, title=<profession>, C=FR`; older IGC-CPS2bis subjects put the
 * profession in OU; a CPE's names the structure, O and OU, and no person: `nameKnown: false`). node:crypto parses the certificate, node-forge's ASN.1 reader the subject (node's
 * X509Certificate gives the subject only as escaped text); garbage is a CpsCertificateError.
 */
import { X509Certificate, type KeyObject } from "node:crypto";
import forge from "node-forge";

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
  readonly value: unknown;
  readonly valueTagClass?: number;
}

/**
 * The subject's attributes, multi-valued RDNs flattened, read from the TBSCertificate with node-forge's
 * ASN.1 reader (not certificateFromAsn1, which refuses every key that is not RSA).
 */
function subjectAttributes(der: Uint8Array): SubjectAttribute[] {
  try {
    const certificate = forge.asn1.fromDer(
      forge.util.createBuffer(Buffer.from(der).toString("binary")),
      true,
    );
    const tbs = (certificate.value as forge.asn1.Asn1[])[0];
    const fields = tbs?.value as forge.asn1.Asn1[] | undefined;
    // TBSCertificate: [0] version (optional), serialNumber, signature, issuer, validity, subject, …
    const hasVersion = fields?.[0]?.tagClass === forge.asn1.Class.CONTEXT_SPECIFIC;
    const subject = fields?.[hasVersion ? 5 : 4];
    if (!subject) throw new Error("no subject");
    const toArray = (
      forge.pki as unknown as { RDNAttributesAsArray(rdn: forge.asn1.Asn1): SubjectAttribute[] }
    ).RDNAttributesAsArray;
    return toArray(subject);
  } catch (cause) {
    throw new CpsCertificateError("the authentication certificate's subject does not parse", { cause });
  }
}

function attribute(attributes: readonly SubjectAttribute[], oid: string): string | undefined {
  const field = attributes.find((a) => a.type === oid);
  if (!field || typeof field.value !== "string") return undefined;
  const tag = field.valueTagClass;
  if (tag === UTF8_STRING) return forge.util.decodeUtf8(field.value);
  if (tag === BMP_STRING) {
    let out = "";
    for (let i = 0; i + 1 < field.value.length; i += 2) {
      out += String.fromCharCode((field.value.charCodeAt(i) << 8) | field.value.charCodeAt(i + 1));
    }
    return out;
  }
  return field.value;
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
