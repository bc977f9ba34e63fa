/**
 * The lab's test PKI: an "IGC-Santé"-like hierarchy generated at run time, never committed.
 *
 *   TEST AC RACINE IGC-SANTE (root)
 *   ├── TEST AC IGC-SANTE FORT PERSONNES      → CPS certificates (authentication + signature)
 *   └── TEST AC IGC-SANTE FORT ORGANISATIONS  → organisation (server/client) certificates
 *
 * CPS subjects use the real IGC-Santé layout, a multi-valued first RDN:
 * `CN=<idNat>+SN=<nom>+GN=<prénom>, title=<profession>, C=FR` (see docs/cards.md). node-forge cannot
 * encode a multi-valued RDN, so the TBSCertificate is built with forge, its subject replaced, and it is
 * signed with node:crypto. Every name says TEST so that nobody mistakes these for real ones.
 *
 * RSA-2048 keys come from node:crypto at run time; the root and the two sub-CAs are generated once per
 * process (getTestPki()) so that every emulated card and the INSi simulator share one trust anchor.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  randomBytes,
  sign,
  X509Certificate,
  type KeyObject,
} from "node:crypto";
import forge from "node-forge";

export const TEST_PKI_KEY_BITS = 2048;
const CA_VALIDITY_YEARS = 20;
const LEAF_VALIDITY_YEARS = 3;
const SERIAL_BYTES = 16;

const OID = {
  commonName: "2.5.4.3",
  surname: "2.5.4.4",
  country: "2.5.4.6",
  organization: "2.5.4.10",
  organizationalUnit: "2.5.4.11",
  title: "2.5.4.12",
  givenName: "2.5.4.42",
  pseudonym: "2.5.4.65",
  sha256WithRsa: "1.2.840.113549.1.1.11",
} as const;

export interface IssuedCertificate {
  readonly der: Uint8Array;
  readonly pem: string;
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
}

export interface TestCa extends IssuedCertificate {
  /** The Subject Key Identifier, reused as the children's Authority Key Identifier. */
  readonly keyId: string;
  readonly subjectAttributes: forge.pki.CertificateField[];
}

export interface TestPki {
  readonly root: TestCa;
  readonly personnes: TestCa;
  readonly organisations: TestCa;
}

/** Who the CPS belongs to. idNat = idType + nationalId (e.g. "8" + an 11-digit RPPS). */
export interface CpsHolderSpec {
  readonly idType: string;
  readonly nationalId: string;
  readonly lastName: string;
  readonly firstName: string;
  /** IGC-Santé `title`: the profession's label ("Médecin", "Pharmacien"…). */
  readonly profession: string;
  /**
   * A CPE (an establishment's employee card): its subject names the structure, not the person —
   * `C=FR, O=<structure>, OU=<structure id>, title=<title>, pseudonym=<…>, CN=<idNat>` with no SN or
   * GN (the layout a public certificate parser shows, ../shared/domain/cards.md; the exact values of
   * a real card are not public). lastName and firstName are then not written.
   */
  readonly employee?: {
    readonly organization: string;
    readonly structureId: string;
    readonly pseudonym: string;
  };
}

export interface CpsCertificates {
  readonly authentication: IssuedCertificate;
  readonly signature: IssuedCertificate;
}

export interface CpsCertificateOptions {
  /** Issue certificates whose validity ended yesterday. */
  readonly expired?: boolean;
  /** Issue certificates that end this many days from now (a card soon to expire); ignored with `expired`. */
  readonly expiresInDays?: number;
  /** Pre-generated key pairs (tests reuse keys to stay fast). */
  readonly keys?: { authentication: KeyPair; signature: KeyPair };
}

export interface KeyPair {
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
}

export function generateRsaKeyPair(): KeyPair {
  return generateKeyPairSync("rsa", { modulusLength: TEST_PKI_KEY_BITS, publicExponent: 0x10001 });
}

type Asn1 = forge.asn1.Asn1;
const asn1 = forge.asn1;

function attributeTypeAndValue(oid: string, value: string, printable = false): Asn1 {
  return asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, [
    asn1.create(asn1.Class.UNIVERSAL, asn1.Type.OID, false, asn1.oidToDer(oid).getBytes()),
    printable
      ? asn1.create(asn1.Class.UNIVERSAL, asn1.Type.PRINTABLESTRING, false, value)
      : asn1.create(asn1.Class.UNIVERSAL, asn1.Type.UTF8, false, forge.util.encodeUtf8(value)),
  ]);
}

/** A SET OF AttributeTypeAndValue, members in DER order (X.690 §11.6). */
function rdn(...members: Asn1[]): Asn1 {
  const sorted = members
    .map((m) => ({ m, der: asn1.toDer(m).getBytes() }))
    .sort((a, b) => (a.der < b.der ? -1 : a.der > b.der ? 1 : 0))
    .map((x) => x.m);
  return asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SET, true, sorted);
}

function cpsSubject(holder: CpsHolderSpec): Asn1 {
  if (holder.employee) return cpeSubject(holder, holder.employee);
  return asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, [
    rdn(
      attributeTypeAndValue(OID.commonName, holder.idType + holder.nationalId),
      attributeTypeAndValue(OID.surname, holder.lastName),
      attributeTypeAndValue(OID.givenName, holder.firstName),
    ),
    rdn(attributeTypeAndValue(OID.title, holder.profession)),
    rdn(attributeTypeAndValue(OID.country, "FR", true)),
  ]);
}

/** The CPE layout: one attribute per RDN, the structure and a card number, no person's name. */
function cpeSubject(holder: CpsHolderSpec, employee: NonNullable<CpsHolderSpec["employee"]>): Asn1 {
  return asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, [
    rdn(attributeTypeAndValue(OID.country, "FR", true)),
    rdn(attributeTypeAndValue(OID.organization, employee.organization)),
    rdn(attributeTypeAndValue(OID.organizationalUnit, employee.structureId)),
    rdn(attributeTypeAndValue(OID.title, holder.profession)),
    rdn(attributeTypeAndValue(OID.pseudonym, employee.pseudonym)),
    rdn(attributeTypeAndValue(OID.commonName, holder.idType + holder.nationalId)),
  ]);
}

function caAttributes(cn: string): forge.pki.CertificateField[] {
  return [
    {
      type: OID.country,
      value: "FR",
      valueTagClass: asn1.Type.PRINTABLESTRING as unknown as forge.asn1.Class,
    },
    {
      type: OID.organization,
      value: "PASSERELLE LAB (TEST)",
      valueTagClass: asn1.Type.UTF8 as unknown as forge.asn1.Class,
    },
    {
      type: OID.organizationalUnit,
      value: "IGC-SANTE TEST",
      valueTagClass: asn1.Type.UTF8 as unknown as forge.asn1.Class,
    },
    { type: OID.commonName, value: cn, valueTagClass: asn1.Type.UTF8 as unknown as forge.asn1.Class },
  ];
}

function toForgePublicKey(key: KeyObject): forge.pki.PublicKey {
  return forge.pki.publicKeyFromPem(key.export({ type: "spki", format: "pem" }).toString());
}

interface IssueRequest {
  readonly subjectAttributes?: forge.pki.CertificateField[];
  readonly subjectAsn1?: Asn1;
  readonly keys: KeyPair;
  readonly issuer?: TestCa;
  readonly ca: boolean;
  readonly keyUsage: Record<string, boolean>;
  readonly extKeyUsage?: Record<string, boolean>;
  readonly notBefore: Date;
  readonly notAfter: Date;
}

function issue(request: IssueRequest): IssuedCertificate & { keyId: string } {
  const cert = forge.pki.createCertificate();
  cert.publicKey = toForgePublicKey(request.keys.publicKey);
  const serial = randomBytes(SERIAL_BYTES);
  serial[0] = serial[0]! & 0x7f; // positive INTEGER
  cert.serialNumber = serial.toString("hex");
  cert.validity.notBefore = request.notBefore;
  cert.validity.notAfter = request.notAfter;
  cert.setSubject(request.subjectAttributes ?? [{ type: OID.country, value: "FR" }]);
  cert.setIssuer(request.issuer?.subjectAttributes ?? request.subjectAttributes ?? []);
  const keyId = forge.util.bytesToHex(cert.generateSubjectKeyIdentifier().getBytes());
  const extensions: object[] = [
    { name: "basicConstraints", cA: request.ca, critical: true },
    { name: "keyUsage", critical: true, ...request.keyUsage },
    { name: "subjectKeyIdentifier", subjectKeyIdentifier: keyId },
    { name: "authorityKeyIdentifier", keyIdentifier: forge.util.hexToBytes(request.issuer?.keyId ?? keyId) },
  ];
  if (request.extKeyUsage) extensions.push({ name: "extKeyUsage", ...request.extKeyUsage });
  cert.setExtensions(extensions);
  cert.signatureOid = OID.sha256WithRsa;
  (cert as unknown as { siginfo: { algorithmOid: string } }).siginfo.algorithmOid = OID.sha256WithRsa;

  const tbs = (
    forge.pki as unknown as { getTBSCertificate(c: forge.pki.Certificate): Asn1 }
  ).getTBSCertificate(cert);
  // TBSCertificate: [0] version, serialNumber, signature, issuer, validity, subject, spki, [3] extensions.
  if (request.subjectAsn1) (tbs.value as Asn1[])[5] = request.subjectAsn1;
  const tbsDer = Buffer.from(asn1.toDer(tbs).getBytes(), "binary");
  const signingKey = request.issuer?.privateKey ?? request.keys.privateKey;
  const signature = sign("sha256", tbsDer, signingKey);
  const certificate = asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, [
    tbs,
    asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, [
      asn1.create(asn1.Class.UNIVERSAL, asn1.Type.OID, false, asn1.oidToDer(OID.sha256WithRsa).getBytes()),
      asn1.create(asn1.Class.UNIVERSAL, asn1.Type.NULL, false, ""),
    ]),
    asn1.create(asn1.Class.UNIVERSAL, asn1.Type.BITSTRING, false, "\u0000" + signature.toString("binary")),
  ]);
  const der = Buffer.from(asn1.toDer(certificate).getBytes(), "binary");
  const pem = new X509Certificate(der).toString();
  return {
    der: new Uint8Array(der),
    pem,
    privateKey: request.keys.privateKey,
    publicKey: request.keys.publicKey,
    keyId,
  };
}

function yearsFromNow(years: number): Date {
  const d = new Date();
  d.setUTCFullYear(d.getUTCFullYear() + years);
  return d;
}

function daysFromNow(days: number): Date {
  return new Date(Date.now() + days * 86_400_000);
}

function createCa(cn: string, parent?: TestCa): TestCa {
  const subjectAttributes = caAttributes(cn);
  const issued = issue({
    subjectAttributes,
    keys: generateRsaKeyPair(),
    ...(parent ? { issuer: parent } : {}),
    ca: true,
    keyUsage: { keyCertSign: true, cRLSign: true },
    notBefore: daysFromNow(-1),
    notAfter: yearsFromNow(CA_VALIDITY_YEARS),
  });
  return { ...issued, subjectAttributes };
}

/** A fresh hierarchy (three RSA-2048 keys). Most callers want getTestPki(). */
export function createTestPki(): TestPki {
  const root = createCa("TEST AC RACINE IGC-SANTE");
  return {
    root,
    personnes: createCa("TEST AC IGC-SANTE FORT PERSONNES", root),
    organisations: createCa("TEST AC IGC-SANTE FORT ORGANISATIONS", root),
  };
}

/**
 * Where processes that must share one test PKI (`lab insert` in one, `lab insi` in another) keep
 * it: PEM certificates and PKCS#8 keys (mode 0600) in this directory, created at run time.
 */
export const TEST_PKI_DIR_ENV = "PASSERELLE_TEST_PKI_DIR";
const CA_NAMES = ["root", "personnes", "organisations"] as const;

function loadCa(dir: string, name: string): TestCa {
  const pem = readFileSync(path.join(dir, `${name}.pem`), "utf8");
  const privateKey = createPrivateKey(readFileSync(path.join(dir, `${name}.key`), "utf8"));
  const x509 = new X509Certificate(pem);
  const forgeCert = forge.pki.certificateFromPem(pem);
  const ski = forgeCert.getExtension("subjectKeyIdentifier") as { subjectKeyIdentifier?: string } | undefined;
  if (!ski?.subjectKeyIdentifier) throw new Error(`test PKI ${name}: no subjectKeyIdentifier`);
  return {
    der: new Uint8Array(x509.raw),
    pem,
    privateKey,
    publicKey: x509.publicKey,
    keyId: ski.subjectKeyIdentifier,
    subjectAttributes: forgeCert.subject.attributes,
  };
}

/** Saves a test PKI (certificates and keys) so that another process can load it. */
export function saveTestPki(pki: TestPki, dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  for (const name of CA_NAMES) {
    writeFileSync(path.join(dir, `${name}.pem`), pki[name].pem);
    writeFileSync(
      path.join(dir, `${name}.key`),
      pki[name].privateKey.export({ type: "pkcs8", format: "pem" }),
      {
        mode: 0o600,
      },
    );
  }
}

export function loadTestPki(dir: string): TestPki {
  return {
    root: loadCa(dir, "root"),
    personnes: loadCa(dir, "personnes"),
    organisations: loadCa(dir, "organisations"),
  };
}

let shared: TestPki | undefined;

/**
 * The process-wide test PKI, generated on first use; with PASSERELLE_TEST_PKI_DIR set, loaded from
 * (or saved to) that directory so that several lab processes trust one root.
 */
export function getTestPki(): TestPki {
  if (shared) return shared;
  const dir = process.env[TEST_PKI_DIR_ENV];
  if (dir && existsSync(path.join(dir, "organisations.key"))) {
    shared = loadTestPki(dir);
  } else {
    shared = createTestPki();
    if (dir) saveTestPki(shared, dir);
  }
  return shared;
}

/** The CPS's two certificates, issued by the personnes branch. */
export function issueCpsCertificates(
  holder: CpsHolderSpec,
  options: CpsCertificateOptions = {},
  pki: TestPki = getTestPki(),
): CpsCertificates {
  const notBefore = options.expired ? yearsFromNow(-LEAF_VALIDITY_YEARS) : daysFromNow(-1);
  const notAfter = options.expired
    ? daysFromNow(-1)
    : options.expiresInDays !== undefined
      ? daysFromNow(options.expiresInDays)
      : yearsFromNow(LEAF_VALIDITY_YEARS);
  const subjectAsn1 = cpsSubject(holder);
  const common = { subjectAsn1, issuer: pki.personnes, ca: false, notBefore, notAfter } as const;
  const authentication = issue({
    ...common,
    keys: options.keys?.authentication ?? generateRsaKeyPair(),
    keyUsage: { digitalSignature: true, keyEncipherment: true },
    extKeyUsage: { clientAuth: true, emailProtection: true },
  });
  const signature = issue({
    ...common,
    keys: options.keys?.signature ?? generateRsaKeyPair(),
    keyUsage: { nonRepudiation: true },
  });
  return { authentication, signature };
}

/** An organisation certificate (e.g. CN=INSI-AUTO for INSi mutual TLS) from the organisations branch. */
export function issueOrganisationCertificate(
  commonName: string,
  organisation: string,
  pki: TestPki = getTestPki(),
): IssuedCertificate {
  return issue({
    subjectAttributes: [
      { type: OID.country, value: "FR" },
      { type: OID.organization, value: organisation },
      { type: OID.commonName, value: commonName },
    ],
    keys: generateRsaKeyPair(),
    issuer: pki.organisations,
    ca: false,
    keyUsage: { digitalSignature: true, keyEncipherment: true },
    extKeyUsage: { clientAuth: true, serverAuth: true },
    notBefore: daysFromNow(-1),
    notAfter: yearsFromNow(LEAF_VALIDITY_YEARS),
  });
}

/** The public key of a DER certificate (node:crypto), for verifying what the card signs. */
export function publicKeyOf(certificateDer: Uint8Array): KeyObject {
  return createPublicKey(
    new X509Certificate(certificateDer).publicKey.export({ type: "spki", format: "pem" }),
  );
}
