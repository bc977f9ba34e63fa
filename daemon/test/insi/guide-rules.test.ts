/**
 * The client-side rules of the INSi integration guide (SEL-MP-043 v05.00.01, as quoted publicly;
 * docs/insi.md cites each): the assertion PS's AttributeStatement from configuration, the
 * organisation mode's Emetteur, the name syntax, the Vitale search's COUVERTURE, siram_40, Sexe I.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { DOMParser } from "@xmldom/xmldom";
import { isPasserelleError } from "../../src/errors.ts";
import { createInsiClient } from "../../src/insi/client.ts";
import { InsiConfig, insiConfigProblems, insiConfigWarnings } from "../../src/insi/config.ts";
import { loadOrganisationCredentials } from "../../src/insi/credentials.ts";
import { vitaleCouverture } from "../../src/insi/envelope.ts";
import { parseInsiResponse } from "../../src/insi/response.ts";
import { normaliseFirstNames, normaliseName } from "../../src/ins/traits.ts";
import { startInsiSimulator, type InsiSimulator } from "../../src/simulator/insi/server.ts";
import { getInsiTestPki } from "../../src/simulator/insi/test-pki.ts";
import { ADRUN, ORIGIN, OTHER_ORIGIN, RecordingAudit, keySigner, simulatorConfig } from "./helpers.ts";

const pki = getInsiTestPki();
const nurse = pki.cpsSignature({
  idNat: "810100099999",
  lastName: "SOIN",
  firstName: "ALEX",
  profession: "Infirmier",
});
const doctor = pki.cpsSignature({
  idNat: "810100012345",
  lastName: "DOC",
  firstName: "ALICE",
  profession: "Medecin",
});

function attributesOf(body: string): Record<string, string> {
  const doc = new DOMParser().parseFromString(body, "text/xml");
  const out: Record<string, string> = {};
  const list = doc.getElementsByTagNameNS("urn:oasis:names:tc:SAML:2.0:assertion", "Attribute");
  for (let i = 0; i < list.length; i += 1) {
    const a = list.item(i);
    if (a) out[a.getAttribute("Name") ?? ""] = (a.textContent ?? "").trim();
  }
  return out;
}

function reason(expected: string, check?: (d: Record<string, unknown>) => void) {
  return (error: unknown) => {
    assert.ok(isPasserelleError(error), String(error));
    assert.equal(error.reason, expected, error.message);
    check?.(error.details as Record<string, unknown>);
    return true;
  };
}

describe("card mode: the assertion PS's AttributeStatement", () => {
  let sim: InsiSimulator;
  before(async () => {
    sim = await startInsiSimulator({ mode: "card" });
  });
  after(() => sim.close());

  test("from configuration, with a per-origin override field by field", async () => {
    const config = simulatorConfig(sim.url, "card", {
      attributes: {
        default: { identifiantFacturation: "991234567", secteurActivite: "SA05", codeSpecialite: "01" },
        origins: { [OTHER_ORIGIN]: { identifiantFacturation: "330000001" } },
      },
      lps: {
        default: { idam: "SIMUPASSERELLE01", softwareName: "T", softwareVersion: "1" },
      },
    });
    const c = createInsiClient(config, { caPem: sim.caPem });
    try {
      await c.searchByTraits(ADRUN, { origin: ORIGIN, signer: keySigner(doctor) });
      assert.deepEqual(attributesOf(sim.requests.at(-1)?.body ?? ""), {
        identifiantFacturation: "991234567",
        secteurActivite: "SA05",
        codeSpecialite: "01",
      });
      await c.searchByTraits(ADRUN, { origin: OTHER_ORIGIN, signer: keySigner(doctor) });
      assert.deepEqual(attributesOf(sim.requests.at(-1)?.body ?? ""), {
        identifiantFacturation: "330000001",
        secteurActivite: "SA05",
        codeSpecialite: "01",
      });
    } finally {
      c.close();
    }
  });

  test("a missing field is INSI_NOT_CONFIGURED naming it, and nothing is sent", async () => {
    const sent = sim.requests.length;
    const audit = new RecordingAudit();
    const none = createInsiClient(simulatorConfig(sim.url, "card", { attributes: {} }), {
      caPem: sim.caPem,
      audit,
    });
    const noSector = createInsiClient(
      simulatorConfig(sim.url, "card", { attributes: { default: { identifiantFacturation: "991234567" } } }),
      { caPem: sim.caPem },
    );
    try {
      await assert.rejects(
        none.searchByTraits(ADRUN, { origin: ORIGIN, signer: keySigner(nurse) }),
        reason("INSI_NOT_CONFIGURED", (d) => assert.equal(d["field"], "identifiantFacturation")),
      );
      await assert.rejects(
        noSector.searchByTraits(ADRUN, { origin: ORIGIN, signer: keySigner(nurse) }),
        reason("INSI_NOT_CONFIGURED", (d) => assert.equal(d["field"], "secteurActivite")),
      );
      assert.equal(sim.requests.length, sent);
      assert.equal(audit.events[0]?.reason, "INSI_NOT_CONFIGURED");
    } finally {
      none.close();
      noSector.close();
    }
  });

  test("codeSpecialite: required for a doctor's CPS, not for a nurse's", async () => {
    const c = createInsiClient(
      simulatorConfig(sim.url, "card", {
        attributes: { default: { identifiantFacturation: "991234567", secteurActivite: "SA05" } },
      }),
      { caPem: sim.caPem },
    );
    try {
      await assert.rejects(
        c.searchByTraits(ADRUN, { origin: ORIGIN, signer: keySigner(doctor) }),
        reason("INSI_NOT_CONFIGURED", (d) => assert.equal(d["field"], "codeSpecialite")),
      );
      const result = await c.searchByTraits(ADRUN, { origin: ORIGIN, signer: keySigner(nurse) });
      assert.equal(result.outcome, "found");
      assert.deepEqual(Object.keys(attributesOf(sim.requests.at(-1)?.body ?? "")), [
        "identifiantFacturation",
        "secteurActivite",
      ]);
    } finally {
      c.close();
    }
  });

  test("passerelle doctor: the missing attributes are problems, a missing specialty a warning", () => {
    const base = {
      mode: "card",
      endpoints: { card: "https://insi.example/lps" },
      caBundlePath: "/etc/ca.pem",
      lps: { default: { idam: "A", softwareName: "E", softwareVersion: "1" } },
    };
    const problems = insiConfigProblems(InsiConfig.parse(base));
    assert.deepEqual(
      problems.map((p) => p.split(": ")[0]),
      ["insi.attributes.default.identifiantFacturation", "insi.attributes.default.secteurActivite"],
    );
    const complete = InsiConfig.parse({
      ...base,
      attributes: { default: { identifiantFacturation: "1", secteurActivite: "SA05" } },
    });
    assert.deepEqual(insiConfigProblems(complete), []);
    assert.equal(insiConfigWarnings(complete).length, 1);
    const perOrigin = InsiConfig.parse({
      ...base,
      lps: { origins: { [ORIGIN]: { idam: "A", softwareName: "E", softwareVersion: "1" } } },
      attributes: { origins: { [ORIGIN]: { identifiantFacturation: "1" } } },
    });
    assert.deepEqual(
      insiConfigProblems(perOrigin).map((p) => p.split(": ")[0]),
      [`insi.attributes.origins["${ORIGIN}"].secteurActivite`],
    );
    assert.deepEqual(
      insiConfigProblems(InsiConfig.parse({ ...base, mode: "organisation" })).filter((p) =>
        p.includes("attributes"),
      ),
      [],
    );
  });
});

describe("organisation mode: Emetteur from the certificate's OU", () => {
  let sim: InsiSimulator;
  before(async () => {
    sim = await startInsiSimulator({ mode: "organisation" });
  });
  after(() => sim.close());

  test("both contexts carry the OU of the INSI-AUTO certificate", async () => {
    const auto = pki.organisation("INSI-AUTO");
    const credentials = loadOrganisationCredentials(auto.pkcs12, auto.passphrase);
    assert.equal(credentials.organisationalUnit, "899900063480");
    const c = createInsiClient(simulatorConfig(sim.url, "organisation"), {
      organisationCredentials: credentials,
      caPem: sim.caPem,
    });
    try {
      await c.searchByTraits(ADRUN, { origin: ORIGIN });
      const body = sim.requests.at(-1)?.body ?? "";
      assert.match(body, /<ctxlps:Emetteur>899900063480<\/ctxlps:Emetteur>/);
      assert.match(body, /<ctxbam:Emetteur>899900063480<\/ctxbam:Emetteur>/);
    } finally {
      c.close();
    }
  });
});

describe("name syntax (SEL-MP-043 §3.4.1)", () => {
  test("a leading apostrophe is allowed: 'T HOOFT", () => {
    assert.deepEqual(normaliseName("'t Hooft"), { ok: true, value: "'T HOOFT" });
    assert.deepEqual(normaliseFirstNames(["'Anna"]), { ok: true, value: ["'ANNA"] });
  });
  test("a double hyphen: allowed in a birth name, refused in a given name", () => {
    assert.deepEqual(normaliseName("Martin--Durand"), { ok: true, value: "MARTIN--DURAND" });
    const given = normaliseFirstNames(["Jean--Pierre"]);
    assert.equal(given.ok, false);
    assert.match(given.ok ? "" : (given.issues[0]?.message ?? ""), /double hyphen/);
  });
  test("a given name may not end with a hyphen or an apostrophe; nothing starts with a hyphen", () => {
    for (const bad of ["Jean-", "Jean'"]) {
      const result = normaliseFirstNames([bad]);
      assert.equal(result.ok, false, bad);
      assert.match(result.ok ? "" : (result.issues[0]?.message ?? ""), /may not end/);
    }
    assert.equal(normaliseName("-DURAND").ok, false);
    assert.equal(normaliseName("''DURAND").ok, false);
    assert.equal(normaliseName("D''URAND").ok, false);
  });
  test("incomplete birth dates stay as given (DateLunaire), never completed by the daemon", async () => {
    const { normaliseBirthDate } = await import("../../src/ins/traits.ts");
    assert.deepEqual(normaliseBirthDate("1982-00-00"), { ok: true, value: "1982-00-00" });
    assert.deepEqual(normaliseBirthDate("1982-04-00"), { ok: true, value: "1982-04-00" });
  });
});

describe("Vitale search: BENEFICIAIRE/Nir only with the beneficiary's own NIR", () => {
  test("a child on the insured person's card: no Nir, the insured's NIR is in ASSURE only", () => {
    const child = vitaleCouverture({
      insuredNir: "1090763220834",
      insuredNirKey: "89",
      birthName: "ECETINSI",
      birthDate: "2015-03-02",
      birthRank: 1,
    });
    assert.equal(child.match(/1090763220834/g)?.length, 1);
    assert.doesNotMatch(child, /<ctxbam:Nir>/);
    assert.match(child, /<ctxbam:BENEFICIAIRE><ctxbam:DateNai>2015-03-02<\/ctxbam:DateNai>/);
    const own = vitaleCouverture({
      individualNir: "297022A020778",
      individualNirKey: "78",
      insuredNir: "1090763220834",
      birthName: "X",
      birthDate: "1997-02-26",
    });
    assert.match(own, /<ctxbam:BENEFICIAIRE><ctxbam:Nir><ctxbam:Num>297022A020778<\/ctxbam:Num>/);
  });
});

const META = { messageId: "uuid:00000000-0000-4000-8000-000000000000", receivedAt: "t" };
const envelope = (body: string) =>
  `<soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope"><soap:Body>${body}</soap:Body></soap:Envelope>`;

describe("answers", () => {
  test("siram_40 (temporarily unavailable) is INSI_UNAVAILABLE, retriable, with the code kept", () => {
    const fault = envelope(
      `<soap:Fault><soap:Code><soap:Value>soap:Receiver</soap:Value><soap:Subcode><soap:Value>soap:siram_40</soap:Value></soap:Subcode></soap:Code>` +
        `<soap:Reason><soap:Text xml:lang="fr">Service temporairement inaccessible</soap:Text></soap:Reason>` +
        `<soap:Detail><siram:Erreur xmlns:siram="urn:siram" code="siram_40" severite="erreur">Service temporairement inaccessible</siram:Erreur></soap:Detail></soap:Fault>`,
    );
    assert.throws(
      () => parseInsiResponse(fault, META),
      (error: unknown) => {
        assert.ok(isPasserelleError(error, "INSI_UNAVAILABLE"));
        assert.equal(error.retriable, true);
        assert.equal(error.details["faultCode"], "siram_40");
        return true;
      },
    );
  });

  test("Sexe I: an explicit INSI_INVALID_RESPONSE saying INSi returns only M or F", () => {
    const xml = envelope(
      `<RESULTAT xmlns="http://www.cnamts.fr/INSiResultat"><CR><CodeCR>00</CodeCR><LibelleCR>OK</LibelleCR></CR><INDIVIDU>` +
        `<INSACTIF><IdIndividu><NumIdentifiant>2751263220749</NumIdentifiant><Cle>74</Cle></IdIndividu><OID>1.2.250.1.213.1.4.8</OID></INSACTIF>` +
        `<TIQ><NomNaissance>ADRUN</NomNaissance><ListePrenom>ZOE</ListePrenom><Sexe>I</Sexe><DateNaissance>1975-12-31</DateNaissance></TIQ></INDIVIDU></RESULTAT>`,
    );
    assert.throws(
      () => parseInsiResponse(xml, META),
      (error: unknown) => {
        assert.ok(isPasserelleError(error, "INSI_INVALID_RESPONSE"));
        assert.equal(error.details["problem"], "sex-indeterminate");
        assert.match(error.message, /only M or F/);
        assert.doesNotMatch(JSON.stringify(error.details), /ADRUN|2751263220749/);
        return true;
      },
    );
  });
});

describe("search strategy after CR 01 (padoa: each given name, then the whole list)", () => {
  let sim: InsiSimulator;
  const auto = pki.organisation("INSI-AUTO");
  const credentials = loadOrganisationCredentials(auto.pkcs12, auto.passphrase);
  before(async () => {
    sim = await startInsiSimulator({ mode: "organisation" });
  });
  after(() => sim.close());
  const prenomsSent = (from: number) =>
    sim.requests.slice(from).map((r) => /<Prenom>([^<]*)<\/Prenom>/.exec(r.body)?.[1]);

  test("TCHITCHI OLA CATARINA BELLA: OLA → 01, CATARINA → 00; two calls, two audit records", async () => {
    const audit = new RecordingAudit();
    const c = createInsiClient(simulatorConfig(sim.url, "organisation"), {
      organisationCredentials: credentials,
      caPem: sim.caPem,
      audit,
    });
    const from = sim.requests.length;
    try {
      const result = await c.searchByTraits(
        { birthName: "TCHITCHI", firstNames: ["OLA CATARINA BELLA"], sex: "F", birthDate: "1936-06-21" },
        { origin: ORIGIN },
      );
      assert.equal(result.outcome, "found");
      assert.deepEqual(result.identity?.firstNames, ["CATARINA", "BELLA"]);
      assert.deepEqual(prenomsSent(from), ["OLA", "CATARINA"]);
      assert.deepEqual(
        audit.events.map((e) => e.cr),
        ["01", "00"],
      );
      assert.equal(new Set(audit.events.map((e) => e.messageId)).size, 2);
      assert.equal(result.messageId, audit.events[1]?.messageId);
    } finally {
      c.close();
    }
  });

  test("HOUILLES PIERRE PAUL JACQUES: four calls (each name, then the list), CR 01", async () => {
    const audit = new RecordingAudit();
    const c = createInsiClient(simulatorConfig(sim.url, "organisation"), {
      organisationCredentials: credentials,
      caPem: sim.caPem,
      audit,
    });
    const from = sim.requests.length;
    try {
      const result = await c.searchByTraits(
        {
          birthName: "HOUILLES",
          firstNames: ["PIERRE", "PAUL", "JACQUES"],
          sex: "M",
          birthDate: "1993-01-27",
        },
        { origin: ORIGIN },
      );
      assert.equal(result.outcome, "notFound");
      assert.deepEqual(prenomsSent(from), ["PIERRE", "PAUL", "JACQUES", "PIERRE PAUL JACQUES"]);
      assert.equal(audit.events.length, 4);
    } finally {
      c.close();
    }
  });

  test("one given name: one call; a fault stops the sequence", async () => {
    const c = createInsiClient(simulatorConfig(sim.url, "organisation"), {
      organisationCredentials: credentials,
      caPem: sim.caPem,
    });
    let from = sim.requests.length;
    try {
      await c.searchByTraits({ ...ADRUN, firstNames: ["Zoé"] }, { origin: ORIGIN });
      assert.equal(sim.requests.length - from, 1);
      from = sim.requests.length;
      sim.setFault({ kind: "http500" });
      await assert.rejects(
        c.searchByTraits(
          { birthName: "HOUILLES", firstNames: ["PIERRE", "PAUL"], sex: "M", birthDate: "1993-01-27" },
          { origin: ORIGIN },
        ),
        reason("INSI_FAULT"),
      );
      assert.equal(sim.requests.length - from, 1);
    } finally {
      sim.setFault();
      c.close();
    }
  });
});
