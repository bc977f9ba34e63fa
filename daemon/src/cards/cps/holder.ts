/**
 * The professional behind a CPS, from the authentication certificate's subject (IGC-Santé layout:
 * `CN=<idNat>+SN=<nom>+GN=<prénom>, title=<profession>, C=FR`; older IGC-CPS2bis subjects put the
 * profession in OU). Parsed with node-forge; a certificate that does not parse is a CpsCertificateError.
 */
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
  organizationalUnit: "2.5.4.11",
  title: "2.5.4.12",
  givenName: "2.5.4.42",
} as const;
const UTF8_STRING = 12;
const BMP_STRING = 30;
/** An idNat is a type digit and an identifier of letters/digits (ADELI may carry 2A/2B). */
const ID_NAT_PATTERN = /^[0-9][0-9A-Z]{1,30}$/;

export interface CpsHolder {
  readonly idNat: string;
  readonly idType: string;
  readonly nationalId: string;
  readonly lastName: string;
  readonly firstName: string;
  readonly profession?: string;
}

export interface ParsedCertificate {
  readonly pem: string;
  /** ISO 8601. */
  readonly notAfter: string;
  readonly der: Uint8Array;
  readonly certificate: forge.pki.Certificate;
}

export function parseCertificate(der: Uint8Array, which: string): ParsedCertificate {
  let certificate: forge.pki.Certificate;
  try {
    const asn1 = forge.asn1.fromDer(forge.util.createBuffer(Buffer.from(der).toString("binary")), true);
    certificate = forge.pki.certificateFromAsn1(asn1);
  } catch (cause) {
    throw new CpsCertificateError(`the ${which} certificate does not parse`, { cause });
  }
  const b64 = Buffer.from(der).toString("base64").replace(/.{64}/g, "$&\n");
  return {
    pem: `-----BEGIN CERTIFICATE-----\n${b64}${b64.endsWith("\n") ? "" : "\n"}-----END CERTIFICATE-----\n`,
    notAfter: certificate.validity.notAfter.toISOString(),
    der,
    certificate,
  };
}

function attribute(certificate: forge.pki.Certificate, oid: string): string | undefined {
  const field = certificate.subject.attributes.find((a) => a.type === oid);
  if (!field || typeof field.value !== "string") return undefined;
  const tag = (field as { valueTagClass?: number }).valueTagClass;
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

export function holderFromCertificate(parsed: ParsedCertificate): CpsHolder {
  const idNat = attribute(parsed.certificate, OID.commonName)?.trim();
  const lastName = attribute(parsed.certificate, OID.surname)?.trim();
  const firstName = attribute(parsed.certificate, OID.givenName)?.trim();
  if (!idNat || !ID_NAT_PATTERN.test(idNat)) throw new CpsCertificateError("the subject has no idNat in CN");
  if (!lastName || !firstName) throw new CpsCertificateError("the subject has no SN/GN");
  const typeDigit = idNat.charAt(0);
  const profession =
    attribute(parsed.certificate, OID.title)?.trim() ??
    attribute(parsed.certificate, OID.organizationalUnit)?.trim();
  return {
    idNat,
    idType: ID_NAT_TYPES[typeDigit] ?? typeDigit,
    nationalId: idNat.slice(1),
    lastName,
    firstName,
    ...(profession ? { profession } : {}),
  };
}
