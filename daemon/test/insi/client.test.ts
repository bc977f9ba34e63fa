import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import forge from "node-forge";
import { InsiResult, InsiVerifyResult } from "@passerelle/protocol";
import { isPasserelleError } from "../../src/errors.ts";
import { createInsiClient } from "../../src/insi/client.ts";
import { loadOrganisationCredentials } from "../../src/insi/credentials.ts";
import { createHttpsTransport } from "../../src/insi/transport.ts";
import { InvalidTraitsError } from "../../src/ins/traits.ts";
import { startInsiSimulator, type InsiSimulator } from "../../src/simulator/insi/server.ts";
import { simulatedVitaleAssertions } from "../../src/simulator/insi/vitale-assertion.ts";
import { getInsiTestPki } from "../../src/simulator/insi/test-pki.ts";
import { ADRUN, ORIGIN, OTHER_ORIGIN, RecordingAudit, keySigner, simulatorConfig } from "./helpers.ts";

const pki = getInsiTestPki();
const auto = pki.organisation("INSI-AUTO");
const credentials = loadOrganisationCredentials(auto.pkcs12, auto.passphrase);

function rejectsWith(reason: string, check?: (details: Record<string, unknown>) => void) {
  return (error: unknown) => {
    assert.ok(isPasserelleError(error), `expected a PasserelleError, got ${String(error)}`);
    assert.equal(error.reason, reason, error.message);
    check?.(error.details as Record<string, unknown>);
    return true;
  };
}

describe("organisation mode against the simulator", () => {
  let sim: InsiSimulator;
  before(async () => {
    sim = await startInsiSimulator({ mode: "organisation" });
  });
  after(() => sim.close());

  function client(audit = new RecordingAudit()) {
    return createInsiClient(simulatorConfig(sim.url, "organisation"), {
      organisationCredentials: credentials,
      caPem: sim.caPem,
      audit,
    });
  }

  test("found: identity, keys checked, history as a list, one audit record", async () => {
    const audit = new RecordingAudit();
    const c = client(audit);
    try {
      const result = await c.searchByTraits(ADRUN, { origin: ORIGIN });
      // The shape the protocol promises the web app.
      assert.deepEqual(InsiResult.parse(result), result);
      assert.equal(result.outcome, "found");
      assert.deepEqual(result.cr, { code: "00", label: "OK" });
      assert.deepEqual(result.identity?.ins, {
        value: "2751263220749",
        key: "74",
        oid: "1.2.250.1.213.1.4.8",
        type: "NIR",
        keyValid: true,
      });
      assert.deepEqual(result.identity?.history, []);
      assert.equal(result.identity?.firstName, "ZOE");
      assert.match(result.messageId, /^uuid:[0-9a-f-]{36}$/);
      const received = sim.requests.at(-1);
      assert.equal(received?.messageId, result.messageId);
      assert.equal(received?.clientCn, "INSI-AUTO");
      assert.equal(audit.events.length, 1);
      assert.equal(audit.events[0]?.cr, "00");
      assert.equal(audit.events[0]?.messageId, result.messageId);
      assert.equal(audit.events[0]?.origin, ORIGIN);
    } finally {
      c.close();
    }
  });

  test("CR 01, CR 02, NIA, history with keys that do not verify", async () => {
    const c = client();
    try {
      const ola = await c.searchByTraits(
        { birthName: "TCHITCHI", firstNames: ["OLA"], sex: "F", birthDate: "1936-06-21" },
        { origin: ORIGIN },
      );
      assert.equal(ola.outcome, "notFound");
      const catarina = await c.searchByTraits(
        { birthName: "TCHITCHI", firstNames: ["CATARINA"], sex: "F", birthDate: "1936-06-21" },
        { origin: ORIGIN },
      );
      assert.deepEqual(catarina.identity?.firstNames, ["CATARINA", "BELLA"]);
      const vinci = await c.searchByTraits(
        { birthName: "De Vinci", firstNames: ["Leonardo"], sex: "M", birthDate: "2014-02-01" },
        { origin: ORIGIN },
      );
      assert.equal(vinci.outcome, "multiple");
      assert.equal(vinci.identity, undefined);
      const nia = await c.searchByTraits(
        { birthName: "PROVISOIRE", firstNames: ["MATRICULE"], sex: "M", birthDate: "2009-07-01" },
        { origin: ORIGIN },
      );
      assert.equal(nia.identity?.ins.type, "NIA");
      const hermann = await c.searchByTraits(
        { birthName: "HERMANN", firstNames: ["GATIEN"], sex: "M", birthDate: "1981-03-24" },
        { origin: ORIGIN },
      );
      assert.equal(hermann.identity?.ins.keyValid, false);
      assert.deepEqual(
        hermann.identity?.history.map((h) => h.keyValid),
        [false, false],
      );
      const corse = await c.searchByTraits(
        {
          birthName: "ADRTROIS",
          firstNames: ["TOUSSAINT"],
          sex: "M",
          birthDate: "1960-01-01",
          birthPlace: "2b020",
        },
        { origin: ORIGIN },
      );
      assert.equal(corse.identity?.ins.value, "160012B020777");
      assert.equal(corse.identity?.ins.keyValid, true);
    } finally {
      c.close();
    }
  });

  test("the LPS identity is chosen per origin: an unknown IDAM gets siram_100/desir_550", async () => {
    const audit = new RecordingAudit();
    const c = client(audit);
    try {
      await assert.rejects(
        c.searchByTraits(ADRUN, { origin: OTHER_ORIGIN }),
        rejectsWith("INSI_FAULT", (d) => {
          assert.equal(d["faultCode"], "desir_550");
          assert.equal(d["subcode"], "siram_100");
          assert.match(String(d["faultMessage"]), /autorisation du logiciel inconnu/);
        }),
      );
      assert.match(sim.requests.at(-1)?.body ?? "", /<ctxlps:IDAM R="4">UNKNOWN-IDAM-42<\/ctxlps:IDAM>/);
      assert.equal(audit.events[0]?.reason, "INSI_FAULT");
      assert.equal(audit.events[0]?.faultCode, "desir_550");
    } finally {
      c.close();
    }
  });

  test("verify: confirmed, mismatch with the differing fields, notFound", async () => {
    const audit = new RecordingAudit();
    const c = client(audit);
    try {
      const confirmed = await c.verify(
        {
          ins: "1090763220834",
          birthName: "ECETINSI",
          firstNames: ["PIERRE-ALAIN"],
          sex: "M",
          birthDate: "2009-07-14",
        },
        { origin: ORIGIN },
      );
      assert.equal(confirmed.outcome, "confirmed");
      assert.deepEqual(confirmed.differences, []);
      assert.equal(audit.events[0]?.method, "insi.verify", "the audit names the method the web app called");
      const mismatch = await c.verify(
        {
          ins: "2090763220834",
          birthName: "ECETINSI",
          firstNames: ["PIERRE-ALAIN", "FLORIANT"],
          sex: "M",
          birthDate: "2009-07-14",
        },
        { origin: ORIGIN },
      );
      assert.equal(mismatch.outcome, "mismatch");
      assert.ok(InsiVerifyResult.safeParse(mismatch).success);
      assert.ok(InsiVerifyResult.safeParse(confirmed).success);
      assert.deepEqual(
        mismatch.differences.map((d) => d.field),
        ["ins", "firstNames"],
      );
      // birthPlace is part of the search: a different one is not found at all.
      const notFound = await c.verify(
        {
          ins: "1090763220834",
          birthName: "ECETINSI",
          firstNames: ["PIERRE-ALAIN"],
          sex: "M",
          birthDate: "2009-07-14",
          birthPlace: "63221",
        },
        { origin: ORIGIN },
      );
      assert.equal(notFound.outcome, "notFound");
    } finally {
      c.close();
    }
  });

  test("invalid traits: refused before any call", async () => {
    const c = client();
    const before = sim.requests.length;
    try {
      await assert.rejects(c.searchByTraits({ ...ADRUN, birthName: "CŒUR" }, { origin: ORIGIN }), (error) => {
        assert.ok(error instanceof InvalidTraitsError);
        assert.deepEqual(error.issues[0]?.path, ["birthName"]);
        return true;
      });
      assert.equal(sim.requests.length, before);
    } finally {
      c.close();
    }
  });

  test("Vitale search: no provider → VITALE_ASSERTION_UNAVAILABLE; with the simulator's → found", async () => {
    const beneficiary = {
      insuredNir: "1090763220834",
      insuredNirKey: "89",
      birthName: "ECETINSI",
      birthDate: "2009-07-14",
      birthRank: 1,
    };
    const c = client();
    try {
      await assert.rejects(
        c.searchWithVitale(beneficiary, { origin: ORIGIN }),
        rejectsWith("VITALE_ASSERTION_UNAVAILABLE"),
      );
    } finally {
      c.close();
    }
    const withProvider = createInsiClient(simulatorConfig(sim.url, "organisation"), {
      organisationCredentials: credentials,
      caPem: sim.caPem,
      vitaleAssertions: simulatedVitaleAssertions(),
    });
    try {
      const result = await withProvider.searchWithVitale(beneficiary, { origin: ORIGIN });
      assert.equal(result.identity?.ins.value, "1090763220834");
      assert.match(sim.requests.at(-1)?.body ?? "", /<RECVITALE xmlns="http:\/\/www.cnamts.fr\/INSiRecVit">/);
    } finally {
      withProvider.close();
    }
  });

  test("a certificate with a wrong CN gets DESIR_560", async () => {
    const wrong = loadWithoutCnCheck("INSI-TEST");
    const c = createInsiClient(simulatorConfig(sim.url, "organisation"), {
      transport: createHttpsTransport({
        caPem: sim.caPem,
        ...wrong,
        connectTimeoutMs: 2000,
        responseTimeoutMs: 2000,
        keepAliveMs: 0,
      }),
    });
    try {
      await assert.rejects(
        c.searchByTraits(ADRUN, { origin: ORIGIN }),
        rejectsWith("INSI_FAULT", (d) => assert.equal(d["faultCode"], "DESIR_560")),
      );
    } finally {
      c.close();
    }
  });

  test("no client certificate: the TLS connection is refused → INSI_UNAVAILABLE", async () => {
    const c = createInsiClient(simulatorConfig(sim.url, "organisation"), {
      transport: createHttpsTransport({
        caPem: sim.caPem,
        connectTimeoutMs: 2000,
        responseTimeoutMs: 2000,
        keepAliveMs: 0,
      }),
    });
    try {
      await assert.rejects(c.searchByTraits(ADRUN, { origin: ORIGIN }), rejectsWith("INSI_UNAVAILABLE"));
    } finally {
      c.close();
    }
  });

  test("a server certificate from an unknown CA → INSI_UNAVAILABLE", async () => {
    const c = createInsiClient(simulatorConfig(sim.url, "organisation"), {
      organisationCredentials: credentials,
      caPem: pki.server.certPem,
    });
    try {
      await assert.rejects(c.searchByTraits(ADRUN, { origin: ORIGIN }), rejectsWith("INSI_UNAVAILABLE"));
    } finally {
      c.close();
    }
  });
});

/** A transport-ready key/cert for a CN the loader would refuse (to reach the server's own check). */
function loadWithoutCnCheck(cn: string): { clientCertPem: string; clientKeyPem: string } {
  const file = pki.organisation(cn);
  // Re-issue through a loader-independent path: forge reads the PKCS#12 directly.
  return extractPkcs12(file.pkcs12, file.passphrase);
}

function extractPkcs12(pkcs12: Buffer, passphrase: string): { clientCertPem: string; clientKeyPem: string } {
  const p12 = forge.pkcs12.pkcs12FromAsn1(forge.asn1.fromDer(pkcs12.toString("binary")), passphrase);
  const certBag =
    p12.getBags({ bagType: forge.pki.oids["certBag"] as string })[forge.pki.oids["certBag"] as string] ?? [];
  const keyOid = forge.pki.oids["pkcs8ShroudedKeyBag"] as string;
  const keyBag = p12.getBags({ bagType: keyOid })[keyOid] ?? [];
  return {
    clientCertPem: certBag.map((b) => forge.pki.certificateToPem(b.cert!)).join(""),
    clientKeyPem: forge.pki.privateKeyToPem(keyBag[0]!.key!),
  };
}

describe("fault injection and transport", () => {
  let sim: InsiSimulator;
  before(async () => {
    sim = await startInsiSimulator({ mode: "organisation" });
  });
  after(() => sim.close());
  const client = (responseMs = 2000) =>
    createInsiClient(
      simulatorConfig(sim.url, "organisation", { timeouts: { connectMs: 2000, responseMs } }),
      {
        organisationCredentials: credentials,
        caPem: sim.caPem,
      },
    );

  test("HTTP 500 fault → INSI_FAULT with the siram code", async () => {
    sim.setFault({ kind: "http500" });
    const c = client();
    try {
      await assert.rejects(
        c.searchByTraits(ADRUN, { origin: ORIGIN }),
        rejectsWith("INSI_FAULT", (d) => assert.equal(d["faultCode"], "SIM_INTERNE")),
      );
    } finally {
      sim.setFault();
      c.close();
    }
  });

  test("malformed XML → INSI_INVALID_RESPONSE", async () => {
    sim.setFault({ kind: "malformed" });
    const c = client();
    try {
      await assert.rejects(c.searchByTraits(ADRUN, { origin: ORIGIN }), rejectsWith("INSI_INVALID_RESPONSE"));
    } finally {
      sim.setFault();
      c.close();
    }
  });

  test("gateway 503 → INSI_UNAVAILABLE", async () => {
    sim.setFault({ kind: "unavailable" });
    const c = client();
    try {
      await assert.rejects(
        c.searchByTraits(ADRUN, { origin: ORIGIN }),
        rejectsWith("INSI_UNAVAILABLE", (d) => assert.equal(d["httpStatus"], 503)),
      );
    } finally {
      sim.setFault();
      c.close();
    }
  });

  test("connection reset after the request was sent → INSI_UNAVAILABLE, no retry", async () => {
    sim.setFault({ kind: "reset" });
    const c = client();
    const before = sim.requests.length;
    try {
      await assert.rejects(
        c.searchByTraits(ADRUN, { origin: ORIGIN }),
        rejectsWith("INSI_UNAVAILABLE", (d) => {
          assert.equal(d["requestSent"], true);
          assert.equal(d["attempts"], 1);
        }),
      );
      assert.equal(sim.requests.length, before + 1);
    } finally {
      sim.setFault();
      c.close();
    }
  });

  test("a reset on a reused keep-alive socket (the server closed it idle) is tried once more, on a new connection", async () => {
    const c = client();
    try {
      // The first call leaves a kept-alive socket; the next one goes out on it and meets a reset.
      assert.equal((await c.searchByTraits(ADRUN, { origin: ORIGIN })).outcome, "found");
      sim.setFault({ kind: "reset" });
      const before = sim.requests.length;
      await assert.rejects(
        c.searchByTraits(ADRUN, { origin: ORIGIN }),
        rejectsWith("INSI_UNAVAILABLE", (d) => {
          assert.equal(d["requestSent"], true);
          assert.equal(d["attempts"], 2);
        }),
      );
      assert.equal(sim.requests.length, before + 2);
    } finally {
      sim.setFault();
      c.close();
    }
  });

  test("delay beyond the response timeout → INSI_UNAVAILABLE (timeout)", async () => {
    sim.setFault({ kind: "delay", ms: 1500 });
    const c = client(300);
    try {
      await assert.rejects(
        c.searchByTraits(ADRUN, { origin: ORIGIN }),
        rejectsWith("INSI_UNAVAILABLE", (d) => assert.equal(d["cause"], "RESPONSE_TIMEOUT")),
      );
    } finally {
      sim.setFault();
      c.close();
    }
  });

  test("a connection dropped before anything was sent is retried once", async () => {
    const target = new URL(sim.url);
    let connections = 0;
    const proxy = net.createServer((socket) => {
      connections += 1;
      if (connections === 1) {
        socket.destroy();
        return;
      }
      const upstream = net.connect(Number(target.port), "127.0.0.1");
      socket.pipe(upstream).pipe(socket);
      upstream.on("error", () => socket.destroy());
      socket.on("error", () => upstream.destroy());
    });
    await new Promise<void>((r) => proxy.listen(0, "127.0.0.1", r));
    const port = (proxy.address() as net.AddressInfo).port;
    const c = createInsiClient(simulatorConfig(`https://127.0.0.1:${port}/lps`, "organisation"), {
      organisationCredentials: credentials,
      caPem: sim.caPem,
    });
    const before = sim.requests.length;
    try {
      const result = await c.searchByTraits(ADRUN, { origin: ORIGIN });
      assert.equal(result.outcome, "found");
      assert.equal(connections, 2);
      assert.equal(sim.requests.length, before + 1);
    } finally {
      c.close();
      await new Promise((r) => proxy.close(r));
    }
  });

  test("nothing listening: two attempts, then INSI_UNAVAILABLE", async () => {
    const probe = net.createServer();
    await new Promise<void>((r) => probe.listen(0, "127.0.0.1", r));
    const port = (probe.address() as net.AddressInfo).port;
    await new Promise((r) => probe.close(r));
    const c = createInsiClient(simulatorConfig(`https://127.0.0.1:${port}/lps`, "organisation"), {
      organisationCredentials: credentials,
      caPem: sim.caPem,
    });
    try {
      await assert.rejects(
        c.searchByTraits(ADRUN, { origin: ORIGIN }),
        rejectsWith("INSI_UNAVAILABLE", (d) => assert.equal(d["attempts"], 2)),
      );
    } finally {
      c.close();
    }
  });
});

describe("card mode against the simulator", () => {
  const holder = { idNat: "810100012345", lastName: "MEDECIN", firstName: "ALICE", profession: "Medecin" };
  const cert = pki.cpsSignature(holder);
  let sim: InsiSimulator;
  let clock = new Date();
  before(async () => {
    sim = await startInsiSimulator({ mode: "card", now: () => clock });
  });
  after(() => sim.close());
  const client = (audit = new RecordingAudit(), cacheSeconds = 20) =>
    createInsiClient(
      simulatorConfig(sim.url, "card", { assertion: { cacheSeconds, validitySeconds: 300 } }),
      { caPem: sim.caPem, audit },
    );

  test("a signed assertion PS is accepted; a burst signs once; the audit has the idNat", async () => {
    const audit = new RecordingAudit();
    const c = client(audit);
    const signer = keySigner(cert);
    try {
      const results = await Promise.all(
        [1, 2, 3].map(() => c.searchByTraits(ADRUN, { origin: ORIGIN, signer })),
      );
      assert.deepEqual(
        results.map((r) => r.outcome),
        ["found", "found", "found"],
      );
      assert.equal(signer.calls, 1);
      assert.match(sim.requests.at(-1)?.body ?? "", /<ctxlps:Emetteur>810100012345<\/ctxlps:Emetteur>/);
      assert.equal(audit.events[0]?.idNat, "810100012345");
    } finally {
      c.close();
    }
  });

  test("no CPS → NO_CARD; a certificate from an unknown CA or expired → SIM_ASSERTION fault", async () => {
    const c = client(new RecordingAudit(), 0);
    try {
      await assert.rejects(c.searchByTraits(ADRUN, { origin: ORIGIN }), rejectsWith("NO_CARD"));
      const expired = pki.cpsSignature(holder, { expired: true });
      await assert.rejects(
        c.searchByTraits(ADRUN, { origin: ORIGIN, signer: keySigner(expired) }),
        rejectsWith("INSI_FAULT", (d) => {
          assert.equal(d["faultCode"], "SIM_ASSERTION");
          assert.match(String(d["faultMessage"]), /expiré/);
        }),
      );
      const { createInsiTestPki } = await import("../../src/simulator/insi/test-pki.ts");
      const foreign = createInsiTestPki().cpsSignature(holder);
      await assert.rejects(
        c.searchByTraits(ADRUN, { origin: ORIGIN, signer: keySigner(foreign) }),
        rejectsWith("INSI_FAULT", (d) => assert.match(String(d["faultMessage"]), /non reconnu/)),
      );
    } finally {
      c.close();
    }
  });

  test("a signature that does not match the certificate is refused", async () => {
    const other = pki.cpsSignature(holder);
    const c = client(new RecordingAudit(), 0);
    const liar = { signatureCertificatePem: async () => cert.certPem, sign: keySigner(other).sign };
    try {
      await assert.rejects(
        c.searchByTraits(ADRUN, { origin: ORIGIN, signer: liar }),
        rejectsWith("INSI_FAULT", (d) =>
          assert.match(String(d["faultMessage"]), /signature de l'assertion PS invalide/),
        ),
      );
    } finally {
      c.close();
    }
  });

  test("an assertion past its validity is refused (cached beyond its window)", async () => {
    const c = createInsiClient(
      simulatorConfig(sim.url, "card", { assertion: { cacheSeconds: 20, validitySeconds: 30 } }),
      { caPem: sim.caPem },
    );
    try {
      const signer = keySigner(cert);
      await c.searchByTraits(ADRUN, { origin: ORIGIN, signer });
      clock = new Date(Date.now() + 60_000);
      // The client's clock did not move, so it reuses its cached assertion; the server's clock did.
      await assert.rejects(
        c.searchByTraits(ADRUN, { origin: ORIGIN, signer }),
        rejectsWith("INSI_FAULT", (d) => assert.match(String(d["faultMessage"]), /expirée/)),
      );
    } finally {
      clock = new Date();
      c.close();
    }
  });
});

describe("configuration", () => {
  test("no endpoint: every call answers INSI_NOT_CONFIGURED and problems() says why", async () => {
    const c = createInsiClient(simulatorConfig("https://127.0.0.1:1/lps", "card", { endpoints: {} }));
    assert.equal(c.problems().length, 1);
    await assert.rejects(c.searchByTraits(ADRUN, { origin: ORIGIN }), rejectsWith("INSI_NOT_CONFIGURED"));
  });

  test("no LPS identity for the origin and no default → INSI_NOT_CONFIGURED", async () => {
    const c = createInsiClient(
      simulatorConfig("https://127.0.0.1:1/lps", "organisation", { lps: { origins: {} } }),
      { organisationCredentials: credentials },
    );
    try {
      await assert.rejects(
        c.searchByTraits(ADRUN, { origin: ORIGIN }),
        rejectsWith("INSI_NOT_CONFIGURED", (d) => assert.equal(d["problem"], "lps")),
      );
    } finally {
      c.close();
    }
  });

  test("organisation mode with a refused certificate file: problems() names it", async () => {
    const { mkdtemp, writeFile, rm } = await import("node:fs/promises");
    const { tmpdir } = await import("node:os");
    const { join } = await import("node:path");
    const dir = await mkdtemp(join(tmpdir(), "insi-"));
    try {
      const manu = pki.organisation("INSI-MANUEL");
      await writeFile(join(dir, "org.p12"), manu.pkcs12);
      const c = createInsiClient(
        simulatorConfig("https://127.0.0.1:1/lps", "organisation", {
          organisation: { pkcs12Path: join(dir, "org.p12"), passphrase: manu.passphrase },
        }),
      );
      assert.match(c.problems()[0] ?? "", /INSI-AUTO or INSI-MANU/);
      await assert.rejects(
        c.searchByTraits(ADRUN, { origin: ORIGIN }),
        rejectsWith("INSI_NOT_CONFIGURED", (d) => assert.equal(d["problem"], "wrong-cn")),
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
