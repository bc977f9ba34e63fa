/**
 * The local CA, judged by openssl (a tool we did not write): the leaf verifies, the CA is
 * name-constrained to loopback so a leaf for any other name fails, and no CA key is on disk.
 */
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { X509Certificate, createPrivateKey, createPublicKey } from "node:crypto";
import { mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { test } from "node:test";
import forge from "node-forge";
import { ensureLocalTls } from "../../src/tls/local-ca.ts";
import { localhostNameConstraintsDer } from "../../src/tls/local-ca-issue.ts";

const dataDir = mkdtempSync(path.join(tmpdir(), "passerelle-tls-"));
const material = await ensureLocalTls(dataDir);
const tlsDir = path.join(dataDir, "tls");

function openssl(args: string[]): { status: number | null; out: string } {
  const result = spawnSync("openssl", args, { encoding: "utf8" });
  return { status: result.status, out: `${result.stdout}${result.stderr}` };
}

test("openssl verifies the leaf against the exported CA, for localhost and both loopback IPs", () => {
  const leafFile = path.join(tlsDir, "localhost.pem");
  for (const [flag, name] of [
    ["-verify_hostname", "localhost"],
    ["-verify_ip", "127.0.0.1"],
    ["-verify_ip", "::1"],
  ] as const) {
    const result = openssl(["verify", "-CAfile", material.caFile, flag, name, leafFile]);
    assert.equal(result.status, 0, result.out);
  }
  assert.notEqual(
    openssl(["verify", "-CAfile", material.caFile, "-verify_hostname", "example.com", leafFile]).status,
    0,
  );
});

test("the CA is critical-name-constrained, pathLen 0", () => {
  const text = execFileSync("openssl", ["x509", "-in", material.caFile, "-noout", "-text"], {
    encoding: "utf8",
  });
  assert.match(
    text,
    /X509v3 Name Constraints: critical\s+Permitted:\s+DNS:localhost\s+IP:127\.0\.0\.1\/255\.255\.255\.255\s+IP:0:0:0:0:0:0:0:1\/FFFF:FFFF:FFFF:FFFF:FFFF:FFFF:FFFF:FFFF/,
  );
  assert.match(text, /X509v3 Basic Constraints: critical\s+CA:TRUE, pathlen:0/);
});

test("a leaf for another name, signed by a CA with the same constraints, is refused by openssl", () => {
  // We cannot use our CA (its key is gone, by design): build an identical constrained CA here.
  const keys = forge.pki.rsa.generateKeyPair({ bits: 1024 });
  const ca = forge.pki.createCertificate();
  ca.publicKey = keys.publicKey;
  ca.serialNumber = "01";
  ca.validity.notBefore = new Date(Date.now() - 60_000);
  ca.validity.notAfter = new Date(Date.now() + 86_400_000);
  ca.setSubject([{ name: "commonName", value: "test constrained CA" }]);
  ca.setIssuer([{ name: "commonName", value: "test constrained CA" }]);
  ca.setExtensions([
    { name: "basicConstraints", cA: true, pathLenConstraint: 0, critical: true },
    { name: "keyUsage", keyCertSign: true, critical: true },
    { id: "2.5.29.30", critical: true, value: localhostNameConstraintsDer() },
  ]);
  ca.sign(keys.privateKey, forge.md.sha256.create());
  const leaf = forge.pki.createCertificate();
  leaf.publicKey = keys.publicKey;
  leaf.serialNumber = "02";
  leaf.validity.notBefore = ca.validity.notBefore;
  leaf.validity.notAfter = ca.validity.notAfter;
  leaf.setSubject([{ name: "commonName", value: "bank.example" }]);
  leaf.setIssuer(ca.subject.attributes);
  leaf.setExtensions([{ name: "subjectAltName", altNames: [{ type: 2, value: "bank.example" }] }]);
  leaf.sign(keys.privateKey, forge.md.sha256.create());
  const dir = mkdtempSync(path.join(tmpdir(), "passerelle-nc-"));
  writeFileSync(path.join(dir, "ca.pem"), forge.pki.certificateToPem(ca));
  writeFileSync(path.join(dir, "leaf.pem"), forge.pki.certificateToPem(leaf));
  const result = openssl(["verify", "-CAfile", path.join(dir, "ca.pem"), path.join(dir, "leaf.pem")]);
  assert.notEqual(result.status, 0);
  assert.match(result.out, /permitted subtree violation/);
});

test("the leaf key is 0600; no file on disk holds the CA's private key", () => {
  const keyFile = path.join(tlsDir, "localhost-key.pem");
  assert.equal(statSync(keyFile).mode & 0o777, 0o600);
  const caPublic = new X509Certificate(material.caPem).publicKey.export({ type: "spki", format: "der" });
  for (const name of readdirSync(tlsDir)) {
    const content = readFileSync(path.join(tlsDir, name), "utf8");
    for (const block of content.match(
      /-----BEGIN [A-Z ]*PRIVATE KEY-----[^-]+-----END [A-Z ]*PRIVATE KEY-----/g,
    ) ?? []) {
      const publicDer = createPublicKey(createPrivateKey(block)).export({ type: "spki", format: "der" });
      assert.notDeepEqual(publicDer, caPublic, `${name} holds the CA key`);
    }
  }
});

test("a second start reuses the material; a broken leaf is regenerated", async () => {
  const again = await ensureLocalTls(dataDir);
  assert.equal(again.generated, false);
  assert.equal(again.certPem, material.certPem);
  writeFileSync(path.join(tlsDir, "localhost.pem"), "garbage");
  const renewed = await ensureLocalTls(dataDir);
  assert.equal(renewed.generated, true);
  assert.notEqual(renewed.caPem, material.caPem);
});

test("a leaf close to expiry is renewed", async () => {
  const later = new Date(Date.now() + 380 * 24 * 60 * 60 * 1000);
  assert.equal((await ensureLocalTls(dataDir, later)).generated, true);
});
