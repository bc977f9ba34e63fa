import { test } from "node:test";
import assert from "node:assert/strict";
import { isPasserelleError } from "../../src/errors.ts";
import { parseInsiResponse } from "../../src/insi/response.ts";
import { MAX_RESPONSE_BYTES } from "../../src/insi/xml.ts";
import { SAMPLES, faultDocument, resultDocument } from "./fixtures.ts";

const meta = {
  messageId: "uuid:00000000-0000-4000-8000-000000000000",
  receivedAt: "2026-01-01T00:00:00.000Z",
};

function reasonOf(xml: string): { reason: string; details: Record<string, unknown> } {
  try {
    parseInsiResponse(xml, meta);
  } catch (error) {
    assert.ok(isPasserelleError(error), String(error));
    return { reason: error.reason, details: error.details as Record<string, unknown> };
  }
  assert.fail("expected an error");
}

test("CR 01: notFound, no identity, meta carried over", () => {
  assert.deepEqual(parseInsiResponse(SAMPLES["cr01-no-identity"], meta), {
    outcome: "notFound",
    cr: { code: "01", label: "Aucune identite trouvee" },
    messageId: meta.messageId,
    receivedAt: meta.receivedAt,
  });
});

test("history as a list, dates before IdIndividu tolerated, ListePrenom split", () => {
  const { identity } = parseInsiResponse(SAMPLES["history-dates-first"], meta);
  assert.ok(identity);
  assert.deepEqual(identity.firstNames, ["PIERRE-ALAIN", "MURIEL", "FLORIANT"]);
  assert.equal(identity.firstName, "PIERRE-ALAIN");
  assert.deepEqual(identity.history, [
    {
      value: "2090763220834",
      key: "39",
      oid: "1.2.250.1.213.1.4.8",
      type: "NIR",
      validFrom: "2019-03-01",
      validTo: "2019-02-28",
      keyValid: true,
    },
    { value: "2090663220123", key: "55", oid: "1.2.250.1.213.1.4.8", type: "NIR", keyValid: true },
  ]);
});

test("NIA: the OID .9 gives type NIA; indentation and comments are fine", () => {
  const { identity } = parseInsiResponse(SAMPLES["nia-temporary"], meta);
  assert.deepEqual(identity?.ins, {
    value: "1090763220888",
    key: "35",
    oid: "1.2.250.1.213.1.4.9",
    type: "NIA",
    keyValid: true,
  });
  assert.equal(identity?.birthName, "PROVISOIRE");
});

test("Corsica: 2B matricule and birth place", () => {
  const { identity } = parseInsiResponse(SAMPLES["corsica-history"], meta);
  assert.equal(identity?.ins.value, "180032B020401");
  assert.equal(identity?.ins.keyValid, true);
  assert.equal(identity?.birthPlace, "2B020");
  assert.equal(identity?.history.length, 1);
});

test("keys that do not verify are reported, not rejected", () => {
  const result = parseInsiResponse(SAMPLES["keys-do-not-verify"], meta);
  assert.equal(result.outcome, "found");
  assert.equal(result.identity?.ins.keyValid, false);
  assert.deepEqual(
    result.identity?.history.map((h) => [h.value, h.keyValid]),
    [
      ["1810363220456", false],
      ["2810363220456", false],
    ],
  );
});

test("CR 02: multiple", () => {
  const result = parseInsiResponse(
    resultDocument({ code: "02", label: "Plusieurs identites trouvees" }),
    meta,
  );
  assert.equal(result.outcome, "multiple");
});

test("live-style answer without Prenom and without Cle: first name from the list, key computed", () => {
  const xml = resultDocument({
    code: "00",
    label: "OK",
    individu: {
      actif: { num: "2751263220749", oid: "1.2.250.1.213.1.4.8" },
      tiq: { nom: "ADRUN", liste: "ZOE", sexe: "F", date: "1975-12-31", lieu: "63220" },
    },
  });
  const { identity } = parseInsiResponse(xml, meta);
  assert.equal(identity?.ins.key, "74");
  assert.equal(identity?.ins.keyValid, undefined);
  assert.equal(identity?.firstName, "ZOE");
});

test("SOAP fault with siram:Erreur → INSI_FAULT with code and message", () => {
  const { reason, details } = reasonOf(
    faultDocument({
      value: "env:Sender",
      subcode: "env:siram_100",
      reason: "Accès non autorisé",
      erreur: {
        code: "desir_550",
        severite: "erreur",
        messageID: "uuid:x",
        text: "Numéro d'autorisation du logiciel inconnu.",
      },
    }),
  );
  assert.equal(reason, "INSI_FAULT");
  assert.deepEqual(details, {
    faultCode: "desir_550",
    faultMessage: "Numéro d'autorisation du logiciel inconnu.",
    soapCode: "Sender",
    subcode: "siram_100",
    severity: "erreur",
    reason: "Accès non autorisé",
  });
});

test("SOAP fault without detail: the subcode and reason are used", () => {
  const { reason, details } = reasonOf(
    faultDocument({
      value: "env:Receiver",
      subcode: "env:insi_24",
      reason: "le format du champ sexe est incorrect",
    }),
  );
  assert.equal(reason, "INSI_FAULT");
  assert.equal(details["faultCode"], "insi_24");
  assert.equal(details["faultMessage"], "le format du champ sexe est incorrect");
});

test("XXE: a DOCTYPE or ENTITY is refused before parsing", () => {
  const xxe =
    `<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>` +
    SAMPLES["cr01-no-identity"].replace(/^<\?xml[^>]*>\n/, "").replace("Aucune identite trouvee", "&x;");
  assert.equal(reasonOf(xxe).reason, "INSI_INVALID_RESPONSE");
  assert.equal(reasonOf(`<!ENTITY a "b">` + SAMPLES["cr01-no-identity"]).reason, "INSI_INVALID_RESPONSE");
  // Refused by the pre-check itself, not by xmldom tripping over the undefined entity afterwards
  // (which gives the same reason): the message is the pre-check's own.
  const body = SAMPLES["cr01-no-identity"].replace(/^<\?xml[^>]*>\n/, "");
  for (const declared of [
    xxe,
    `<!doctype Envelope>${body}`,
    `<!DOCTYPE Envelope [<!ENTITY a "b">]>${body}`,
  ]) {
    assert.throws(() => parseInsiResponse(declared, meta), /DOCTYPE or ENTITY declarations are refused/);
  }
});

test("size bound", () => {
  const padded = SAMPLES["cr01-no-identity"].replace("<CR>", `<CR>${" ".repeat(MAX_RESPONSE_BYTES)}`);
  assert.equal(reasonOf(padded).reason, "INSI_INVALID_RESPONSE");
});

test("anything else → INSI_INVALID_RESPONSE, with element names and no content in details", () => {
  const cases: [string, string][] = [
    ["not xml", "<html><body>Bad gateway"],
    ["empty", ""],
    ["SOAP 1.1", `<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/"><e:Body/></e:Envelope>`],
    ["unknown CR", resultDocument({ code: "07", label: "?" })],
    ["CR 00 without INDIVIDU", resultDocument({ code: "00", label: "OK" })],
    [
      "bad sex",
      resultDocument({
        code: "00",
        label: "OK",
        individu: {
          actif: { num: "2751263220749", cle: "74", oid: "x" },
          tiq: { nom: "A", liste: "B", sexe: "X", date: "1975-12-31" },
        },
      }),
    ],
    [
      "bad matricule",
      resultDocument({
        code: "00",
        label: "OK",
        individu: {
          actif: { num: "27512632207", cle: "74", oid: "x" },
          tiq: { nom: "A", liste: "B", sexe: "F", date: "1975-12-31" },
        },
      }),
    ],
    [
      "no first name",
      resultDocument({
        code: "00",
        label: "OK",
        individu: {
          actif: { num: "2751263220749", cle: "74", oid: "x" },
          tiq: { nom: "A", sexe: "F", date: "1975-12-31" },
        },
      }),
    ],
    [
      "wrong namespace",
      SAMPLES["cr01-no-identity"].replace("http://www.cnamts.fr/INSiResultat", "urn:other"),
    ],
  ];
  for (const [name, xml] of cases) {
    const { reason, details } = reasonOf(xml);
    assert.equal(reason, "INSI_INVALID_RESPONSE", name);
    assert.doesNotMatch(JSON.stringify(details), /2751263220749|ADRUN/, name);
  }
});

test("what goes back to the web app from a response is bounded: unknown CR text, fault messages", async () => {
  const { parseInsiResponse } = await import("../../src/insi/response.ts");
  const soap = (body: string) =>
    `<soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope"><soap:Body>${body}</soap:Body></soap:Envelope>`;
  const longText = "X".repeat(5000);
  const meta = { messageId: "uuid:1", receivedAt: "2026-01-01T00:00:00Z" };
  assert.throws(
    () =>
      parseInsiResponse(
        soap(
          `<RESULTAT xmlns="http://www.cnamts.fr/INSiResultat"><CR><CodeCR>${longText}</CodeCR></CR></RESULTAT>`,
        ),
        meta,
      ),
    (error: unknown) =>
      isPasserelleError(error, "INSI_INVALID_RESPONSE") && error.details["cr"] === "(not a CR code)",
  );
});
