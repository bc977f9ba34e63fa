/**
 * Issuing the local CA and the `localhost` leaf (see local-ca.ts): the only part of the local CA
 * that needs node-forge (node:crypto cannot make a certificate), loaded by ensureLocalTls on first
 * use, when the material is missing or due, never at an ordinary start.
 */
import { generateKeyPairSync, randomBytes } from "node:crypto";
import forge from "node-forge";
import { LEAF_VALIDITY_DAYS } from "./local-ca.ts";

const KEY_BITS = 2048;

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
