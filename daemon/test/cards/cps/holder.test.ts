import { test } from "node:test";
import assert from "node:assert/strict";
import forge from "node-forge";
import { holderFromCertificate, parseCertificate } from "../../../src/cards/cps/index.ts";
import { CpsCertificateError } from "../../../src/cards/cps/holder.ts";
import { issueCpsCertificates } from "../../../src/simulator/pki/test-pki.ts";
import { CPE_HOLDER } from "../../../src/simulator/cards/cps3/emulator.ts";
import { testKeys, testPki } from "./fixtures.ts";

/** A certificate with ordinary single-valued RDNs (older IGC-CPS2bis layout), signed by forge. */
function legacyCertificate(attributes: forge.pki.CertificateField[]): Uint8Array {
  const keys = testKeys().authentication;
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(
    keys.publicKey.export({ type: "spki", format: "pem" }).toString(),
  );
  cert.serialNumber = "01";
  cert.validity.notBefore = new Date(Date.UTC(2020, 0, 1));
  cert.validity.notAfter = new Date(Date.UTC(2030, 0, 1));
  cert.setSubject(attributes);
  cert.setIssuer([{ type: "2.5.4.3", value: "TEST" }]);
  cert.sign(
    forge.pki.privateKeyFromPem(keys.privateKey.export({ type: "pkcs1", format: "pem" }).toString()),
    forge.md.sha256.create(),
  );
  return Uint8Array.from(
    Buffer.from(forge.asn1.toDer(forge.pki.certificateToAsn1(cert)).getBytes(), "binary"),
  );
}

test("IGC-Santé subject: multi-valued CN+SN+GN, title, UTF-8 kept", () => {
  const issued = issueCpsCertificates(
    {
      idType: "8",
      nationalId: "10003456789",
      lastName: "DE LA FONTAINE-ÉLOÏSE",
      firstName: "ANNE-LAURE",
      profession: "Chirurgien-dentiste",
    },
    { keys: testKeys() },
    testPki(),
  );
  assert.deepEqual(holderFromCertificate(parseCertificate(issued.authentication.der, "authentication")), {
    idNat: "810003456789",
    idType: "RPPS",
    nationalId: "10003456789",
    lastName: "DE LA FONTAINE-ÉLOÏSE",
    firstName: "ANNE-LAURE",
    profession: "Chirurgien-dentiste",
  });
});

test("older IGC-CPS2bis subject: profession from OU, ADELI with a Corsican B", () => {
  const der = legacyCertificate([
    { type: "2.5.4.6", value: "FR" },
    { type: "2.5.4.10", value: "TEST" },
    { type: "2.5.4.11", value: "Masseur-Kinesitherapeute" },
    { type: "2.5.4.3", value: "00B7010446" },
    { type: "2.5.4.4", value: "MASSEUR1044" },
    { type: "2.5.4.42", value: "HONORE" },
  ]);
  assert.deepEqual(holderFromCertificate(parseCertificate(der, "authentication")), {
    idNat: "00B7010446",
    idType: "ADELI",
    nationalId: "0B7010446",
    lastName: "MASSEUR1044",
    firstName: "HONORE",
    profession: "Masseur-Kinesitherapeute",
    organization: "TEST",
  });
});

test("a CPE subject (structure, card number, no SN/GN): the holder's name marked unknown, never invented", () => {
  const issued = issueCpsCertificates(CPE_HOLDER, { keys: testKeys() }, testPki());
  assert.deepEqual(holderFromCertificate(parseCertificate(issued.authentication.der, "authentication")), {
    idNat: "3750300016/42",
    idType: "FINESS",
    nationalId: "750300016/42",
    lastName: "",
    firstName: "",
    profession: "Carte de service santé ou social",
    organization: "CLINIQUE TEST",
    nameKnown: false,
  });
  // Only a CN: still a holder, with the name unknown.
  const onlyCn = legacyCertificate([{ type: "2.5.4.3", value: "810001234567" }]);
  assert.deepEqual(holderFromCertificate(parseCertificate(onlyCn, "authentication")), {
    idNat: "810001234567",
    idType: "RPPS",
    nationalId: "10001234567",
    lastName: "",
    firstName: "",
    nameKnown: false,
  });
  // A surname alone is kept, and the name still marked unknown (no first name to show).
  const noGn = legacyCertificate([
    { type: "2.5.4.3", value: "810001234567" },
    { type: "2.5.4.4", value: "SEUL" },
  ]);
  const holder = holderFromCertificate(parseCertificate(noGn, "authentication"));
  assert.equal(holder.lastName, "SEUL");
  assert.equal(holder.nameKnown, false);
});

test("a subject without an idNat is a CpsCertificateError; so is garbage", () => {
  const noCn = legacyCertificate([
    { type: "2.5.4.4", value: "X" },
    { type: "2.5.4.42", value: "Y" },
  ]);
  assert.throws(() => holderFromCertificate(parseCertificate(noCn, "authentication")), CpsCertificateError);
  const badCn = legacyCertificate([
    { type: "2.5.4.3", value: "Dr Who" },
    { type: "2.5.4.4", value: "X" },
    { type: "2.5.4.42", value: "Y" },
  ]);
  assert.throws(() => holderFromCertificate(parseCertificate(badCn, "authentication")), CpsCertificateError);
  const twoSlashes = legacyCertificate([{ type: "2.5.4.3", value: "3750300016/42/1" }]);
  assert.throws(
    () => holderFromCertificate(parseCertificate(twoSlashes, "authentication")),
    CpsCertificateError,
  );
  assert.throws(
    () => parseCertificate(Uint8Array.of(0x30, 0x03, 0x02, 0x01, 0x00), "signature"),
    CpsCertificateError,
  );
  assert.throws(() => holderFromCertificate({ der: Uint8Array.of(0x30, 0x00) }), CpsCertificateError);
});

test("subject strings read by their type: BMPString, and UTF-8 that does not decode is a CpsCertificateError", () => {
  const bmp = legacyCertificate([
    { type: "2.5.4.3", value: "810001234567" },
    { type: "2.5.4.4", value: "ÉLOÏSE", valueTagClass: forge.asn1.Type.BMPSTRING },
    { type: "2.5.4.42", value: "ANNE", valueTagClass: forge.asn1.Type.UTF8 },
  ] as forge.pki.CertificateField[]);
  const holder = holderFromCertificate(parseCertificate(bmp, "authentication"));
  assert.equal(holder.lastName, "ÉLOÏSE");
  assert.equal(holder.firstName, "ANNE");
  // The given name's UTF8String "ANNE" with its first byte made a lone continuation byte.
  const broken = Uint8Array.from(bmp);
  const at = Buffer.from(broken).indexOf(Buffer.from([0x0c, 0x04, 0x41, 0x4e, 0x4e, 0x45]));
  assert.ok(at > 0, "the given name's UTF8String is in the certificate");
  broken[at + 2] = 0x80;
  assert.throws(() => holderFromCertificate(parseCertificate(broken, "authentication")), CpsCertificateError);
});
