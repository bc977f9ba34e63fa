/**
 * The envelope's structure, in our own words (the contract's XSDs are not part of the suite):
 * SOAP 1.2; headers in the WSDL's order; each context in its namespace with the attributes and
 * children its schema requires, in order; the body's element order; values escaped.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { DOMParser, type Element } from "@xmldom/xmldom";
import {
  buildEnvelope,
  recSansVitaleBody,
  recVitaleBody,
  vitaleCouverture,
} from "../../src/insi/envelope.ts";
import { childElements } from "../../src/insi/xml.ts";

const SOAP12 = "http://www.w3.org/2003/05/soap-envelope";
const lps = {
  idam: "IDAM&<1>",
  softwareName: "EhrWeb",
  softwareVersion: "3.2",
  instance: "5f0c1a2b-3c4d-4e5f-8a9b-0c1d2e3f4a5b",
};
const traits = {
  birthName: "D'ARTAGNAN DE L'HERAULT",
  firstNames: ["PIERRE-ALAIN", "JEAN"],
  firstName: "PIERRE-ALAIN",
  sex: "M" as const,
  birthDate: "2001-06-17",
  birthPlace: "2A020",
};
const assertion = `<Assertion xmlns="urn:oasis:names:tc:SAML:2.0:assertion" ID="_a" IssueInstant="2026-01-01T00:00:00.000Z" Version="2.0"><Issuer>x</Issuer></Assertion>`;

function parse(xml: string): Element {
  const root = new DOMParser().parseFromString(xml, "text/xml").documentElement;
  assert.ok(root);
  return root;
}
const names = (e: Element) => childElements(e).map((c) => `{${c.namespaceURI}}${c.localName}`);

function envelope(assertions: string[] = [assertion]) {
  return buildEnvelope({
    operation: "rechercherInsAvecTraitsIdentite",
    messageId: "uuid:6a1c7a5e-8f0e-4c55-9d5b-0d3c7b3a9e11",
    time: new Date("2026-03-04T05:06:07.089Z"),
    lps,
    contextId: "ctx-1",
    emetteur: "810100012345",
    assertions,
    body: recSansVitaleBody(traits),
  });
}

test("SOAP 1.2 envelope: Header then Body; headers in the WSDL's order, Action after MessageID", () => {
  const root = parse(envelope());
  assert.equal(root.namespaceURI, SOAP12);
  assert.deepEqual(names(root), [`{${SOAP12}}Header`, `{${SOAP12}}Body`]);
  assert.deepEqual(names(childElements(root)[0]!), [
    "{http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd}Security",
    "{urn:siram:lps:ctxlps}ContexteLPS",
    "{http://www.w3.org/2005/08/addressing}MessageID",
    "{http://www.w3.org/2005/08/addressing}Action",
    "{urn:siram:bam:ctxbam}ContexteBAM",
  ]);
});

test("no assertion (organisation mode): no wsse:Security at all", () => {
  const header = childElements(parse(envelope([])))[0]!;
  assert.equal(names(header)[0], "{urn:siram:lps:ctxlps}ContexteLPS");
});

test("the assertion is inserted byte for byte", () => {
  assert.ok(envelope().includes(assertion));
});

test("ContexteLPS: Nature CTXLPS, Version 01_00, Id, Temps, Emetteur, LPS(IDAM R=4, Version, Instance, Nom) in order", () => {
  const lpsElement = childElements(childElements(parse(envelope()))[0]!)[1]!;
  assert.equal(lpsElement.getAttribute("Nature"), "CTXLPS");
  assert.equal(lpsElement.getAttribute("Version"), "01_00");
  assert.deepEqual(
    childElements(lpsElement).map((e) => e.localName),
    ["Id", "Temps", "Emetteur", "LPS"],
  );
  assert.equal(childElements(lpsElement)[1]!.textContent, "2026-03-04T05:06:07.089Z");
  const software = childElements(lpsElement)[3]!;
  assert.deepEqual(
    childElements(software).map((e) => [e.localName, e.textContent]),
    [
      ["IDAM", "IDAM&<1>"],
      ["Version", "3.2"],
      ["Instance", lps.instance],
      ["Nom", "urn:lps:EhrWeb:3.2"],
    ],
  );
  assert.equal(childElements(software)[0]!.getAttribute("R"), "4");
  assert.ok(childElements(software).every((e) => e.namespaceURI === "urn:siram:lps:ctxlps"));
});

test("MessageID uuid:, Action = the operation's URN", () => {
  const header = childElements(parse(envelope()))[0]!;
  assert.match(childElements(header)[2]!.textContent ?? "", /^uuid:[0-9a-f-]{36}$/);
  assert.equal(
    childElements(header)[3]!.textContent,
    "urn:ServiceIdentiteCertifiee:1.0.0:rechercherInsAvecTraitsIdentite",
  );
});

test("ContexteBAM: Version 01_02, Id, Temps, Emetteur, empty COUVERTURE for the traits search", () => {
  const bam = childElements(childElements(parse(envelope()))[0]!)[4]!;
  assert.equal(bam.getAttribute("Version"), "01_02");
  assert.equal(bam.getAttribute("Nature"), "CTXBAM");
  assert.deepEqual(
    childElements(bam).map((e) => e.localName),
    ["Id", "Temps", "Emetteur", "COUVERTURE"],
  );
  assert.equal(childElements(childElements(bam)[3]!).length, 0);
});

test("RECSANSVITALE: default namespace, NomNaissance, one Prenom (the first), Sexe, DateNaissance, LieuNaissance", () => {
  const body = childElements(childElements(parse(envelope()))[1]!)[0]!;
  assert.equal(body.namespaceURI, "http://www.cnamts.fr/INSiRecSans");
  assert.equal(body.localName, "RECSANSVITALE");
  assert.deepEqual(
    childElements(body).map((e) => [e.localName, e.textContent]),
    [
      ["NomNaissance", "D'ARTAGNAN DE L'HERAULT"],
      ["Prenom", "PIERRE-ALAIN"],
      ["Sexe", "M"],
      ["DateNaissance", "2001-06-17"],
      ["LieuNaissance", "2A020"],
    ],
  );
});

test("RECVITALE and its COUVERTURE: matricules, birth date and rank; NIR pattern of CTXBAM", () => {
  const beneficiary = {
    individualNir: "297022A020778",
    individualNirKey: "78",
    insuredNir: "1090763220834",
    insuredNirKey: "89",
    birthName: "ADRTROIS",
    birthDate: "1997-02-26",
    birthRank: 2,
  };
  const body = parse(recVitaleBody(beneficiary));
  assert.equal(body.namespaceURI, "http://www.cnamts.fr/INSiRecVit");
  assert.deepEqual(
    childElements(body).map((e) => e.localName),
    ["MatriculeIndividu", "MatriculeOD", "NomNaissance", "DateNaissance", "RangNaissance"],
  );
  assert.deepEqual(
    childElements(childElements(body)[0]!).map((e) => e.textContent),
    ["297022A020778", "78"],
  );
  const couverture = parse(
    `<ctxbam:COUVERTURE xmlns:ctxbam="urn:siram:bam:ctxbam">${vitaleCouverture(beneficiary)}</ctxbam:COUVERTURE>`,
  );
  assert.deepEqual(
    childElements(couverture).map((e) => e.localName),
    ["ASSURE", "BENEFICIAIRE"],
  );
  const beneficiaire = childElements(couverture)[1]!;
  assert.deepEqual(
    childElements(beneficiaire).map((e) => e.localName),
    ["Nir", "DateNai", "Rang"],
  );
  for (const num of couverture.getElementsByTagNameNS("urn:siram:bam:ctxbam", "Num"))
    assert.match(num.textContent ?? "", /^\d{6}[AB0-9]\d{6}$/);
});
