/**
 * The per-machine local CA and the `localhost` leaf certificate for wss://localhost.
 *
 * - The CA carries critical name constraints (DNS `localhost`, IP 127.0.0.1/32 and ::1/128) and
 *   basicConstraints cA pathLen 0: even if its key leaked, it could not vouch for any other name.
 * - The CA private key lives in memory only, for the time it takes to sign the leaf; it is never
 *   written to disk (Fortify issue 37, rushstack PR 3719). Renewing the leaf therefore means a new
 *   CA, trusted again (trust-store installation comes with a later issue).
 * - The leaf key file is created with mode 0600; the CA certificate is exported for trusting.
 */
import { X509Certificate, generateKeyPairSync, randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import path from "node:path";
import forge from "node-forge";

/** Leaf lifetime. Browsers cap publicly trusted leaves at 398 days; we stay under it anyway. */
export const LEAF_VALIDITY_DAYS = 397;
/** Renew when the leaf has fewer days left than this. */
export const RENEW_BEFORE_DAYS = 30;
const KEY_BITS = 2048;

export interface LocalTlsMaterial {
  /** PEM of the local CA certificate, to be trusted by browsers. */
  caPem: string;
  certPem: string;
  keyPem: string;
  caFile: string;
  /** True when this call generated new material. */
  generated: boolean;
}

const OID_NAME_CONSTRAINTS = "2.5.29.30";

/**
 * DER of NameConstraints { permittedSubtrees [0] { dNSName "localhost", iPAddress 127.0.0.1/32,
 * iPAddress ::1/128 } } (RFC 5280 §4.2.1.10). node-forge has no encoder for it, so we build the
 * ASN.1 ourselves.
 */
export function localhostNameConstraintsDer(): string {
  const { asn1 } = forge;
  const ctx = asn1.Class.CONTEXT_SPECIFIC;
  const subtree = (name: forge.asn1.Asn1) =>
    asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, [name]);
  const dns = asn1.create(ctx, 2, false, "localhost");
  const ipv4 = asn1.create(ctx, 7, false, String.fromCharCode(127, 0, 0, 1, 255, 255, 255, 255));
  const ipv6Address = "\0".repeat(15) + "\x01";
  const ipv6 = asn1.create(ctx, 7, false, ipv6Address + "\xff".repeat(16));
  const permitted = asn1.create(ctx, 0, true, [subtree(dns), subtree(ipv4), subtree(ipv6)]);
  const constraints = asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, [permitted]);
  return asn1.toDer(constraints).getBytes();
}

function newKeyPair(): {
  privateKey: forge.pki.rsa.PrivateKey;
  publicKey: forge.pki.rsa.PublicKey;
  pem: string;
} {
  // node:crypto generates RSA keys natively (forge's pure-JS generation takes seconds).
  const { privateKey } = generateKeyPairSync("rsa", { modulusLength: KEY_BITS });
  const pem = privateKey.export({ type: "pkcs8", format: "pem" }).toString();
  const forgeKey = forge.pki.privateKeyFromPem(pem) as forge.pki.rsa.PrivateKey;
  return { privateKey: forgeKey, publicKey: forge.pki.setRsaPublicKey(forgeKey.n, forgeKey.e), pem };
}

function serial(): string {
  // Positive 16-byte serial: clear the top bit.
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0] ?? 0) & 0x7f;
  return bytes.toString("hex");
}

export function generateLocalTls(now = new Date()): { caPem: string; certPem: string; keyPem: string } {
  const notBefore = new Date(now.getTime() - 60 * 60 * 1000);
  const notAfter = new Date(now.getTime() + LEAF_VALIDITY_DAYS * 24 * 60 * 60 * 1000);
  const ca = newKeyPair();
  const caCert = forge.pki.createCertificate();
  caCert.publicKey = ca.publicKey;
  caCert.serialNumber = serial();
  caCert.validity.notBefore = notBefore;
  caCert.validity.notAfter = notAfter;
  const caSubject = [
    { name: "commonName", value: `Passerelle local CA ${now.toISOString().slice(0, 10)}` },
    { name: "organizationName", value: "Passerelle (this computer only)" },
  ];
  caCert.setSubject(caSubject);
  caCert.setIssuer(caSubject);
  caCert.setExtensions([
    { name: "basicConstraints", cA: true, pathLenConstraint: 0, critical: true },
    { name: "keyUsage", keyCertSign: true, cRLSign: true, critical: true },
    { name: "subjectKeyIdentifier" },
    { id: OID_NAME_CONSTRAINTS, critical: true, value: localhostNameConstraintsDer() },
  ]);
  caCert.sign(ca.privateKey, forge.md.sha256.create());

  const leaf = newKeyPair();
  const cert = forge.pki.createCertificate();
  cert.publicKey = leaf.publicKey;
  cert.serialNumber = serial();
  cert.validity.notBefore = notBefore;
  cert.validity.notAfter = notAfter;
  cert.setSubject([{ name: "commonName", value: "localhost" }]);
  cert.setIssuer(caSubject);
  cert.setExtensions([
    { name: "basicConstraints", cA: false, critical: true },
    { name: "keyUsage", digitalSignature: true, keyEncipherment: true, critical: true },
    { name: "extKeyUsage", serverAuth: true },
    { name: "subjectKeyIdentifier" },
    { name: "authorityKeyIdentifier", keyIdentifier: caCert.generateSubjectKeyIdentifier().getBytes() },
    {
      name: "subjectAltName",
      altNames: [
        { type: 2, value: "localhost" },
        { type: 7, ip: "127.0.0.1" },
        { type: 7, ip: "::1" },
      ],
    },
  ]);
  cert.sign(ca.privateKey, forge.md.sha256.create());
  // The CA private key goes out of scope here and is never serialised.
  return {
    caPem: forge.pki.certificateToPem(caCert),
    certPem: forge.pki.certificateToPem(cert),
    keyPem: leaf.pem,
  };
}

function stillGood(caPem: string, certPem: string, now: Date): boolean {
  try {
    const ca = new X509Certificate(caPem);
    const leaf = new X509Certificate(certPem);
    const renewAt = new Date(leaf.validTo).getTime() - RENEW_BEFORE_DAYS * 24 * 60 * 60 * 1000;
    return leaf.checkIssued(ca) && leaf.verify(ca.publicKey) && now.getTime() < renewAt;
  } catch {
    return false;
  }
}

function writeAtomically(file: string, content: string, mode: number): void {
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, content, { mode });
  chmodSync(temporary, mode); // the umask may have removed bits; 0600 must be exact
  renameSync(temporary, file);
}

/** Loads the material from `<dataDir>/tls`, generating (and exporting) it when missing or due. */
export function ensureLocalTls(dataDir: string, now = new Date()): LocalTlsMaterial {
  const dir = path.join(dataDir, "tls");
  const caFile = path.join(dir, "passerelle-local-ca.pem");
  const certFile = path.join(dir, "localhost.pem");
  const keyFile = path.join(dir, "localhost-key.pem");
  if (existsSync(caFile) && existsSync(certFile) && existsSync(keyFile)) {
    const caPem = readFileSync(caFile, "utf8");
    const certPem = readFileSync(certFile, "utf8");
    if (stillGood(caPem, certPem, now)) {
      return { caPem, certPem, keyPem: readFileSync(keyFile, "utf8"), caFile, generated: false };
    }
  }
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const material = generateLocalTls(now);
  writeAtomically(keyFile, material.keyPem, 0o600);
  writeAtomically(certFile, material.certPem, 0o644);
  writeAtomically(caFile, material.caPem, 0o644);
  return { ...material, caFile, generated: true };
}
