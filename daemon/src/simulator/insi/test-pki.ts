/**
 * The INSi simulator's own test PKI, generated at run time (no private key is ever committed):
 *
 *   TEST AC IGC-SANTE ELEMENTAIRE ORGANISATIONS (SIMULATEUR INSI)   one CA for everything below
 *   ├── the simulator's TLS server certificate (localhost, 127.0.0.1, ::1)
 *   ├── organisation certificates (CN=INSI-AUTO / INSI-MANU, or a wrong CN) as PKCS#12
 *   └── CPS-like signature certificates for the assertion PS (card mode tests)
 *
 * Keys come from node:crypto (fast) and are handed to node-forge, which builds the certificates and
 * the PKCS#12 files. Every name says TEST/SIMULATEUR so that nobody mistakes them for real ones.
 * The card lab's PKI (simulator/pki, the virtual CPS cards' certificates) is a separate hierarchy;
 * the simulator trusts it by default too. This one exists because the simulator needs what that one
 * does not issue: a TLS server certificate with IP SANs, PKCS#12 files, expired or chain-less
 * organisation certificates, and CPS certificates with the card-type extension.
 */
import { generateKeyPairSync, randomBytes, type KeyObject, createPrivateKey } from "node:crypto";
import forge from "node-forge";

export const TEST_KEY_BITS = 2048;
const CA_VALIDITY_DAYS = 3650;
const LEAF_VALIDITY_DAYS = 365;
const SERIAL_BYTES = 16;
/** CPS certificate extension carrying the card type (byte 2: 0 CPS, 1 CPF, 2 CDE-CPE, 3 CPA). */
export const CARD_TYPE_EXTENSION_OID = "1.2.250.1.71.1.2.2";

export interface TestCertificate {
  readonly certPem: string;
  readonly keyPem: string;
  readonly privateKey: KeyObject;
}

export interface OrganisationCredentialsFile {
  /** The PKCS#12 (DER) with key, certificate and (unless omitted) the CA chain. */
  readonly pkcs12: Buffer;
  readonly passphrase: string;
  readonly certPem: string;
}

export interface InsiTestPki {
  readonly caPem: string;
  readonly server: TestCertificate;
  organisation(
    commonName: string,
    options?: { expired?: boolean; withoutChain?: boolean },
  ): OrganisationCredentialsFile;
  cpsSignature(holder: CpsTestHolder, options?: { cardType?: number; expired?: boolean }): TestCertificate;
}

export interface CpsTestHolder {
  /** idNat: the card holder's national identifier, the CN of the certificate. */
  readonly idNat: string;
  readonly lastName: string;
  readonly firstName: string;
  readonly profession: string;
}

type Attribute = { type?: string; shortName?: string; value: string };

function keyPair(): {
  forgeKey: forge.pki.rsa.PrivateKey;
  forgePublic: forge.pki.rsa.PublicKey;
  keyPem: string;
  privateKey: KeyObject;
} {
  const { privateKey } = generateKeyPairSync("rsa", { modulusLength: TEST_KEY_BITS });
  const keyPem = privateKey.export({ type: "pkcs8", format: "pem" }).toString();
  const forgeKey = forge.pki.privateKeyFromPem(keyPem) as forge.pki.rsa.PrivateKey;
  const forgePublic = forge.pki.setRsaPublicKey(forgeKey.n, forgeKey.e);
  return { forgeKey, forgePublic, keyPem, privateKey: createPrivateKey(keyPem) };
}

function daysFromNow(days: number): Date {
  return new Date(Date.now() + days * 86_400_000);
}

interface IssueOptions {
  subject: Attribute[];
  publicKey: forge.pki.rsa.PublicKey;
  issuer: { cert: forge.pki.Certificate | undefined; key: forge.pki.rsa.PrivateKey; subject: Attribute[] };
  extensions: object[];
  notBefore: Date;
  notAfter: Date;
}

function issue(options: IssueOptions): forge.pki.Certificate {
  const cert = forge.pki.createCertificate();
  // A positive serial: first byte below 0x80.
  cert.serialNumber = "01" + randomBytes(SERIAL_BYTES - 1).toString("hex");
  cert.publicKey = options.publicKey;
  cert.validity.notBefore = options.notBefore;
  cert.validity.notAfter = options.notAfter;
  cert.setSubject(options.subject);
  cert.setIssuer(
    options.issuer.cert === undefined ? options.subject : options.issuer.cert.subject.attributes,
  );
  cert.setExtensions(options.extensions);
  cert.sign(options.issuer.key, forge.md.sha256.create());
  return cert;
}

/** Generate a fresh simulator PKI (a CA and the server certificate; leaves on demand). */
export function createInsiTestPki(): InsiTestPki {
  const caKeys = keyPair();
  const caSubject: Attribute[] = [
    { shortName: "C", value: "FR" },
    { shortName: "O", value: "PASSERELLE TEST" },
    { shortName: "CN", value: "TEST AC IGC-SANTE ELEMENTAIRE ORGANISATIONS (SIMULATEUR INSI)" },
  ];
  const caCert = issue({
    subject: caSubject,
    publicKey: caKeys.forgePublic,
    issuer: { cert: undefined, key: caKeys.forgeKey, subject: caSubject },
    extensions: [
      { name: "basicConstraints", cA: true, critical: true },
      { name: "keyUsage", keyCertSign: true, cRLSign: true, critical: true },
      { name: "subjectKeyIdentifier" },
    ],
    notBefore: daysFromNow(-1),
    notAfter: daysFromNow(CA_VALIDITY_DAYS),
  });
  const caPem = forge.pki.certificateToPem(caCert);
  const issuer = { cert: caCert, key: caKeys.forgeKey, subject: caSubject };

  const serverKeys = keyPair();
  const serverCert = issue({
    subject: [{ shortName: "CN", value: "localhost" }],
    publicKey: serverKeys.forgePublic,
    issuer,
    extensions: [
      { name: "basicConstraints", cA: false },
      { name: "keyUsage", digitalSignature: true, keyEncipherment: true },
      { name: "extKeyUsage", serverAuth: true },
      {
        name: "subjectAltName",
        altNames: [
          { type: 2, value: "localhost" },
          { type: 7, ip: "127.0.0.1" },
          { type: 7, ip: "::1" },
        ],
      },
    ],
    notBefore: daysFromNow(-1),
    notAfter: daysFromNow(LEAF_VALIDITY_DAYS),
  });

  return {
    caPem,
    server: {
      certPem: forge.pki.certificateToPem(serverCert),
      keyPem: serverKeys.keyPem,
      privateKey: serverKeys.privateKey,
    },
    organisation(commonName, options = {}) {
      const keys = keyPair();
      const cert = issue({
        subject: [
          { shortName: "C", value: "FR" },
          { shortName: "O", value: "CLINIQUE DE TEST" },
          { shortName: "OU", value: "899900063480" },
          { shortName: "CN", value: commonName },
        ],
        publicKey: keys.forgePublic,
        issuer,
        extensions: [
          { name: "basicConstraints", cA: false },
          { name: "keyUsage", digitalSignature: true, keyEncipherment: true },
          { name: "extKeyUsage", clientAuth: true },
        ],
        notBefore: options.expired ? daysFromNow(-LEAF_VALIDITY_DAYS) : daysFromNow(-1),
        notAfter: options.expired ? daysFromNow(-1) : daysFromNow(LEAF_VALIDITY_DAYS),
      });
      const passphrase = randomBytes(9).toString("base64url");
      const chain = options.withoutChain ? [cert] : [cert, caCert];
      const asn1 = forge.pkcs12.toPkcs12Asn1(keys.forgeKey, chain, passphrase, { algorithm: "3des" });
      const pkcs12 = Buffer.from(forge.asn1.toDer(asn1).getBytes(), "binary");
      return { pkcs12, passphrase, certPem: forge.pki.certificateToPem(cert) };
    },
    cpsSignature(holder, options = {}) {
      const keys = keyPair();
      // Extension value: DER INTEGER whose single content byte (byte 2 of the value) is the card type.
      const cardType = String.fromCharCode(0x02, 0x01, options.cardType ?? 0);
      const cert = issue({
        subject: [
          { shortName: "C", value: "FR" },
          { type: "2.5.4.12", value: holder.profession },
          { type: "2.5.4.4", value: holder.lastName },
          { type: "2.5.4.42", value: holder.firstName },
          { shortName: "CN", value: holder.idNat },
        ],
        publicKey: keys.forgePublic,
        issuer,
        extensions: [
          { name: "basicConstraints", cA: false },
          { name: "keyUsage", nonRepudiation: true, critical: true },
          { id: CARD_TYPE_EXTENSION_OID, value: cardType },
        ],
        notBefore: options.expired ? daysFromNow(-LEAF_VALIDITY_DAYS) : daysFromNow(-1),
        notAfter: options.expired ? daysFromNow(-1) : daysFromNow(LEAF_VALIDITY_DAYS),
      });
      return { certPem: forge.pki.certificateToPem(cert), keyPem: keys.keyPem, privateKey: keys.privateKey };
    },
  };
}

let shared: InsiTestPki | undefined;

/** The process-wide simulator PKI, generated on first use. */
export function getInsiTestPki(): InsiTestPki {
  shared ??= createInsiTestPki();
  return shared;
}
