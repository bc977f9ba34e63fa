/**
 * The strict simulator: what the real INSi refuses is refused (each lenient case of issue #11), and
 * what it is known to have accepted is accepted — a request in the shape of padoa's recorded
 * card-mode request (headers in another order, `soap:Body Id="_0"`, prefixed body children, an
 * assertion without Conditions), written here in our own words with our test PKI.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import https from "node:https";
import { randomUUID } from "node:crypto";
import {
  assertionPsXml,
  signAssertion,
  signerIdentity,
  type AssertionAttribute,
} from "../../../src/insi/assertion-ps.ts";
import { buildEnvelope, recSansVitaleBody } from "../../../src/insi/envelope.ts";
import { NS } from "../../../src/insi/namespaces.ts";
import {
  SIMULATED_ASSERTION_ATTRIBUTES,
  SIMULATOR_IDAM,
  startInsiSimulator,
  type InsiSimulator,
} from "../../../src/simulator/insi/server.ts";
import { getInsiTestPki } from "../../../src/simulator/insi/test-pki.ts";
import { keySigner } from "../../insi/helpers.ts";

const pki = getInsiTestPki();
const doctor = pki.cpsSignature({
  idNat: "810100012345",
  lastName: "DOC",
  firstName: "ALICE",
  profession: "Medecin",
});
const nurse = pki.cpsSignature({
  idNat: "810100099999",
  lastName: "SOIN",
  firstName: "ALEX",
  profession: "Infirmier",
});
const ATTRIBUTES: AssertionAttribute[] = Object.entries(SIMULATED_ASSERTION_ATTRIBUTES).map(
  ([name, value]) => ({
    name,
    value,
  }),
);
const DAY = 86_400;
const traits = {
  birthName: "ADRUN",
  firstNames: ["ZOE"],
  firstName: "ZOE",
  sex: "F" as const,
  birthDate: "1975-12-31",
};

async function assertion(
  options: {
    cert?: typeof doctor;
    issued?: Date;
    validitySeconds?: number;
    attributes?: AssertionAttribute[];
    cardType?: string;
    edit?: (xml: string) => string;
  } = {},
): Promise<string> {
  const cert = options.cert ?? doctor;
  const identity = {
    ...signerIdentity(cert.certPem),
    ...(options.cardType ? { cardType: options.cardType } : {}),
  };
  const unsigned = assertionPsXml(
    identity,
    `_${randomUUID()}`,
    options.issued ?? new Date(),
    options.validitySeconds ?? 300,
    options.attributes ?? ATTRIBUTES,
  );
  return signAssertion((options.edit ?? ((x) => x))(unsigned), cert.certPem, keySigner(cert));
}

function envelope(assertions: string[], body = recSansVitaleBody(traits)): string {
  return buildEnvelope({
    operation: "rechercherInsAvecTraitsIdentite",
    messageId: `uuid:${randomUUID()}`,
    time: new Date(),
    lps: { idam: SIMULATOR_IDAM, softwareName: "T", softwareVersion: "1", instance: randomUUID() },
    contextId: randomUUID(),
    assertions,
    body,
  });
}

function post(sim: InsiSimulator, body: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = https.request(sim.url, { method: "POST", ca: sim.caPem, agent: false }, (res) => {
      let text = "";
      res.on("data", (d: Buffer) => (text += d.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

const fault = (body: string) => ({
  code: /code="([^"]+)"/.exec(body)?.[1],
  message: />([^<]*)<\/siram:Erreur>/.exec(body)?.[1] ?? "",
});

describe("the strict simulator refuses what the real INSi refuses", () => {
  let sim: InsiSimulator;
  let valid: string;
  before(async () => {
    sim = await startInsiSimulator({ mode: "card" });
    valid = await assertion();
  });
  after(() => sim.close());

  test("a request as our client sends it is answered", async () => {
    const { status, body } = await post(sim, envelope([valid]));
    assert.equal(status, 200, body);
  });

  const body = (inner: string) => `<RECSANSVITALE xmlns="${NS.recSans}">${inner}</RECSANSVITALE>`;
  const withBody = (inner: string) => envelope([], body(inner));
  const bodyCases: Array<[string, string, string, RegExp]> = [
    [
      "body in the wrong order",
      "<Prenom>ZOE</Prenom><NomNaissance>ADRUN</NomNaissance><Sexe>F</Sexe><DateNaissance>1975-12-31</DateNaissance>",
      "SIM_SCHEMA",
      /out of order/,
    ],
    [
      "an unknown child",
      "<NomNaissance>ADRUN</NomNaissance><Prenom>ZOE</Prenom><Sexe>F</Sexe><DateNaissance>1975-12-31</DateNaissance><Age>50</Age>",
      "SIM_SCHEMA",
      /not allowed/,
    ],
    [
      "a lowercase name",
      "<NomNaissance>Adrun</NomNaissance><Prenom>ZOE</Prenom><Sexe>F</Sexe><DateNaissance>1975-12-31</DateNaissance>",
      "SIM_FORMAT",
      /nom de naissance/,
    ],
    [
      "an accented given name",
      "<NomNaissance>ADRUN</NomNaissance><Prenom>ZOÉ</Prenom><Sexe>F</Sexe><DateNaissance>1975-12-31</DateNaissance>",
      "SIM_FORMAT",
      /prénom/,
    ],
    [
      "a given name with a double hyphen",
      "<NomNaissance>ADRUN</NomNaissance><Prenom>ZOE--ANNE</Prenom><Sexe>F</Sexe><DateNaissance>1975-12-31</DateNaissance>",
      "SIM_FORMAT",
      /double tiret/,
    ],
    [
      "an empty sex",
      "<NomNaissance>ADRUN</NomNaissance><Prenom>ZOE</Prenom><Sexe></Sexe><DateNaissance>1975-12-31</DateNaissance>",
      "insi_24",
      /format du champ sexe/,
    ],
    ["missing traits", "<NomNaissance>ADRUN</NomNaissance><Sexe>F</Sexe>", "SIM_FORMAT", /prénom absent/],
  ];
  for (const [name, inner, code, message] of bodyCases) {
    test(`refused: ${name} → ${code}`, async () => {
      const { status, body: answer } = await post(
        sim,
        withBody(inner).replace(
          "<soap:Header>",
          `<soap:Header><wsse:Security xmlns:wsse="${NS.wsse}">${valid}</wsse:Security>`,
        ),
      );
      assert.equal(status, 500);
      assert.equal(fault(answer).code, code, answer);
      assert.match(fault(answer).message, message);
    });
  }

  test("refused: no body, an empty body → SIM_SCHEMA", async () => {
    for (const xml of [
      envelope([valid]).replace(/<soap:Body>.*<\/soap:Body>/, ""),
      envelope([valid]).replace(/<soap:Body>.*<\/soap:Body>/, "<soap:Body/>"),
    ]) {
      const { status, body: answer } = await post(sim, xml);
      assert.equal(status, 500);
      assert.match(fault(answer).code ?? "", /^SIM_(SCHEMA|ENTETE)$/, answer);
    }
  });

  const assertionCases: Array<[string, () => Promise<string>, RegExp]> = [
    [
      "an assertion without AttributeStatement",
      () => assertion({ attributes: [] }),
      /AttributeStatement absent/,
    ],
    [
      "a doctor's assertion without codeSpecialite",
      () => assertion({ attributes: ATTRIBUTES.filter((a) => a.name !== "codeSpecialite") }),
      /codeSpecialite/,
    ],
    ["a wrong NameQualifier", () => assertion({ cardType: "PSC" }), /NameQualifier/],
    ["a NameQualifier of another card type", () => assertion({ cardType: "CPF" }), /type de carte/],
    [
      "an IssueInstant two days old",
      () => assertion({ issued: new Date(Date.now() - 2 * DAY * 1000), validitySeconds: 3 * DAY }),
      /trop ancienne/,
    ],
    ["a 30-day validity window", () => assertion({ validitySeconds: 30 * DAY }), /trop longue/],
    [
      "an Issuer that is not the certificate's subject",
      () => assertion({ edit: (x) => x.replace(/(<Issuer[^>]*>)[^<]*/, "$1CN=810100012345,C=FR") }),
      /Issuer différent/,
    ],
    [
      "a SAML version other than 2.0",
      () => assertion({ edit: (x) => x.replace('Version="2.0"', 'Version="1.1"') }),
      /Version/,
    ],
  ];
  for (const [name, make, message] of assertionCases) {
    test(`refused: ${name} → SIM_ASSERTION`, async () => {
      const { status, body: answer } = await post(sim, envelope([await make()]));
      assert.equal(status, 500);
      assert.equal(fault(answer).code, "SIM_ASSERTION", answer);
      assert.match(fault(answer).message.replace(/&apos;/g, "'"), message);
    });
  }
});

describe("never stricter than the real INSi", () => {
  let sim: InsiSimulator;
  before(async () => {
    sim = await startInsiSimulator({ mode: "card" });
  });
  after(() => sim.close());

  test("a request in the shape of padoa's recorded card-mode request is answered", async () => {
    // padoa's shape: every namespace declared on the envelope (some unused), ContexteBAM first and
    // without Nature, COUVERTURE as an open/close pair, whitespace between headers, wsa headers
    // redeclaring their namespace as default, Security last, soap:Body Id="_0", the body's
    // children prefixed while the default namespace is also declared, an assertion without
    // Conditions carrying identifiantFacturation and secteurActivite only (a nurse's card).
    const signed = await signAssertion(
      assertionPsXml(signerIdentity(nurse.certPem), `_${randomUUID()}`, new Date(), 300, [
        { name: "identifiantFacturation", value: "123456789" },
        { name: "secteurActivite", value: "SA05" },
      ]).replace(/<Conditions[^>]*\/>/, ""),
      nurse.certPem,
      keySigner(nurse),
    );
    const now = new Date().toISOString();
    const request =
      `<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="${NS.soap}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" ` +
      `xmlns:tns="http://www.cnamts.fr/webservice" xmlns:insi_recsans_ins="${NS.recSans}" xmlns:wsse="${NS.wsse}" xmlns:ctxbam="${NS.ctxbam}" xmlns:ctxlps="${NS.ctxlps}" xmlns:siram="${NS.siram}">` +
      `<soap:Header><ctxbam:ContexteBAM Version="01_02"><ctxbam:Id>${randomUUID()}</ctxbam:Id><ctxbam:Temps>${now}</ctxbam:Temps>` +
      `<ctxbam:Emetteur>soignant@example.test</ctxbam:Emetteur><ctxbam:COUVERTURE></ctxbam:COUVERTURE></ctxbam:ContexteBAM> ` +
      `<ctxlps:ContexteLPS Nature="CTXLPS" Version="01_00"><ctxlps:Id>${randomUUID()}</ctxlps:Id><ctxlps:Temps>${now}</ctxlps:Temps>` +
      `<ctxlps:Emetteur>soignant@example.test</ctxlps:Emetteur><ctxlps:LPS><ctxlps:IDAM R="4">${SIMULATOR_IDAM}</ctxlps:IDAM>` +
      `<ctxlps:Version>2026</ctxlps:Version><ctxlps:Instance>${randomUUID()}</ctxlps:Instance><ctxlps:Nom>editeur</ctxlps:Nom></ctxlps:LPS></ctxlps:ContexteLPS> ` +
      `<wsa:Action xmlns:wsa="${NS.wsa}" xmlns="${NS.wsa}">urn:ServiceIdentiteCertifiee:1.0.0:rechercherInsAvecTraitsIdentite</wsa:Action> ` +
      `<wsa:MessageID xmlns:wsa="${NS.wsa}" xmlns="${NS.wsa}">uuid:${randomUUID()}</wsa:MessageID>` +
      `<wsse:Security xmlns:wsse="${NS.wsse}">${signed}</wsse:Security></soap:Header>` +
      `<soap:Body Id="_0"><insi_recsans_ins:RECSANSVITALE xmlns:insi_recsans_ins="${NS.recSans}" xmlns="${NS.recSans}">` +
      `<insi_recsans_ins:NomNaissance>ADRUN</insi_recsans_ins:NomNaissance><insi_recsans_ins:Prenom>ZOE</insi_recsans_ins:Prenom>` +
      `<insi_recsans_ins:Sexe>F</insi_recsans_ins:Sexe><insi_recsans_ins:DateNaissance>1975-12-31</insi_recsans_ins:DateNaissance>` +
      `</insi_recsans_ins:RECSANSVITALE></soap:Body></soap:Envelope>`;
    const { status, body } = await post(sim, request);
    assert.equal(status, 200, body);
    assert.match(body, /<CodeCR>00<\/CodeCR>/);
  });

  test("birth names the guide allows: a leading apostrophe, a double hyphen", async () => {
    for (const name of ["'T HOOFT", "MARTIN--DURAND"]) {
      const { status, body } = await post(
        sim,
        envelope([await assertion()], recSansVitaleBody({ ...traits, birthName: name })),
      );
      assert.equal(status, 200, body);
      assert.match(body, /<CodeCR>01<\/CodeCR>/);
    }
  });
});
