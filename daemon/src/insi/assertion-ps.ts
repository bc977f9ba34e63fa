/**
 * The SAML 2.0 "assertion PS" of card mode: who calls INSi, signed by the CPS signature key.
 *
 * Layout (GIE TLSi kit; padoa's fixture): Assertion(ID, IssueInstant, Version 2.0) → Issuer = the
 * signature certificate's subject DN (X509SubjectName) → ds:Signature (enveloped + exclusive C14N,
 * SHA-256 digest, RSA-SHA256, KeyInfo/X509Certificate) → Subject/NameID = the certificate CN (the
 * holder's national identifier) qualified by the card type → Conditions (validity window).
 * The SignedInfo goes to the AssertionSigner (the card) through xml-crypto's asynchronous signing
 * path; the signed assertion is kept as the exact string xml-crypto produced and is inserted into the
 * envelope untouched.
 *
 * Unverified details (docs/insi.md): the DN string format, the card-type extension's encoding, the
 * server-side validity window and whether an AttributeStatement is needed. They live here only.
 */
import { randomUUID, X509Certificate } from "node:crypto";
import forge from "node-forge";
import { SignedXml, type SignatureAlgorithm } from "xml-crypto";
import { PasserelleError } from "../errors.ts";
import type { AssertionSigner } from "./signer.ts";
import { escapeXml } from "./xml.ts";
import { NS } from "./namespaces.ts";

const RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";
const SHA256 = "http://www.w3.org/2001/04/xmlenc#sha256";
const EXC_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#";
const ENVELOPED = "http://www.w3.org/2000/09/xmldsig#enveloped-signature";
const X509_SUBJECT_NAME = "urn:oasis:names:tc:SAML:1.1:nameid-format:X509SubjectName";
/** CPS certificate extension whose value's byte 2 is the card type (GIE kit). */
export const CARD_TYPE_OID = "1.2.250.1.71.1.2.2";
const CARD_TYPES: Readonly<Record<number, string>> = { 0: "CPS", 1: "CPF", 2: "CDE-CPE", 3: "CPA" };
const CARD_TYPE_FALLBACK = "CPX";
/** Tolerated clock difference between the workstation and INSi when dating the assertion. */
export const ASSERTION_CLOCK_SKEW_SECONDS = 60;

/** Short names as they appear in the IGC-Santé issuer strings seen in the field; others as dotted OIDs. */
const DN_NAMES: Readonly<Record<string, string>> = {
  "2.5.4.3": "CN",
  "2.5.4.4": "SN",
  "2.5.4.6": "C",
  "2.5.4.7": "L",
  "2.5.4.8": "ST",
  "2.5.4.10": "O",
  "2.5.4.11": "OU",
  "2.5.4.12": "T",
};

export interface SignerIdentity {
  /** Issuer of the assertion: the signature certificate's subject DN, most specific RDN first. */
  readonly issuerDn: string;
  /** NameID: the certificate CN, the holder's national identifier (idNat). */
  readonly nameId: string;
  /** NameID@NameQualifier: CPS, CPF, CDE-CPE, CPA or CPX. */
  readonly cardType: string;
  readonly notAfter: Date;
  readonly fingerprint: string;
  /** The subject's `title` (T), the IGC-Santé profession label ("Médecin", "Infirmier"…), if any. */
  readonly profession?: string;
}

/** One `Attribute` of the AttributeStatement: a name and its single value. */
export interface AssertionAttribute {
  readonly name: string;
  readonly value: string;
}

function escapeDnValue(value: string): string {
  // RFC 4514 §2.4
  return value
    .replace(/([,+"\\<>;=])/g, "\\$1")
    .replace(/^([ #])/, "\\$1")
    .replace(/ $/, "\\ ");
}

function asn1String(node: forge.asn1.Asn1): string {
  const raw = typeof node.value === "string" ? node.value : "";
  if (node.type === forge.asn1.Type.UTF8) return forge.util.decodeUtf8(raw);
  if (node.type === forge.asn1.Type.BMPSTRING) {
    let out = "";
    for (let i = 0; i + 1 < raw.length; i += 2)
      out += String.fromCharCode((raw.charCodeAt(i) << 8) | raw.charCodeAt(i + 1));
    return out;
  }
  return raw;
}

/**
 * An X.501 Name as a string, most specific RDN first (RFC 4514 order), a multi-valued RDN kept as one
 * RDN with its attributes joined by "+" in their DER (SET OF) order. This is the form seen in the
 * Issuer of assertions PS in the field: "2.5.4.42=<prénom>+CN=<idNat>+SN=<nom>,T=<profession>,C=FR".
 */
export function distinguishedName(name: forge.asn1.Asn1): string {
  if (!Array.isArray(name.value)) throw new Error("not an X.501 Name");
  const rdns = name.value.map((set) =>
    ((set.value ?? []) as forge.asn1.Asn1[])
      .map((atv) => {
        const [type, value] = atv.value as forge.asn1.Asn1[];
        const oid = forge.asn1.derToOid(typeof type?.value === "string" ? type.value : "");
        return `${DN_NAMES[oid] ?? oid}=${escapeDnValue(value === undefined ? "" : asn1String(value))}`;
      })
      .join("+"),
  );
  return rdns.reverse().join(",");
}

/** Subject DN of a DER certificate (see distinguishedName). */
export function subjectDn(certificateDer: Uint8Array): string {
  const cert = forge.asn1.fromDer(forge.util.createBuffer(Buffer.from(certificateDer).toString("binary")));
  const tbs = (cert.value as forge.asn1.Asn1[])[0];
  const fields = (tbs?.value ?? []) as forge.asn1.Asn1[];
  // tbsCertificate: [0] version (optional), serialNumber, signature, issuer, validity, subject
  const offset = fields[0]?.tagClass === forge.asn1.Class.CONTEXT_SPECIFIC ? 1 : 0;
  const subject = fields[offset + 4];
  if (subject === undefined) throw new Error("certificate without a subject");
  return distinguishedName(subject);
}

/** What the assertion says about the signer, read from the signature certificate. */
export function signerIdentity(certificatePem: string): SignerIdentity {
  let x509: X509Certificate;
  let cert: forge.pki.Certificate;
  try {
    x509 = new X509Certificate(certificatePem);
    cert = forge.pki.certificateFromPem(certificatePem);
  } catch (error) {
    throw new PasserelleError("CARD_ERROR", "the CPS signature certificate cannot be read", {}, error);
  }
  const cn = cert.subject.getField("CN") as { value?: unknown } | null;
  if (typeof cn?.value !== "string" || cn.value === "") {
    throw new PasserelleError("CARD_ERROR", "the CPS signature certificate has no CN");
  }
  const extensions = cert.extensions as Array<{ id?: unknown; value?: unknown }>;
  const extension = extensions.find((e) => e.id === CARD_TYPE_OID);
  const extensionValue = typeof extension?.value === "string" ? extension.value : "";
  const typeByte = extensionValue.length > 2 ? extensionValue.charCodeAt(2) : -1;
  // The byte may be a number or its ASCII digit.
  const typeNumber = typeByte >= 0x30 && typeByte <= 0x33 ? typeByte - 0x30 : typeByte;
  const title = cert.subject.getField({ type: "2.5.4.12" }) as { value?: unknown } | null;
  const profession =
    typeof title?.value === "string" && title.value !== "" ? decodeUtf8Safe(title.value) : undefined;
  return {
    issuerDn: subjectDn(x509.raw),
    nameId: cn.value,
    cardType: CARD_TYPES[typeNumber] ?? CARD_TYPE_FALLBACK,
    notAfter: new Date(x509.validTo),
    fingerprint: x509.fingerprint256,
    ...(profession === undefined ? {} : { profession }),
  };
}

function decodeUtf8Safe(raw: string): string {
  try {
    return forge.util.decodeUtf8(raw);
  } catch {
    return raw;
  }
}

/**
 * Whether the signer is a doctor (or a doctor in training, whose CPF carries the same profession):
 * the guide makes `codeSpecialite` mandatory for them. Read from the certificate's title; the label
 * "Médecin" is how IGC-Santé certificates seen in public fixtures spell it (a guess beyond that).
 */
export function isDoctor(identity: SignerIdentity): boolean {
  const label = (identity.profession ?? "").normalize("NFD").replace(/\p{M}/gu, "").toUpperCase();
  return /^MEDECIN\b/.test(label);
}

function attributeStatement(attributes: readonly AssertionAttribute[]): string {
  if (attributes.length === 0) return "";
  return (
    `<AttributeStatement>` +
    attributes
      .map(
        (a) =>
          `<Attribute Name="${escapeXml(a.name)}"><AttributeValue>${escapeXml(a.value)}</AttributeValue></Attribute>`,
      )
      .join("") +
    `</AttributeStatement>`
  );
}

/** The unsigned assertion, compact (no whitespace between elements). */
export function assertionPsXml(
  identity: SignerIdentity,
  id: string,
  issueInstant: Date,
  validitySeconds: number,
  attributes: readonly AssertionAttribute[] = [],
): string {
  const notBefore = new Date(issueInstant.getTime() - ASSERTION_CLOCK_SKEW_SECONDS * 1000);
  const notOnOrAfter = new Date(issueInstant.getTime() + validitySeconds * 1000);
  return (
    `<Assertion xmlns="${NS.saml}" ID="${escapeXml(id)}" IssueInstant="${issueInstant.toISOString()}" Version="2.0">` +
    `<Issuer Format="${X509_SUBJECT_NAME}">${escapeXml(identity.issuerDn)}</Issuer>` +
    `<Subject><NameID NameQualifier="${escapeXml(identity.cardType)}">${escapeXml(identity.nameId)}</NameID></Subject>` +
    `<Conditions NotBefore="${notBefore.toISOString()}" NotOnOrAfter="${notOnOrAfter.toISOString()}"/>` +
    attributeStatement(attributes) +
    `</Assertion>`
  );
}

/** Sign an assertion with the card: xml-crypto computes digests and SignedInfo, the signer signs it. */
export function signAssertion(
  unsignedXml: string,
  certificatePem: string,
  signer: AssertionSigner,
): Promise<string> {
  // Everything xml-crypto does after the card answers (insert the SignatureValue, serialise) runs
  // inside our callback: a throw there must reject the returned promise, not escape as an unhandled
  // rejection of the card's promise chain while the caller waits forever.
  let fail: (error: unknown) => void = () => undefined;
  const guarded =
    <A extends unknown[]>(run: (...args: A) => void) =>
    (...args: A): void => {
      try {
        run(...args);
      } catch (error) {
        fail(error);
      }
    };
  class CardRsaSha256 {
    getAlgorithmName() {
      return RSA_SHA256;
    }
    getSignature(
      signedInfo: string | Uint8Array,
      _key: unknown,
      callback?: (err: Error | null, value?: string) => void,
    ): string | void {
      if (callback === undefined) throw new Error("the card signs asynchronously");
      const data = typeof signedInfo === "string" ? Buffer.from(signedInfo, "utf8") : signedInfo;
      signer.sign(data).then(
        guarded((signature: Uint8Array) => callback(null, Buffer.from(signature).toString("base64"))),
        guarded((error: unknown) => callback(error instanceof Error ? error : new Error(String(error)))),
      );
    }
    verifySignature(): boolean {
      throw new Error("not a verifier");
    }
  }
  const sig = new SignedXml({
    // xml-crypto insists on a private key; ours is on the card, CardRsaSha256 ignores this one.
    privateKey: "held-by-the-card",
    publicCert: certificatePem,
    signatureAlgorithm: RSA_SHA256,
    canonicalizationAlgorithm: EXC_C14N,
  });
  // xml-crypto types the table with its overloaded interface; CardRsaSha256 implements its callback form.
  sig.SignatureAlgorithms[RSA_SHA256] = CardRsaSha256 as unknown as new () => SignatureAlgorithm;
  sig.addReference({ xpath: "/*", transforms: [ENVELOPED, EXC_C14N], digestAlgorithm: SHA256 });
  return new Promise((resolve, reject) => {
    fail = reject;
    guarded(() =>
      sig.computeSignature(
        unsignedXml,
        { location: { reference: "/*/*[local-name()='Issuer']", action: "after" } },
        guarded((error: Error | null, signed?: SignedXml) => {
          if (error) reject(error);
          else resolve((signed ?? sig).getSignedXml());
        }),
      ),
    )();
  });
}

export interface AssertionPsOptions {
  readonly validitySeconds: number;
  /** 0: every call signs. */
  readonly cacheSeconds: number;
  readonly now?: () => Date;
}

/**
 * Signs assertions PS and reuses one for `cacheSeconds` per signature certificate AND per scope (the
 * requesting origin), so that a burst of calls asks the card once, while an origin never rides on a
 * signature — and so a PIN entry — obtained for another. Concurrent callers share the signature in
 * progress.
 */
export class AssertionPsCache {
  /** Signature certificates whose parsed identity is kept (parsing one costs ~0.4 ms). */
  static readonly MAX_KNOWN_CERTIFICATES = 16;
  readonly #options: AssertionPsOptions;
  readonly #identities = new Map<string, SignerIdentity>();
  readonly #entries = new Map<
    string,
    { expiresAt: number; assertion: Promise<{ xml: string; identity: SignerIdentity }> }
  >();

  constructor(options: AssertionPsOptions) {
    this.#options = options;
  }

  /**
   * `attributesOf` gives the AttributeStatement for this signer (it may throw, e.g. a doctor without
   * a configured specialty); the attributes are part of the cache key.
   */
  async assertionFor(
    signer: AssertionSigner,
    scope = "",
    attributesOf: (identity: SignerIdentity) => readonly AssertionAttribute[] = () => [],
  ): Promise<{ xml: string; identity: SignerIdentity }> {
    const now = this.#options.now ?? (() => new Date());
    const certificatePem = await signer.signatureCertificatePem();
    const identity = this.#identity(certificatePem);
    const attributes = attributesOf(identity);
    // Tied to the card's insertion as well: nothing signed before the card left is served after.
    const presence = signer.presence?.() ?? "";
    const key = `${identity.fingerprint} ${presence} ${scope} ${JSON.stringify(attributes)}`;
    const cached = this.#entries.get(key);
    if (cached !== undefined && cached.expiresAt > now().getTime()) return cached.assertion;
    const issueInstant = now();
    const validityMs = this.#options.validitySeconds * 1000;
    const sign = (issued: Date) =>
      signAssertion(
        assertionPsXml(identity, `_${randomUUID()}`, issued, this.#options.validitySeconds, attributes),
        certificatePem,
        signer,
      );
    // The validity window is fixed before signing, and signing may wait for the user's PIN (up to
    // the PIN page's timeout). An assertion already past half its validity when the signature comes
    // back is signed again with fresh times: the card is unlocked by then, so no second PIN entry.
    const assertion = sign(issueInstant)
      .then((xml) => {
        const signedAt = now();
        return signedAt.getTime() - issueInstant.getTime() > validityMs / 2 ? sign(signedAt) : xml;
      })
      .then((xml) => ({ xml, identity }));
    if (this.#options.cacheSeconds > 0) {
      const entry = { expiresAt: issueInstant.getTime() + this.#options.cacheSeconds * 1000, assertion };
      this.#entries.set(key, entry);
      // A failed signature (PIN, card removed) must not be served from the cache.
      assertion.catch(() => {
        if (this.#entries.get(key) === entry) this.#entries.delete(key);
      });
    }
    return assertion;
  }

  #identity(certificatePem: string): SignerIdentity {
    let identity = this.#identities.get(certificatePem);
    if (identity === undefined) {
      identity = signerIdentity(certificatePem);
      if (this.#identities.size >= AssertionPsCache.MAX_KNOWN_CERTIFICATES) {
        const oldest = this.#identities.keys().next();
        if (!oldest.done) this.#identities.delete(oldest.value);
      }
      this.#identities.set(certificatePem, identity);
    }
    return identity;
  }

  clear(): void {
    this.#entries.clear();
    this.#identities.clear();
  }
}
