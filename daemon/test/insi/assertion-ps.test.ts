import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sign as rsaSign } from "node:crypto";
import { promisify } from "node:util";
import { DOMParser } from "@xmldom/xmldom";
import { SignedXml } from "xml-crypto";
import forge from "node-forge";
import {
  distinguishedName,
  AssertionPsCache,
  assertionPsXml,
  signAssertion,
  signerIdentity,
} from "../../src/insi/assertion-ps.ts";
import type { AssertionSigner } from "../../src/insi/signer.ts";
import { getInsiTestPki } from "../../src/simulator/insi/test-pki.ts";

const run = promisify(execFile);
const pki = getInsiTestPki();
const holder = { idNat: "810100012345", lastName: "MEDECIN", firstName: "ALICE", profession: "Médecin" };
const signatureCert = pki.cpsSignature(holder, { cardType: 0 });

/** xml-crypto reports some failures by throwing, others by returning false. */
function checks(verify: () => boolean): boolean {
  try {
    return verify();
  } catch {
    return false;
  }
}

function keySigner(cert = signatureCert): AssertionSigner & { calls: number } {
  return {
    calls: 0,
    async signatureCertificatePem() {
      return cert.certPem;
    },
    async sign(data) {
      this.calls += 1;
      return rsaSign("sha256", data, cert.privateKey);
    },
  };
}

test("signer identity: issuer DN most specific first, NameID = CN, card type from the extension", () => {
  const identity = signerIdentity(signatureCert.certPem);
  assert.equal(identity.issuerDn, "CN=810100012345,2.5.4.42=ALICE,SN=MEDECIN,T=Médecin,C=FR");
  assert.equal(identity.nameId, "810100012345");
  assert.equal(identity.cardType, "CPS");
  assert.equal(signerIdentity(pki.cpsSignature(holder, { cardType: 3 }).certPem).cardType, "CPA");
  assert.equal(signerIdentity(pki.server.certPem).cardType, "CPX");
});

test("a multi-valued RDN stays one RDN, in DER order; values escaped; RDNs most specific first", () => {
  const { asn1 } = forge;
  const atv = (oid: string, value: string) =>
    asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, [
      asn1.create(asn1.Class.UNIVERSAL, asn1.Type.OID, false, asn1.oidToDer(oid).getBytes()),
      asn1.create(asn1.Class.UNIVERSAL, asn1.Type.UTF8, false, forge.util.encodeUtf8(value)),
    ]);
  const rdn = (...atvs: forge.asn1.Asn1[]) => asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SET, true, atvs);
  // DER order of a real CPS subject: C, title, then {givenName, CN, surname} (SET OF sorted by encoding).
  const name = asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, [
    rdn(atv("2.5.4.6", "FR")),
    rdn(atv("2.5.4.12", "Infirmière")),
    rdn(atv("2.5.4.42", "ALICE"), atv("2.5.4.3", "810100012345"), atv("2.5.4.4", "DUPONT, MARTIN")),
  ]);
  assert.equal(
    distinguishedName(name),
    "2.5.4.42=ALICE+CN=810100012345+SN=DUPONT\\, MARTIN,T=Infirmière,C=FR",
  );
});

test("the assertion is signed between Issuer and Subject and verifies with the certificate", async () => {
  const identity = signerIdentity(signatureCert.certPem);
  const signed = await signAssertion(
    assertionPsXml(identity, "_abc", new Date(), 300),
    signatureCert.certPem,
    keySigner(),
  );
  const doc = new DOMParser().parseFromString(signed, "text/xml");
  const root = doc.documentElement!;
  const children: string[] = [];
  for (let n = root.firstChild; n; n = n.nextSibling) if (n.nodeType === 1) children.push(n.nodeName);
  assert.deepEqual(children, ["Issuer", "Signature", "Subject", "Conditions"]);
  assert.match(signed, /<Reference URI="#_abc">/);
  assert.match(signed, /xml-exc-c14n#/);
  assert.match(signed, /enveloped-signature/);
  assert.match(signed, /xmldsig-more#rsa-sha256/);
  assert.match(signed, /xmlenc#sha256/);

  const verifier = new SignedXml({ publicCert: signatureCert.certPem });
  const signature = doc.getElementsByTagNameNS("http://www.w3.org/2000/09/xmldsig#", "Signature")[0]!;
  verifier.loadSignature(signature.toString());
  assert.equal(verifier.checkSignature(signed), true);
  // Tampering with the signed content breaks it.
  const tampered = signed.replace(">810100012345</NameID>", ">810100099999</NameID>");
  const verifier2 = new SignedXml({ publicCert: signatureCert.certPem });
  const tamperedDoc = new DOMParser().parseFromString(tampered, "text/xml");
  verifier2.loadSignature(
    tamperedDoc.getElementsByTagNameNS("http://www.w3.org/2000/09/xmldsig#", "Signature")[0]!.toString(),
  );
  assert.equal(
    checks(() => verifier2.checkSignature(tampered)),
    false,
  );
});

test("xmlsec1 --verify accepts the assertion signature with the test CA", async (t) => {
  try {
    await run("xmlsec1", ["--version"]);
  } catch {
    t.skip("xmlsec1 is not installed: the independent signature check did not run");
    return;
  }
  const identity = signerIdentity(signatureCert.certPem);
  const signed = await signAssertion(
    assertionPsXml(identity, "_xmlsec", new Date(), 300),
    signatureCert.certPem,
    keySigner(),
  );
  const dir = await mkdtemp(join(tmpdir(), "assertion-"));
  try {
    await writeFile(join(dir, "assertion.xml"), signed);
    await writeFile(join(dir, "ca.pem"), pki.caPem);
    const args = [
      "--verify",
      "--trusted-pem",
      join(dir, "ca.pem"),
      "--id-attr:ID",
      "urn:oasis:names:tc:SAML:2.0:assertion:Assertion",
    ];
    const { stderr } = await run("xmlsec1", [...args, join(dir, "assertion.xml")]);
    assert.match(stderr, /OK/);
    await writeFile(
      join(dir, "tampered.xml"),
      signed.replace("810100012345</NameID>", "810100099999</NameID>"),
    );
    await assert.rejects(run("xmlsec1", [...args, join(dir, "tampered.xml")]));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("the cache signs once per burst and again after its lifetime", async () => {
  let now = new Date("2026-01-01T10:00:00Z");
  const cache = new AssertionPsCache({ cacheSeconds: 20, validitySeconds: 300, now: () => now });
  const signer = keySigner();
  const [a, b, c] = await Promise.all([
    cache.assertionFor(signer),
    cache.assertionFor(signer),
    cache.assertionFor(signer),
  ]);
  assert.equal(signer.calls, 1);
  assert.equal(a.xml, b.xml);
  assert.equal(b.xml, c.xml);
  now = new Date("2026-01-01T10:00:21Z");
  const d = await cache.assertionFor(signer);
  assert.equal(signer.calls, 2);
  assert.notEqual(d.xml, a.xml);
});

test("the cache is per origin: another origin makes the card sign again", async () => {
  const cache = new AssertionPsCache({ cacheSeconds: 20, validitySeconds: 300 });
  const signer = keySigner();
  await cache.assertionFor(signer, "https://a.example");
  await cache.assertionFor(signer, "https://a.example");
  assert.equal(signer.calls, 1);
  await cache.assertionFor(signer, "https://b.example");
  assert.equal(signer.calls, 2);
});

test("the cache is per card insertion: a card that left and came back signs again (PIN asked again)", async () => {
  const cache = new AssertionPsCache({ cacheSeconds: 20, validitySeconds: 300 });
  let presence = "Reader 00 00#1";
  const signer = { ...keySigner(), calls: 0, presence: () => presence };
  signer.sign = async function (data) {
    signer.calls += 1;
    return rsaSign("sha256", data, signatureCert.privateKey);
  };
  await cache.assertionFor(signer, "https://a.example");
  await cache.assertionFor(signer, "https://a.example");
  assert.equal(signer.calls, 1);
  presence = "Reader 00 00#2"; // same card, same certificate, pulled and pushed back
  await cache.assertionFor(signer, "https://a.example");
  assert.equal(signer.calls, 2, "nothing signed before the card left is served after");
});

test("no cache: every call signs; a failed signature is not cached", async () => {
  const cache = new AssertionPsCache({ cacheSeconds: 0, validitySeconds: 300 });
  const signer = keySigner();
  await cache.assertionFor(signer);
  await cache.assertionFor(signer);
  assert.equal(signer.calls, 2);

  const cached = new AssertionPsCache({ cacheSeconds: 20, validitySeconds: 300 });
  let fail = true;
  const flaky: AssertionSigner = {
    signatureCertificatePem: async () => signatureCert.certPem,
    sign: async (data) => {
      if (fail) throw new Error("card removed");
      return rsaSign("sha256", data, signatureCert.privateKey);
    },
  };
  await assert.rejects(cached.assertionFor(flaky), /card removed/);
  fail = false;
  const ok = await cached.assertionFor(flaky);
  assert.match(ok.xml, /SignatureValue/);
});

test("a signature that came back late (slow PIN entry) is redone with fresh validity times", async () => {
  let now = new Date("2026-01-01T10:00:00Z");
  const cache = new AssertionPsCache({ cacheSeconds: 0, validitySeconds: 10, now: () => now });
  const inner = keySigner();
  const slow: AssertionSigner & { calls: number } = {
    calls: 0,
    signatureCertificatePem: () => inner.signatureCertificatePem(),
    async sign(data) {
      this.calls += 1;
      if (this.calls === 1) now = new Date("2026-01-01T10:00:30Z"); // the user took 30 s on the PIN page
      return inner.sign(data);
    },
  };
  const { xml } = await cache.assertionFor(slow);
  assert.equal(slow.calls, 2);
  assert.match(xml, /IssueInstant="2026-01-01T10:00:30/);
  assert.match(xml, /NotOnOrAfter="2026-01-01T10:00:40/);
});

test("a failure after the card answered (xml-crypto's serialisation, a bad signature value) rejects the signing, no unhandled rejection, no hang", async () => {
  const identity = signerIdentity(signatureCert.certPem);
  const unsigned = assertionPsXml(identity, "_bad", new Date(), 300);
  const garbage: AssertionSigner = {
    signatureCertificatePem: async () => signatureCert.certPem,
    // Not bytes: turning it into the SignatureValue throws inside the card's promise chain.
    sign: async () => undefined as unknown as Uint8Array,
  };
  const refusing: AssertionSigner = {
    signatureCertificatePem: async () => signatureCert.certPem,
    sign: async () => Promise.reject(new Error("card removed")),
  };
  const bounded = <T>(promise: Promise<T>) =>
    Promise.race([
      promise,
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error("signAssertion hung")), 5000)),
    ]);
  await assert.rejects(bounded(signAssertion(unsigned, signatureCert.certPem, garbage)), TypeError);
  await assert.rejects(bounded(signAssertion(unsigned, signatureCert.certPem, refusing)), /card removed/);
});
