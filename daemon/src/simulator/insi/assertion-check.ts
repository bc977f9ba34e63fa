/**
 * The simulator's check of a card-mode assertion PS, field by field against the integration guide
 * as quoted publicly and the GIE kit, re-derived here from the certificate — never by comparing
 * with the client's own rendering (docs/insi.md, "Simulator"):
 * - Version 2.0, an ID, an IssueInstant not older than MAX_ASSERTION_AGE_SECONDS nor in the future;
 * - Issuer with Format X509SubjectName whose attributes are those of the signature certificate's
 *   subject (compared as a set of type=value pairs, whatever the order or the spelling of the type);
 * - a valid enveloped XML-DSig (exclusive C14N, RSA-SHA256, single reference to the assertion) by a
 *   certificate from a trusted CA, valid now;
 * - Subject/NameID = the certificate CN, NameQualifier one of CPS, CPF, CDE-CPE, CPA, CPX and, when
 *   the card-type extension 1.2.250.1.71.1.2.2 says so, the matching one;
 * - Conditions (optional): now inside [NotBefore, NotOnOrAfter), a window of at most
 *   MAX_ASSERTION_AGE_SECONDS (plus the clock skew on both sides);
 * - AttributeStatement with identifiantFacturation and secteurActivite, and codeSpecialite when the
 *   certificate's title says Médecin (SEL-MP-043 §3.2).
 */
import { X509Certificate } from "node:crypto";
import type { Element } from "@xmldom/xmldom";
import forge from "node-forge";
import { SignedXml } from "xml-crypto";
import { NS } from "../../insi/namespaces.ts";
import { childNamed, childrenNamed, textOf } from "../../insi/xml.ts";

/** padoa's test notes "the assertion expires after 1h"; the server's own value is not public. */
export const MAX_ASSERTION_AGE_SECONDS = 3_600;
export const CLOCK_SKEW_SECONDS = 60;
const X509_SUBJECT_NAME = "urn:oasis:names:tc:SAML:1.1:nameid-format:X509SubjectName";
const CARD_TYPE_OID = "1.2.250.1.71.1.2.2";
const CARD_QUALIFIERS = ["CPS", "CPF", "CDE-CPE", "CPA"];

/** Attribute type names seen in IGC-Santé DNs and RFC 4514, to OIDs. */
const TYPE_OIDS: Readonly<Record<string, string>> = {
  CN: "2.5.4.3",
  SN: "2.5.4.4",
  SURNAME: "2.5.4.4",
  C: "2.5.4.6",
  L: "2.5.4.7",
  ST: "2.5.4.8",
  O: "2.5.4.10",
  OU: "2.5.4.11",
  T: "2.5.4.12",
  TITLE: "2.5.4.12",
  G: "2.5.4.42",
  GN: "2.5.4.42",
  GIVENNAME: "2.5.4.42",
  SERIALNUMBER: "2.5.4.5",
};

export class AssertionRefused extends Error {}

function refuse(message: string): never {
  throw new AssertionRefused(message);
}

/** "type=value" pairs of an RFC 4514-style string, split on unescaped ',' and '+'. */
export function dnPairs(dn: string): string[] {
  const pairs: string[] = [];
  let current = "";
  for (let i = 0; i < dn.length; i += 1) {
    const c = dn[i] ?? "";
    if (c === "\\" && i + 1 < dn.length) {
      current += c + (dn[i + 1] ?? "");
      i += 1;
    } else if (c === "," || c === "+") {
      pairs.push(current);
      current = "";
    } else current += c;
  }
  pairs.push(current);
  return pairs
    .map((pair) => {
      const eq = pair.indexOf("=");
      if (eq < 1) return "";
      const type = pair.slice(0, eq).trim();
      const value = pair
        .slice(eq + 1)
        .trim()
        .replace(/\\(.)/g, "$1");
      const oid = /^\d+(?:\.\d+)+$/.test(type) ? type : (TYPE_OIDS[type.toUpperCase()] ?? type);
      return `${oid}=${value}`;
    })
    .sort();
}

function certificateSubjectPairs(cert: forge.pki.Certificate): string[] {
  return (cert.subject.attributes as Array<{ type?: string; value?: unknown; valueTagClass?: number }>)
    .map((a) => {
      let value = typeof a.value === "string" ? a.value : "";
      if (a.valueTagClass === forge.asn1.Type.UTF8) {
        try {
          value = forge.util.decodeUtf8(value);
        } catch {
          // already decoded
        }
      }
      return `${a.type ?? ""}=${value}`;
    })
    .sort();
}

function cardQualifier(cert: forge.pki.Certificate): string | undefined {
  const extension = (cert.extensions as Array<{ id?: string; value?: unknown }>).find(
    (e) => e.id === CARD_TYPE_OID,
  );
  const value = typeof extension?.value === "string" ? extension.value : "";
  if (value.length < 3) return undefined;
  const byte = value.charCodeAt(2);
  const type = byte >= 0x30 && byte <= 0x33 ? byte - 0x30 : byte;
  return CARD_QUALIFIERS[type];
}

function attributeValues(assertion: Element): Map<string, string> {
  const out = new Map<string, string>();
  for (const statement of childrenNamed(assertion, NS.saml, "AttributeStatement")) {
    for (const attribute of childrenNamed(statement, NS.saml, "Attribute")) {
      const value = textOf(childNamed(attribute, NS.saml, "AttributeValue")) ?? "";
      out.set(attribute.getAttribute("Name") ?? "", value);
    }
  }
  return out;
}

export interface AssertionPsCheck {
  readonly assertion: Element;
  readonly trusted: readonly X509Certificate[];
  readonly now: Date;
}

/** Throws AssertionRefused with a French message (the fault text) at the first problem. */
export function checkAssertionPs({ assertion, trusted, now }: AssertionPsCheck): void {
  if (assertion.getAttribute("Version") !== "2.0") refuse("Version d'assertion différente de 2.0");
  if (!assertion.getAttribute("ID")) refuse("ID d'assertion absent");
  const issued = Date.parse(assertion.getAttribute("IssueInstant") ?? "");
  if (Number.isNaN(issued)) refuse("IssueInstant invalide");
  if (issued > now.getTime() + CLOCK_SKEW_SECONDS * 1000) refuse("assertion PS émise dans le futur");
  if (now.getTime() - issued > MAX_ASSERTION_AGE_SECONDS * 1000) refuse("assertion PS trop ancienne");

  const issuer = childNamed(assertion, NS.saml, "Issuer");
  if (issuer?.getAttribute("Format") !== X509_SUBJECT_NAME) refuse("Issuer: Format X509SubjectName attendu");
  const signature = childNamed(assertion, NS.ds, "Signature");
  if (signature === undefined) refuse("assertion PS non signée");
  const keyInfo = childNamed(signature, NS.ds, "KeyInfo");
  const x509Data = keyInfo === undefined ? undefined : childNamed(keyInfo, NS.ds, "X509Data");
  const certificateText = textOf(
    x509Data === undefined ? undefined : childNamed(x509Data, NS.ds, "X509Certificate"),
  );
  if (!certificateText) refuse("certificat de signature absent");
  const pem = `-----BEGIN CERTIFICATE-----\n${certificateText.replace(/\s+/g, "")}\n-----END CERTIFICATE-----\n`;
  let x509: X509Certificate;
  let cert: forge.pki.Certificate;
  try {
    x509 = new X509Certificate(pem);
    cert = forge.pki.certificateFromPem(pem);
  } catch {
    refuse("certificat de signature illisible");
  }
  if (!trusted.some((ca) => x509.checkIssued(ca) && x509.verify(ca.publicKey)))
    refuse("certificat de signature non reconnu");
  if (now < new Date(x509.validFrom) || now > new Date(x509.validTo))
    refuse("certificat de signature expiré");

  const id = assertion.getAttribute("ID") ?? "";
  let valid: boolean;
  try {
    const verifier = new SignedXml({ publicCert: pem });
    verifier.loadSignature(signature.toString());
    const references = verifier.getReferences();
    valid =
      verifier.signatureAlgorithm === "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256" &&
      verifier.canonicalizationAlgorithm === "http://www.w3.org/2001/10/xml-exc-c14n#" &&
      references.length === 1 &&
      references[0]?.uri === `#${id}` &&
      verifier.checkSignature(assertion.toString());
  } catch {
    valid = false;
  }
  if (!valid) refuse("signature de l'assertion PS invalide");

  if (dnPairs(textOf(issuer) ?? "").join("\n") !== certificateSubjectPairs(cert).join("\n"))
    refuse("Issuer différent du sujet du certificat de signature");
  const subject = childNamed(assertion, NS.saml, "Subject");
  const nameId = subject === undefined ? undefined : childNamed(subject, NS.saml, "NameID");
  if (nameId === undefined) refuse("Subject/NameID absent");
  const cn = cert.subject.getField("CN") as { value?: unknown } | null;
  if (textOf(nameId) !== cn?.value) refuse("NameID différent du CN du certificat");
  const qualifier = nameId.getAttribute("NameQualifier") ?? "";
  if (![...CARD_QUALIFIERS, "CPX"].includes(qualifier)) refuse("NameQualifier inconnu");
  const expected = cardQualifier(cert);
  if (expected !== undefined && qualifier !== expected) refuse("NameQualifier différent du type de carte");

  const conditions = childNamed(assertion, NS.saml, "Conditions");
  if (conditions !== undefined) {
    const notBefore = Date.parse(conditions.getAttribute("NotBefore") ?? "");
    const notOnOrAfter = Date.parse(conditions.getAttribute("NotOnOrAfter") ?? "");
    const skew = CLOCK_SKEW_SECONDS * 1000;
    if (!Number.isNaN(notBefore) && now.getTime() + skew < notBefore)
      refuse("assertion PS pas encore valide");
    if (!Number.isNaN(notOnOrAfter) && now.getTime() >= notOnOrAfter) refuse("assertion PS expirée");
    if (
      !Number.isNaN(notBefore) &&
      !Number.isNaN(notOnOrAfter) &&
      notOnOrAfter - notBefore > MAX_ASSERTION_AGE_SECONDS * 1000 + 2 * skew
    )
      refuse("durée de validité de l'assertion PS trop longue");
  }

  if (childrenNamed(assertion, NS.saml, "AttributeStatement").length === 0)
    refuse("AttributeStatement absent");
  const values = attributeValues(assertion);
  for (const name of ["identifiantFacturation", "secteurActivite"]) {
    if (!values.get(name)) refuse(`attribut ${name} absent`);
  }
  const title = cert.subject.getField({ type: "2.5.4.12" }) as { value?: unknown } | null;
  const profession = typeof title?.value === "string" ? title.value : "";
  const doctor = /^m[\u00E9e]decin/i.test(profession.normalize("NFC")) || /^M.{1,2}decin/i.test(profession);
  if (doctor && !values.get("codeSpecialite")) refuse("attribut codeSpecialite absent (médecin)");
}

/**
 * PSC mode: the unsigned assertion of the official example (NameQualifier PSC, identifiantFacturation),
 * its NameID the professional the bearer token names, the same age and window rules.
 */
export function checkPscAssertion(assertion: Element, tokenIdNat: string, now: Date): void {
  if (assertion.getAttribute("Version") !== "2.0") refuse("Version d'assertion différente de 2.0");
  const issued = Date.parse(assertion.getAttribute("IssueInstant") ?? "");
  if (Number.isNaN(issued)) refuse("IssueInstant invalide");
  if (issued > now.getTime() + CLOCK_SKEW_SECONDS * 1000) refuse("assertion PSC émise dans le futur");
  if (now.getTime() - issued > MAX_ASSERTION_AGE_SECONDS * 1000) refuse("assertion PSC trop ancienne");
  const subject = childNamed(assertion, NS.saml, "Subject");
  const nameId = subject === undefined ? undefined : childNamed(subject, NS.saml, "NameID");
  if (nameId?.getAttribute("NameQualifier") !== "PSC") refuse("NameQualifier PSC attendu");
  if (textOf(nameId) !== tokenIdNat) refuse("NameID différent du professionnel du jeton PSC");
  const conditions = childNamed(assertion, NS.saml, "Conditions");
  if (conditions !== undefined) {
    const notBefore = Date.parse(conditions.getAttribute("NotBefore") ?? "");
    const notOnOrAfter = Date.parse(conditions.getAttribute("NotOnOrAfter") ?? "");
    const skew = CLOCK_SKEW_SECONDS * 1000;
    if (!Number.isNaN(notOnOrAfter) && now.getTime() >= notOnOrAfter) refuse("assertion PSC expirée");
    if (!Number.isNaN(notBefore) && now.getTime() + skew < notBefore)
      refuse("assertion PSC pas encore valide");
    if (
      !Number.isNaN(notBefore) &&
      !Number.isNaN(notOnOrAfter) &&
      notOnOrAfter - notBefore > MAX_ASSERTION_AGE_SECONDS * 1000 + 2 * skew
    )
      refuse("durée de validité de l'assertion PSC trop longue");
  }
  if (childrenNamed(assertion, NS.saml, "AttributeStatement").length === 0)
    refuse("AttributeStatement absent");
  if (!attributeValues(assertion).get("identifiantFacturation"))
    refuse("attribut identifiantFacturation absent");
}
