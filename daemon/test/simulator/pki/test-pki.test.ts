import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { X509Certificate } from "node:crypto";
import forge from "node-forge";
import {
  createTestPki,
  issueCpsCertificates,
  issueOrganisationCertificate,
  loadTestPki,
  saveTestPki,
} from "../../../src/simulator/pki/test-pki.ts";

const pki = createTestPki();
const holder = {
  idType: "8",
  nationalId: "99700001234",
  lastName: "DUPONT",
  firstName: "MARIE",
  profession: "Médecin",
};

test("the hierarchy chains: root → personnes / organisations → leaves", () => {
  const root = new X509Certificate(pki.root.der);
  assert.ok(root.verify(root.publicKey));
  assert.ok(new X509Certificate(pki.personnes.der).verify(root.publicKey));
  assert.ok(new X509Certificate(pki.organisations.der).verify(root.publicKey));
  assert.ok(new X509Certificate(pki.personnes.der).ca);
  const cps = issueCpsCertificates(holder, {}, pki);
  for (const leaf of [cps.authentication, cps.signature]) {
    const x = new X509Certificate(leaf.der);
    assert.ok(x.verify(new X509Certificate(pki.personnes.der).publicKey));
    assert.equal(x.ca, false);
    assert.equal(x.issuer, new X509Certificate(pki.personnes.der).subject);
  }
  const org = new X509Certificate(issueOrganisationCertificate("INSI-AUTO", "CLINIQUE TEST", pki).der);
  assert.ok(org.verify(new X509Certificate(pki.organisations.der).publicKey));
  assert.match(org.subject, /CN=INSI-AUTO/);
});

test("CPS subjects use the IGC-Santé multi-valued RDN: CN=idNat+SN+GN, then title, then C", () => {
  const cps = issueCpsCertificates(holder, {}, pki);
  const asn1 = forge.asn1.fromDer(forge.util.createBuffer(Buffer.from(cps.signature.der).toString("binary")));
  const cert = forge.pki.certificateFromAsn1(asn1);
  const tbs = (asn1.value as forge.asn1.Asn1[])[0]!.value as forge.asn1.Asn1[];
  const rdns = tbs[5]!.value as forge.asn1.Asn1[];
  assert.equal(rdns.length, 3, "three RDNs");
  const oids = (set: forge.asn1.Asn1) =>
    (set.value as forge.asn1.Asn1[]).map((atv) =>
      forge.asn1.derToOid((atv.value as forge.asn1.Asn1[])[0]!.value as string),
    );
  assert.deepEqual(oids(rdns[0]!).sort(), ["2.5.4.3", "2.5.4.4", "2.5.4.42"].sort());
  assert.deepEqual(oids(rdns[1]!), ["2.5.4.12"]);
  assert.deepEqual(oids(rdns[2]!), ["2.5.4.6"]);
  assert.equal(cert.subject.getField("CN").value, "899700001234");
  const x = new X509Certificate(cps.signature.der);
  assert.match(x.subject, /CN=899700001234/);
  assert.match(x.subject, /SN=DUPONT/);
  assert.match(x.subject, /GN=MARIE/);
  assert.match(x.subject, /title=Médecin/);
});

test("the signature certificate is non-repudiation only; expired certificates ended yesterday", () => {
  const cps = issueCpsCertificates(holder, { expired: true }, pki);
  const x = new X509Certificate(cps.signature.der);
  assert.ok(Date.parse(x.validTo) < Date.now());
  const cert = forge.pki.certificateFromPem(cps.signature.pem);
  const ku = cert.getExtension("keyUsage") as { nonRepudiation?: boolean; digitalSignature?: boolean };
  assert.equal(ku.nonRepudiation, true);
  assert.equal(ku.digitalSignature, false);
});

test("a saved test PKI loads back with the same certificates and usable keys", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "passerelle-pki-"));
  try {
    saveTestPki(pki, dir);
    assert.equal(statSync(path.join(dir, "root.key")).mode & 0o777, 0o600);
    const loaded = loadTestPki(dir);
    assert.equal(loaded.personnes.pem, pki.personnes.pem);
    assert.equal(loaded.personnes.keyId, pki.personnes.keyId);
    const cps = issueCpsCertificates(holder, {}, loaded);
    assert.ok(
      new X509Certificate(cps.authentication.der).verify(new X509Certificate(pki.personnes.der).publicKey),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
