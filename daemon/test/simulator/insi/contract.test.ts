/**
 * The simulator's own description of the INSi contract (simulator/insi/contract.ts) against an
 * independent judge: libxml2's xmllint with the official XSDs of ../shared/insi-files (never
 * copied into the repository). Every document of the corpus — what our client sends, and mutations
 * of it (order, unknown children, missing parts, bad patterns) — must get the same verdict from
 * both. The SOAP envelope and WS-Addressing schemas are not in ../shared (the WSDL points to remote
 * files); they are tested by the simulator's own tests.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { DOMParser } from "@xmldom/xmldom";
import { AssertionPsCache } from "../../../src/insi/assertion-ps.ts";
import {
  contexteBam,
  contexteLps,
  recSansVitaleBody,
  recVitaleBody,
  vitaleCouverture,
} from "../../../src/insi/envelope.ts";
import { NS } from "../../../src/insi/namespaces.ts";
import {
  CONTEXTE_BAM,
  CONTEXTE_LPS,
  RECSANSVITALE,
  RECVITALE,
  SECURITY,
  validateElement,
  type ElementDecl,
} from "../../../src/simulator/insi/contract.ts";
import { SIMULATED_ASSERTION_ATTRIBUTES } from "../../../src/simulator/insi/server.ts";
import { getInsiTestPki } from "../../../src/simulator/insi/test-pki.ts";
import { keySigner } from "../../insi/helpers.ts";

const XSD_ROOT = fileURLToPath(
  new URL("../../../../../shared/insi-files/padoa-tlsi-ins/wsdl/xsd/", import.meta.url),
);

const SCHEMAS: ReadonlyArray<readonly [ElementDecl, string]> = [
  [RECSANSVITALE, "ServiceIdentiteCertifiee/INSi_RECSANS_INS.xsd"],
  [RECVITALE, "ServiceIdentiteCertifiee/INSi_RECVITALE_INS.xsd"],
  [CONTEXTE_LPS, "CTX/ROOT_ctxlps_CTXLPS_V01_00.xsd"],
  [CONTEXTE_BAM, "CTX/ROOT_ctxbam_CTXBAM_V01_02.xsd"],
  [SECURITY, "WSSE/Security.xsd"],
];

const time = new Date("2026-03-01T10:00:00.000Z");
const lps = { idam: "SIMUPASSERELLE01", softwareName: "T", softwareVersion: "1", instance: randomUUID() };
const ctx = { contextId: randomUUID(), time, lps, emetteur: "899900063480" };
const traits = {
  birthName: "D'ARTAGNAN DE L'HERAULT",
  firstNames: ["PIERRE-ALAIN"],
  firstName: "PIERRE-ALAIN",
  sex: "M" as const,
  birthDate: "2001-06-17",
  birthPlace: "63220",
};
const beneficiary = {
  individualNir: "297022A020778",
  individualNirKey: "78",
  insuredNir: "1090763220834",
  insuredNirKey: "89",
  birthName: "ADRTROIS",
  birthDate: "1997-02-26",
  birthRank: 1,
};

async function corpus(): Promise<Array<{ name: string; decl: ElementDecl; xml: string }>> {
  const cert = getInsiTestPki().cpsSignature({
    idNat: "810100012345",
    lastName: "DOC",
    firstName: "ALICE",
    profession: "Medecin",
  });
  const assertion = (
    await new AssertionPsCache({ cacheSeconds: 0, validitySeconds: 300 }).assertionFor(
      keySigner(cert),
      "",
      () => Object.entries(SIMULATED_ASSERTION_ATTRIBUTES).map(([name, value]) => ({ name, value })),
    )
  ).xml;
  const security = (inner: string) => `<wsse:Security xmlns:wsse="${NS.wsse}">${inner}</wsse:Security>`;
  const recSans = recSansVitaleBody(traits);
  const recVit = recVitaleBody(beneficiary);
  const ctxLps = contexteLps(ctx);
  const ctxBam = contexteBam({ ...ctx, couverture: vitaleCouverture(beneficiary) });
  const emptyBam = contexteBam(ctx);
  const R = RECSANSVITALE;
  const V = RECVITALE;
  const LP = CONTEXTE_LPS;
  const BA = CONTEXTE_BAM;
  const S = SECURITY;
  return [
    // What the client sends.
    { name: "RECSANSVITALE as sent", decl: R, xml: recSans },
    {
      name: "RECSANSVITALE, two Prenom",
      decl: R,
      xml: recSans.replace("</Prenom>", "</Prenom><Prenom>X</Prenom>"),
    },
    { name: "RECSANSVITALE, empty", decl: R, xml: `<RECSANSVITALE xmlns="${NS.recSans}"/>` },
    { name: "RECVITALE as sent", decl: V, xml: recVit },
    { name: "ContexteLPS as sent", decl: LP, xml: ctxLps },
    { name: "ContexteBAM as sent (Vitale)", decl: BA, xml: ctxBam },
    { name: "ContexteBAM as sent (traits)", decl: BA, xml: emptyBam },
    { name: "Security with the signed assertion PS", decl: S, xml: security(assertion) },
    // Mutations.
    {
      name: "RECSANSVITALE, Prenom before NomNaissance",
      decl: R,
      xml: recSans.replace(/(<NomNaissance>.*?<\/NomNaissance>)(<Prenom>.*?<\/Prenom>)/, "$2$1"),
    },
    {
      name: "RECSANSVITALE, unknown child",
      decl: R,
      xml: recSans.replace("</RECSANSVITALE>", "<Age>3</Age></RECSANSVITALE>"),
    },
    { name: "RECSANSVITALE, two Sexe", decl: R, xml: recSans.replace("</Sexe>", "</Sexe><Sexe>F</Sexe>") },
    {
      name: "RECSANSVITALE, unknown attribute",
      decl: R,
      xml: recSans.replace("<RECSANSVITALE ", '<RECSANSVITALE a="1" '),
    },
    {
      name: "RECSANSVITALE, text between children",
      decl: R,
      xml: recSans.replace("</NomNaissance>", "</NomNaissance>x"),
    },
    {
      name: "RECSANSVITALE, element inside Sexe",
      decl: R,
      xml: recSans.replace("<Sexe>M</Sexe>", "<Sexe><M/></Sexe>"),
    },
    {
      name: "RECSANSVITALE, children in another namespace",
      decl: R,
      xml: recSans.replace("<NomNaissance>", '<NomNaissance xmlns="urn:other">'),
    },
    {
      name: "RECVITALE, MatriculeOD before MatriculeIndividu",
      decl: V,
      xml: recVit.replace(
        /(<MatriculeIndividu>.*?<\/MatriculeIndividu>)(<MatriculeOD>.*?<\/MatriculeOD>)/,
        "$2$1",
      ),
    },
    { name: "ContexteLPS, no Temps", decl: LP, xml: ctxLps.replace(/<ctxlps:Temps>.*?<\/ctxlps:Temps>/, "") },
    {
      name: "ContexteLPS, Temps not a dateTime",
      decl: LP,
      xml: ctxLps.replace(/<ctxlps:Temps>.*?<\/ctxlps:Temps>/, "<ctxlps:Temps>hier</ctxlps:Temps>"),
    },
    { name: "ContexteLPS, no Version", decl: LP, xml: ctxLps.replace(' Version="01_00"', "") },
    { name: "ContexteLPS, no Nature", decl: LP, xml: ctxLps.replace(' Nature="CTXLPS"', "") },
    { name: "ContexteLPS, wrong Nature", decl: LP, xml: ctxLps.replace('Nature="CTXLPS"', 'Nature="LPS"') },
    {
      name: "ContexteLPS, LPS before Emetteur",
      decl: LP,
      xml: ctxLps.replace(/(<ctxlps:Emetteur>.*?<\/ctxlps:Emetteur>)(<ctxlps:LPS>.*<\/ctxlps:LPS>)/, "$2$1"),
    },
    { name: "ContexteLPS, IDAM without R", decl: LP, xml: ctxLps.replace(' R="4"', "") },
    { name: "ContexteBAM, no COUVERTURE", decl: BA, xml: emptyBam.replace("<ctxbam:COUVERTURE/>", "") },
    {
      name: "ContexteBAM, lowercase NIR letter",
      decl: BA,
      xml: ctxBam.replace("297022A020778", "297022a020778"),
    },
    {
      name: "ContexteBAM, DateNai not YYYY-MM-DD",
      decl: BA,
      xml: ctxBam.replace("<ctxbam:DateNai>1997-02-26", "<ctxbam:DateNai>26/02/1997"),
    },
    {
      name: "ContexteBAM, Rang not an integer",
      decl: BA,
      xml: ctxBam.replace("<ctxbam:Rang>1", "<ctxbam:Rang>premier"),
    },
    {
      name: "ContexteBAM, lunar DateNai",
      decl: BA,
      xml: ctxBam.replace("<ctxbam:DateNai>1997-02-26", "<ctxbam:DateNai>1997-00-00"),
    },
    { name: "Security, empty", decl: S, xml: security("") },
    {
      name: "Security, assertion without Issuer",
      decl: S,
      xml: security(assertion.replace(/<Issuer[^>]*>.*?<\/Issuer>/, "")),
    },
    { name: "Security, assertion without ID", decl: S, xml: security(assertion.replace(/ ID="[^"]*"/, "")) },
    {
      name: "Security, Subject before Signature",
      decl: S,
      xml: security(assertion.replace(/(<Signature[\s\S]*<\/Signature>)(<Subject>.*?<\/Subject>)/, "$2$1")),
    },
    {
      name: "Security, Attribute without Name",
      decl: S,
      xml: security(assertion.replace('<Attribute Name="secteurActivite">', "<Attribute>")),
    },
    {
      name: "Security, empty AttributeStatement",
      decl: S,
      xml: security(
        assertion.replace(/<AttributeStatement>.*<\/AttributeStatement>/, "<AttributeStatement/>"),
      ),
    },
    {
      name: "Security, no AttributeStatement",
      decl: S,
      xml: security(assertion.replace(/<AttributeStatement>.*<\/AttributeStatement>/, "")),
    },
    {
      name: "Security, Conditions after AttributeStatement",
      decl: S,
      xml: security(
        assertion.replace(/(<Conditions[^>]*\/>)(<AttributeStatement>.*<\/AttributeStatement>)/, "$2$1"),
      ),
    },
    {
      name: "Security, NotOnOrAfter not a dateTime",
      decl: S,
      xml: security(assertion.replace(/NotOnOrAfter="[^"]*"/, 'NotOnOrAfter="demain"')),
    },
    {
      name: "Security, unknown element in the assertion",
      decl: S,
      xml: security(assertion.replace("</Assertion>", "<Extra/></Assertion>")),
    },
    { name: "Security, something else than an assertion", decl: S, xml: security(`<wsse:UsernameToken/>`) },
  ];
}

test("the simulator's contract and libxml2 with the official XSDs agree on every document", async (t) => {
  assert.ok(
    existsSync(XSD_ROOT),
    `the official XSDs are read from ${XSD_ROOT} (../shared/insi-files beside the project, as in CI)`,
  );
  const cases = await corpus();
  const dir = mkdtempSync(path.join(tmpdir(), "passerelle-contract-"));
  try {
    const verdicts = new Map<string, boolean>();
    for (const [decl, xsd] of SCHEMAS) {
      const files = cases
        .map((c, index) => ({ ...c, file: path.join(dir, `${index}.xml`) }))
        .filter((c) => c.decl === decl);
      for (const c of files) writeFileSync(c.file, c.xml);
      const run = spawnSync(
        "xmllint",
        ["--nonet", "--noout", "--schema", path.join(XSD_ROOT, xsd), ...files.map((c) => c.file)],
        {
          encoding: "utf8",
        },
      );
      assert.ok(run.error === undefined, `xmllint (libxml2-utils) is needed: ${String(run.error)}`);
      for (const c of files)
        verdicts.set(
          c.name,
          new RegExp(`^${c.file.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} validates$`, "m").test(run.stderr),
        );
    }
    let valid = 0;
    for (const c of cases) {
      const root = new DOMParser().parseFromString(c.xml, "text/xml").documentElement;
      assert.ok(root, c.name);
      const ours = validateElement(root, c.decl);
      const judge = verdicts.get(c.name);
      await t.test(c.name, () => {
        assert.equal(
          ours.length === 0,
          judge,
          `${c.name}: ours ${JSON.stringify(ours)}, libxml2 ${String(judge)}`,
        );
      });
      if (judge) valid += 1;
    }
    // Both verdicts occur: the corpus is not all-valid nor all-invalid.
    assert.ok(valid >= 8 && valid < cases.length - 20, `${valid} valid of ${cases.length}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
