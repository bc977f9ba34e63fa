/**
 * The simulator's own checks, fed raw envelopes over real TLS: what it refuses and why, what it
 * records. The client's side is tested in test/insi/client.test.ts.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import https from "node:https";
import { randomUUID } from "node:crypto";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildEnvelope, recSansVitaleBody } from "../../../src/insi/envelope.ts";
import { AssertionPsCache } from "../../../src/insi/assertion-ps.ts";
import { createInsiClient } from "../../../src/insi/client.ts";
import { loadOrganisationCredentials } from "../../../src/insi/credentials.ts";
import {
  startInsiSimulator,
  SIMULATOR_IDAM,
  SIMULATED_ASSERTION_ATTRIBUTES,
  type InsiSimulator,
} from "../../../src/simulator/insi/server.ts";
import { getInsiTestPki } from "../../../src/simulator/insi/test-pki.ts";
import { issueCpsCertificates } from "../../../src/simulator/pki/test-pki.ts";
import { ADRUN, keySigner, ORIGIN, simulatorConfig } from "../../insi/helpers.ts";

const pki = getInsiTestPki();
const ATTRIBUTES = Object.entries(SIMULATED_ASSERTION_ATTRIBUTES).map(([name, value]) => ({ name, value }));
const autoFile = pki.organisation("INSI-AUTO");
const auto = loadOrganisationCredentials(autoFile.pkcs12, autoFile.passphrase);

const traits = {
  birthName: "ADRUN",
  firstNames: ["ZOE"],
  firstName: "ZOE",
  sex: "F" as const,
  birthDate: "1975-12-31",
};
const lps = { idam: SIMULATOR_IDAM, softwareName: "T", softwareVersion: "1", instance: randomUUID() };

function envelope(overrides: { idam?: string; messageId?: string; assertions?: string[] } = {}): string {
  return buildEnvelope({
    operation: "rechercherInsAvecTraitsIdentite",
    messageId: overrides.messageId ?? `uuid:${randomUUID()}`,
    time: new Date(),
    lps: { ...lps, idam: overrides.idam ?? lps.idam },
    contextId: randomUUID(),
    assertions: overrides.assertions ?? [],
    body: recSansVitaleBody(traits),
  });
}

function post(sim: InsiSimulator, body: string, method = "POST"): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      sim.url,
      { method, ca: sim.caPem, cert: auto.certChainPem, key: auto.keyPem, agent: false },
      (res) => {
        let text = "";
        res.on("data", (d: Buffer) => (text += d.toString()));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

const faultCode = (body: string) => /code="([^"]+)"/.exec(body)?.[1];

describe("organisation mode: context headers", () => {
  let sim: InsiSimulator;
  let recordDir: string;
  before(async () => {
    recordDir = await mkdtemp(join(tmpdir(), "insi-rec-"));
    sim = await startInsiSimulator({ mode: "organisation", record: recordDir });
  });
  after(async () => {
    await sim.close();
    await rm(recordDir, { recursive: true, force: true });
  });

  test("a complete request is answered with RESULTAT and recorded as received", async () => {
    const sent = envelope();
    const { status, body } = await post(sim, sent);
    assert.equal(status, 200);
    assert.match(body, /<CodeCR>00<\/CodeCR>/);
    assert.match(body, /<wsa:RelatesTo[^>]*>uuid:/);
    const files = await readdir(recordDir);
    assert.equal(await readFile(join(recordDir, files.at(-1)!), "utf8"), sent);
  });

  const broken: [string, (xml: string) => string][] = [
    ["no ContexteLPS", (x) => x.replace(/<ctxlps:ContexteLPS[\s\S]*<\/ctxlps:ContexteLPS>/, "")],
    ["no ContexteBAM", (x) => x.replace(/<ctxbam:ContexteBAM[\s\S]*<\/ctxbam:ContexteBAM>/, "")],
    ["no COUVERTURE", (x) => x.replace("<ctxbam:COUVERTURE/>", "")],
    ["IDAM without R=4", (x) => x.replace('R="4"', 'R="3"')],
    ["MessageID not uuid:", (x) => x.replace(/>uuid:[0-9a-f-]+</, ">msg-1<")],
    [
      "Action of the other operation",
      (x) => x.replace(":rechercherInsAvecTraitsIdentite<", ":rechercherInsAvecCarteVitale<"),
    ],
    ["no Action", (x) => x.replace(/<wsa:Action[\s\S]*?<\/wsa:Action>/, "")],
    [
      "SOAP 1.1",
      (x) =>
        x.replaceAll("http://www.w3.org/2003/05/soap-envelope", "http://schemas.xmlsoap.org/soap/envelope/"),
    ],
    [
      "DOCTYPE",
      (x) =>
        x.replace(
          '<?xml version="1.0" encoding="UTF-8"?>',
          '<?xml version="1.0"?><!DOCTYPE a [<!ENTITY b "c">]>',
        ),
    ],
    ["unknown body", (x) => x.replace(/<RECSANSVITALE[\s\S]*<\/RECSANSVITALE>/, "<VERIFINS/>")],
  ];
  // What the contract's schemas already refuse is SIM_SCHEMA; the rest is a header check.
  const bySchema = new Set(["no COUVERTURE", "unknown body"]);
  for (const [name, mutate] of broken) {
    const expected = bySchema.has(name) ? "SIM_SCHEMA" : "SIM_ENTETE";
    test(`refused: ${name} → ${expected}`, async () => {
      const { status, body } = await post(sim, mutate(envelope()));
      assert.equal(status, 500);
      assert.equal(faultCode(body), expected);
    });
  }

  test("unknown IDAM → siram_100 / desir_550 with the messageID", async () => {
    const messageId = `uuid:${randomUUID()}`;
    const { status, body } = await post(sim, envelope({ idam: "NOT-KNOWN", messageId }));
    assert.equal(status, 500);
    assert.match(body, /<soap:Value>soap:siram_100<\/soap:Value>/);
    assert.equal(faultCode(body), "desir_550");
    assert.match(body, new RegExp(`messageID="${messageId}"`));
  });

  test("GET → 405", async () => {
    assert.equal((await post(sim, "", "GET")).status, 405);
  });
});

describe("card mode: the assertion PS", () => {
  let sim: InsiSimulator;
  before(async () => {
    sim = await startInsiSimulator({ mode: "card" });
  });
  after(() => sim.close());
  const cert = pki.cpsSignature({
    idNat: "810100012345",
    lastName: "MEDECIN",
    firstName: "ALICE",
    profession: "Medecin",
  });

  async function signed(): Promise<string> {
    return (
      await new AssertionPsCache({ cacheSeconds: 0, validitySeconds: 300 }).assertionFor(
        keySigner(cert),
        "",
        () => ATTRIBUTES,
      )
    ).xml;
  }

  test("no wsse:Security → SIM_ASSERTION", async () => {
    const { body } = await post(sim, envelope());
    assert.equal(faultCode(body), "SIM_ASSERTION");
    assert.match(body, /assertion PS absente/);
  });

  test("an unsigned assertion → refused", async () => {
    const unsigned = (await signed()).replace(/<Signature[\s\S]*<\/Signature>/, "");
    const { body } = await post(sim, envelope({ assertions: [unsigned] }));
    assert.match(body, /non signée/);
  });

  test("a signed assertion whose content was changed after signing → refused", async () => {
    const tampered = (await signed()).replace(">810100012345</NameID>", ">810100099999</NameID>");
    const { body } = await post(sim, envelope({ assertions: [tampered] }));
    assert.match(body, /signature de l&apos;assertion PS invalide/);
  });

  test("a valid assertion is accepted", async () => {
    const { status, body } = await post(sim, envelope({ assertions: [await signed()] }));
    assert.equal(status, 200, body);
  });

  test("a virtual CPS of the card lab PKI (multi-valued RDN) is trusted by default", async () => {
    const lab = issueCpsCertificates({
      idType: "8",
      nationalId: "10100012345",
      lastName: "LAB",
      firstName: "CARD",
      profession: "Médecin",
    });
    const c = createInsiClient(simulatorConfig(sim.url, "card"), { caPem: sim.caPem });
    const signer = keySigner({
      certPem: lab.signature.pem,
      keyPem: "",
      privateKey: lab.signature.privateKey,
    });
    try {
      const result = await c.searchByTraits(ADRUN, { origin: ORIGIN, signer });
      assert.equal(result.outcome, "found");
      const body = sim.requests.at(-1)?.body ?? "";
      // The multi-valued RDN stays one RDN, its attributes in DER (SET OF) order.
      assert.match(
        body,
        /<Issuer Format="[^"]+">[^<]*SN=LAB\+2\.5\.4\.42=CARD\+CN=810100012345[^<]*<\/Issuer>/,
      );
      assert.match(body, /<NameID NameQualifier="CPX">810100012345<\/NameID>/);
    } finally {
      c.close();
    }
  });
});
