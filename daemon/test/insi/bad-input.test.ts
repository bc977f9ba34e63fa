/**
 * Bad INSi answers, served over real HTTPS by a server that says what it is told: each one ends in
 * a result or a typed INSI_INVALID_RESPONSE / INSI_FAULT / INSI_UNAVAILABLE, with an audit record
 * for the call and nothing of the answer's identity in the error.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import https from "node:https";
import type { AddressInfo } from "node:net";
import { isPasserelleError } from "../../src/errors.ts";
import { createInsiClient } from "../../src/insi/client.ts";
import { loadOrganisationCredentials } from "../../src/insi/credentials.ts";
import { getInsiTestPki } from "../../src/simulator/insi/test-pki.ts";
import { ADRUN, ORIGIN, RecordingAudit, simulatorConfig } from "./helpers.ts";

const pki = getInsiTestPki();
const auto = pki.organisation("INSI-AUTO");
const credentials = loadOrganisationCredentials(auto.pkcs12, auto.passphrase);

const SOAP12 = "http://www.w3.org/2003/05/soap-envelope";
const RES = "http://www.cnamts.fr/INSiResultat";
const individu = (tiq = "") =>
  `<INDIVIDU><INSACTIF><IdIndividu><NumIdentifiant>2751263220749</NumIdentifiant><Cle>74</Cle></IdIndividu><OID>1.2.250.1.213.1.4.8</OID></INSACTIF>` +
  `<TIQ><NomNaissance>ADRUN</NomNaissance><ListePrenom>ZOE</ListePrenom><Sexe>F</Sexe><DateNaissance>1975-12-31</DateNaissance>${tiq}</TIQ></INDIVIDU>`;
const resultat = (inner: string) =>
  `<RESULTAT xmlns="${RES}"><CR><CodeCR>00</CodeCR><LibelleCR>OK</LibelleCR></CR>${inner}</RESULTAT>`;
const envelope = (body: string) =>
  `<?xml version="1.0" encoding="UTF-8"?><soap:Envelope xmlns:soap="${SOAP12}"><soap:Body>${body}</soap:Body></soap:Envelope>`;
const FOUND = envelope(resultat(individu()));
/** Identity content that must never appear in an error. */
const SECRETS = ["ADRUN", "2751263220749", "1975-12-31"];

type Answer = { status: number; body: string | (() => AsyncIterable<Buffer>); contentType?: string };

describe("bad INSi answers", () => {
  let server: https.Server;
  let url: string;
  let answer: Answer = { status: 200, body: FOUND };
  let written = 0;
  before(async () => {
    server = https.createServer({ key: pki.server.keyPem, cert: pki.server.certPem }, (req, res) => {
      req.resume();
      req.on("end", () => {
        res.writeHead(answer.status, {
          "content-type": answer.contentType ?? "application/soap+xml; charset=utf-8",
        });
        const body = answer.body;
        if (typeof body === "string") {
          res.end(body);
          return;
        }
        void (async () => {
          for await (const chunk of body()) {
            if (res.destroyed) return;
            written += chunk.length;
            if (!res.write(chunk)) await new Promise((r) => res.once("drain", r).once("close", r));
          }
          res.end();
        })();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/lps`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  async function call(next: Answer) {
    answer = next;
    const audit = new RecordingAudit();
    const client = createInsiClient(simulatorConfig(url, "organisation"), {
      organisationCredentials: credentials,
      caPem: pki.caPem,
      audit,
    });
    try {
      const result = await client.searchByTraits(ADRUN, { origin: ORIGIN }).then(
        (value) => ({ value }),
        (error: unknown) => ({ error }),
      );
      assert.equal(audit.events.length, 1, "one audit record for the call");
      return { ...result, audit: audit.events[0] };
    } finally {
      client.close();
    }
  }

  function expectReason(outcome: object, reason: string, detail?: RegExp) {
    const error = "error" in outcome ? outcome.error : undefined;
    assert.ok(isPasserelleError(error), `expected a PasserelleError, got ${String(error)}`);
    assert.equal(error.reason, reason, error.message);
    if (detail) assert.match(`${error.message} ${JSON.stringify(error.details)}`, detail);
    const said = `${error.message} ${JSON.stringify(error.details)}`;
    for (const secret of SECRETS) assert.ok(!said.includes(secret), `the error repeats ${secret}`);
  }

  test("a valid answer is read (the baseline)", async () => {
    const outcome = await call({ status: 200, body: FOUND });
    assert.ok("value" in outcome && outcome.value.outcome === "found");
  });

  test("truncated → INSI_INVALID_RESPONSE", async () => {
    for (const cut of [FOUND.length - 20, Math.floor(FOUND.length / 2), 10]) {
      const outcome = await call({ status: 200, body: FOUND.slice(0, cut) });
      expectReason(outcome, "INSI_INVALID_RESPONSE");
      assert.equal(outcome.audit?.reason, "INSI_INVALID_RESPONSE");
    }
  });

  test("a BOM before a valid answer is read; before a broken one, INSI_INVALID_RESPONSE", async () => {
    const ok = await call({ status: 200, body: `\uFEFF${FOUND}` });
    assert.ok("value" in ok && ok.value.outcome === "found");
    expectReason(await call({ status: 200, body: `\uFEFF${FOUND.slice(0, 80)}` }), "INSI_INVALID_RESPONSE");
  });

  test("SOAP 1.1 → INSI_INVALID_RESPONSE", async () => {
    const soap11 = FOUND.replace(SOAP12, "http://schemas.xmlsoap.org/soap/envelope/");
    expectReason(await call({ status: 200, body: soap11 }), "INSI_INVALID_RESPONSE", /SOAP 1\.2/);
  });

  test("unusual namespace prefixes are read as the same names", async () => {
    const odd =
      `<?xml version="1.0"?><S:Envelope xmlns:S="${SOAP12}"><env:Body xmlns:env="${SOAP12}">` +
      `<r:RESULTAT xmlns:r="${RES}" xmlns:ns0="http://www.cnamts.fr/INSiRecVit"><r:CR><r:CodeCR>00</r:CodeCR><r:LibelleCR>OK</r:LibelleCR></r:CR>` +
      individu().replace(/<(\/?)([A-Za-z]+)>/g, "<$1r:$2>") +
      `</r:RESULTAT></env:Body></S:Envelope>`;
    const outcome = await call({ status: 200, body: odd });
    assert.ok("value" in outcome, String((outcome as { error?: unknown }).error));
    assert.equal(outcome.value.identity?.ins.value, "2751263220749");
    // A right local name in the wrong namespace is not INSi's element.
    const wrong = FOUND.replace(`xmlns="${RES}"`, `xmlns="urn:other"`);
    expectReason(await call({ status: 200, body: wrong }), "INSI_INVALID_RESPONSE");
  });

  test("duplicated elements → INSI_INVALID_RESPONSE naming the element", async () => {
    const cases: Array<[string, string]> = [
      ["CR", envelope(resultat(`<CR><CodeCR>01</CodeCR><LibelleCR>x</LibelleCR></CR>${individu()}`))],
      ["INDIVIDU", envelope(resultat(individu() + individu()))],
      ["Sexe", envelope(resultat(individu("<Sexe>M</Sexe>")))],
      ["Body", FOUND.replace("</soap:Body>", "</soap:Body><soap:Body/>")],
    ];
    for (const [name, body] of cases) {
      expectReason(await call({ status: 200, body }), "INSI_INVALID_RESPONSE", new RegExp(name));
    }
  });

  test("50 MB → INSI_INVALID_RESPONSE, the connection dropped after the limit", async () => {
    written = 0;
    const chunk = Buffer.alloc(64 * 1024, "A");
    const outcome = await call({
      status: 200,
      body: async function* () {
        yield Buffer.from(`<?xml version="1.0"?><soap:Envelope xmlns:soap="${SOAP12}"><soap:Body><x>`);
        for (let i = 0; i < 800; i += 1) yield chunk; // 50 MB
      },
    });
    expectReason(outcome, "INSI_INVALID_RESPONSE", /larger than the limit/);
    // The client stopped reading long before the end (what is in flight is bounded by the TCP buffers).
    assert.ok(written < 20 * 1024 * 1024, `the server could write ${written} bytes`);
  });

  test("a DTD, entities, an entity bomb → INSI_INVALID_RESPONSE before parsing", async () => {
    const bomb =
      `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>` +
      FOUND.replace(/^<\?xml[^>]*>/, "").replace("ADRUN", "&lol2;");
    expectReason(await call({ status: 200, body: bomb }), "INSI_INVALID_RESPONSE", /DOCTYPE or ENTITY/);
    const external = FOUND.replace(
      "<soap:Envelope",
      `<!DOCTYPE x SYSTEM "file:///etc/passwd"><soap:Envelope`,
    );
    expectReason(await call({ status: 200, body: external }), "INSI_INVALID_RESPONSE", /DOCTYPE/);
    // An undeclared entity is a well-formedness error, never expanded.
    expectReason(
      await call({ status: 200, body: FOUND.replace("ADRUN", "&nope;") }),
      "INSI_INVALID_RESPONSE",
    );
  });

  test("too deep → INSI_INVALID_RESPONSE", async () => {
    const deep = envelope("<a>".repeat(200) + "</a>".repeat(200));
    expectReason(await call({ status: 200, body: deep }), "INSI_INVALID_RESPONSE", /deeper/);
  });

  test("an HTML error page: INSI_INVALID_RESPONSE, or INSI_UNAVAILABLE from a gateway", async () => {
    const html = "<html><head><title>Erreur</title></head><body><h1>500</h1><p>ADRUN</p></body></html>";
    expectReason(await call({ status: 500, body: html, contentType: "text/html" }), "INSI_INVALID_RESPONSE");
    expectReason(await call({ status: 200, body: html, contentType: "text/html" }), "INSI_INVALID_RESPONSE");
    expectReason(await call({ status: 503, body: html, contentType: "text/html" }), "INSI_UNAVAILABLE");
    // Not even XML.
    expectReason(await call({ status: 500, body: "Internal Server Error <br>" }), "INSI_INVALID_RESPONSE");
  });

  test("a SOAP fault is INSI_FAULT with its code, bounded", async () => {
    const fault = envelope(
      `<soap:Fault><soap:Code><soap:Value>soap:Sender</soap:Value></soap:Code><soap:Reason><soap:Text xml:lang="fr">${"x".repeat(5000)}</soap:Text></soap:Reason>` +
        `<soap:Detail><siram:Erreur xmlns:siram="urn:siram" code="insi_24" severite="erreur">Le format du champ sexe est incorrect</siram:Erreur></soap:Detail></soap:Fault>`,
    );
    const outcome = await call({ status: 500, body: fault });
    expectReason(outcome, "INSI_FAULT");
    assert.equal(outcome.audit?.faultCode, "insi_24");
  });
});
