/**
 * Pro Santé Connect mode: the web app's PSC token goes to INSi as a bearer token, the daemon builds
 * the unsigned PSC assertion of the official example; the simulator accepts a token of its test
 * issuer and refuses an expired or a foreign one; the token is never in a log, an audit record, an
 * error or the request body.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { InvalidParamsError, isPasserelleError } from "../../src/errors.ts";
import { createInsiClient } from "../../src/insi/client.ts";
import { createPscTestIssuer, getPscTestIssuer } from "../../src/simulator/insi/psc-issuer.ts";
import { startInsiSimulator, type InsiSimulator } from "../../src/simulator/insi/server.ts";
import { ADRUN, ORIGIN, RecordingAudit, simulatorConfig } from "./helpers.ts";

const issuer = getPscTestIssuer();
const ATTRIBUTES = { identifiantFacturation: "991234567", secteurActivite: "SA05", codeSpecialite: "01" };

describe("PSC mode against the simulator", () => {
  let sim: InsiSimulator;
  before(async () => {
    sim = await startInsiSimulator({ mode: "psc" });
  });
  after(() => sim.close());
  const client = (audit = new RecordingAudit(), now?: () => Date) =>
    createInsiClient(simulatorConfig(sim.url, "psc", { attributes: { default: ATTRIBUTES } }), {
      caPem: sim.caPem,
      audit,
      ...(now ? { now } : {}),
    });

  test("a token of the test issuer: found; the PSC assertion as the official example shows", async () => {
    const audit = new RecordingAudit();
    const c = client(audit);
    const accessToken = issuer.token({ idNat: "810100012345" });
    try {
      const result = await c.searchByTraits(ADRUN, {
        origin: ORIGIN,
        psc: { accessToken, professionCode: "10" },
      });
      assert.equal(result.outcome, "found");
      const body = sim.requests.at(-1)?.body ?? "";
      assert.match(body, /<NameID NameQualifier="PSC">810100012345<\/NameID>/);
      assert.doesNotMatch(body, /Signature/);
      assert.deepEqual(
        [...body.matchAll(/<Attribute Name="([^"]+)">/g)].map((m) => m[1]),
        ["codeSpecialiteAMO", "identifiantFacturation", "secteurActivite", "gipProfessionCode"],
      );
      // The token travels in the HTTP Authorization header only.
      assert.ok(!body.includes(accessToken));
      assert.ok(!JSON.stringify(audit.events).includes(accessToken));
      assert.ok(!JSON.stringify(sim.requests).includes(accessToken));
      assert.equal(audit.events[0]?.idNat, "810100012345");
    } finally {
      c.close();
    }
  });

  test("an expired token is refused by the simulator (SIM_PSC)", async () => {
    // The client's clock is 10 minutes behind: it still believes the token valid and sends it.
    const late = () => new Date(Date.now() - 600_000);
    const c = client(new RecordingAudit(), late);
    const accessToken = issuer.token({ idNat: "810100012345", expiresInSeconds: -240 });
    try {
      await assert.rejects(
        c.searchByTraits(ADRUN, { origin: ORIGIN, psc: { accessToken } }),
        (error: unknown) => {
          assert.ok(isPasserelleError(error, "INSI_FAULT"));
          assert.equal(error.details["faultCode"], "SIM_PSC");
          assert.match(String(error.details["faultMessage"]), /expiré/);
          assert.ok(!error.message.includes(accessToken));
          return true;
        },
      );
    } finally {
      c.close();
    }
  });

  test("a token of another issuer is refused (SIM_PSC)", async () => {
    const c = client();
    const accessToken = createPscTestIssuer().token({ idNat: "810100012345" });
    try {
      await assert.rejects(
        c.searchByTraits(ADRUN, { origin: ORIGIN, psc: { accessToken } }),
        (error: unknown) => {
          assert.ok(isPasserelleError(error, "INSI_FAULT"));
          assert.equal(error.details["faultCode"], "SIM_PSC");
          assert.match(String(error.details["faultMessage"]), /non reconnu/);
          return true;
        },
      );
    } finally {
      c.close();
    }
  });

  test("no token, a malformed or an expired one: -32602 before anything is sent, never echoing it", async () => {
    const c = client();
    const sent = sim.requests.length;
    const expired = issuer.token({ idNat: "810100012345", expiresInSeconds: -3600 });
    try {
      await assert.rejects(c.searchByTraits(ADRUN, { origin: ORIGIN }), InvalidParamsError);
      for (const accessToken of ["not.a-jwt", expired]) {
        await assert.rejects(
          c.searchByTraits(ADRUN, { origin: ORIGIN, psc: { accessToken } }),
          (error: unknown) => {
            assert.ok(error instanceof InvalidParamsError);
            assert.equal(error.issues[0]?.path, "psc.accessToken");
            assert.ok(!JSON.stringify(error.issues).includes(accessToken));
            return true;
          },
        );
      }
      assert.equal(sim.requests.length, sent);
    } finally {
      c.close();
    }
  });

  test("identifiantFacturation missing: INSI_NOT_CONFIGURED naming it", async () => {
    const c = createInsiClient(simulatorConfig(sim.url, "psc", { attributes: {} }), { caPem: sim.caPem });
    try {
      await assert.rejects(
        c.searchByTraits(ADRUN, { origin: ORIGIN, psc: { accessToken: issuer.token({ idNat: "8101" }) } }),
        (error: unknown) =>
          isPasserelleError(error, "INSI_NOT_CONFIGURED") &&
          error.details["field"] === "identifiantFacturation",
      );
    } finally {
      c.close();
    }
  });
});
