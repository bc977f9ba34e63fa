/**
 * INSi client cost against the simulator, measured side by side in the same run (interleaved so that
 * machine noise hits both alike); the simulator runs in its own process.
 *
 * Organisation mode: normalise + build + send + parse (client.searchByTraits) vs a bare HTTPS POST of
 * the same envelope bytes to the same simulator over an equivalent keep-alive mutual-TLS agent,
 * reading the body without parsing. Target (issue 6): ≤ 1.2× at p50. Also: the audit trail's fsync.
 * Parsing the answer was most of the difference with @xmldom/xmldom 0.9.12 (a new Unicode RegExp
 * for every end tag); the client now reads responses with saxes into a small tree, and the
 * "response parsing alone" lines compare the two parsers on the same RESULTAT.
 * Card mode: the assertion PS signature time on its own (software key standing in for the card, plus
 * exclusive C14N and digests), and a call with the assertion cache vs without it (a signature per call).
 */
import { spawn, type ChildProcess } from "node:child_process";
import https from "node:https";
import { randomUUID, sign } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { AuditTrail } from "../daemon/src/audit/audit-trail.ts";
import { AssertionPsCache } from "../daemon/src/insi/assertion-ps.ts";
import { createInsiClient } from "../daemon/src/insi/client.ts";
import { InsiConfig } from "../daemon/src/insi/config.ts";
import { loadOrganisationCredentials } from "../daemon/src/insi/credentials.ts";
import { parseInsiResponse } from "../daemon/src/insi/response.ts";
import { parseResponseXml } from "../daemon/src/insi/response-xml.ts";
import { parseUntrustedXml } from "../daemon/src/insi/xml.ts";
import { SIMULATED_IDENTITIES } from "../daemon/src/simulator/insi/identities.ts";
import { resultatEnvelope } from "../daemon/src/simulator/insi/responses.ts";
import { buildEnvelope, recSansVitaleBody } from "../daemon/src/insi/envelope.ts";
import { SOAP12_CONTENT_TYPE, OPERATIONS } from "../daemon/src/insi/namespaces.ts";
import type { AssertionSigner } from "../daemon/src/insi/signer.ts";
import { normaliseTraits } from "../daemon/src/ins/traits.ts";
import { SIMULATED_ASSERTION_ATTRIBUTES, SIMULATOR_IDAM } from "../daemon/src/simulator/insi/server.ts";
import { createInsiTestPki } from "../daemon/src/simulator/insi/test-pki.ts";
import { formatMs, percentile, ratioLine } from "./lib/stats.ts";
import { report } from "./lib/results.ts";

const ROUNDS = Number(process.env["BENCH_ROUNDS"] ?? 600);
const WARMUP = 60;
const SIGNATURES = Number(process.env["BENCH_SIGNATURES"] ?? 200);
const ORIGIN = "https://bench.example";
const TRAITS = {
  birthName: "ADRUN",
  firstNames: ["ZOE"],
  sex: "F",
  birthDate: "1975-12-31",
  birthPlace: "63220",
};
const LPS = { default: { idam: SIMULATOR_IDAM, softwareName: "Bench", softwareVersion: "1" } };
const child = fileURLToPath(new URL("./lib/insi-simulator.ts", import.meta.url));
/** Bound on a simulator child's start (a cold tsx start on a loaded 2-core machine). */
const SIMULATOR_START_MS = 60_000;

/**
 * Every simulator child still running: killed in the `finally` below, and on exit or a signal, so that
 * a bench that fails (or is interrupted) never leaves one behind holding its port and a core.
 */
const children = new Set<ChildProcess>();
function killChildren(): void {
  for (const proc of children) if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGKILL");
  children.clear();
}
process.once("exit", killChildren);
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
  process.once(signal, () => {
    killChildren();
    process.exit(128 + (signal === "SIGINT" ? 2 : signal === "SIGTERM" ? 15 : 1));
  });
}

function startSimulator(
  mode: "card" | "organisation",
  dir: string,
  trustCaFile?: string,
): Promise<{ process: ChildProcess; url: string }> {
  const proc = spawn(process.execPath, ["--import", "tsx", child], {
    env: {
      ...process.env,
      MODE: mode,
      CREDENTIALS_DIR: dir,
      ...(trustCaFile ? { TRUST_CA_FILE: trustCaFile } : {}),
    },
    stdio: ["ignore", "pipe", "inherit"],
  });
  children.add(proc);
  proc.once("exit", () => children.delete(proc));
  return new Promise((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => {
      proc.kill("SIGKILL");
      reject(new Error(`simulator did not start in ${SIMULATOR_START_MS / 1000} s`));
    }, SIMULATOR_START_MS);
    proc.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
      out += chunk;
      const match = /listening (\S+)/.exec(out);
      if (match?.[1]) {
        clearTimeout(timer);
        resolve({ process: proc, url: match[1] });
      }
    });
    proc.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`simulator exited ${code}`));
    });
  });
}

function barePost(agent: https.Agent, url: string, body: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      url,
      {
        method: "POST",
        agent,
        headers: {
          "content-type": `${SOAP12_CONTENT_TYPE}; action="${OPERATIONS.rechercherInsAvecTraitsIdentite.action}"`,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          res.statusCode === 200
            ? resolve(Buffer.concat(chunks).toString("utf8"))
            : reject(new Error(`HTTP ${res.statusCode}`)),
        );
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

async function time(run: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await run();
  return performance.now() - start;
}

const dir = mkdtempSync(path.join(tmpdir(), "passerelle-bench-insi-"));
const normalised = normaliseTraits(TRAITS);
if (!normalised.ok) throw new Error("bench traits do not normalise");

try {
  // ---------------------------------------------------------------- organisation mode
  {
    const sim = await startSimulator("organisation", dir);
    const caPem = readFileSync(path.join(dir, "ca.pem"), "utf8");
    const credentials = loadOrganisationCredentials(
      readFileSync(path.join(dir, "insi-auto.p12")),
      readFileSync(path.join(dir, "insi-auto.passphrase"), "utf8"),
    );
    const config = InsiConfig.parse({ mode: "organisation", endpoints: { organisation: sim.url }, lps: LPS });
    const client = createInsiClient(config, { organisationCredentials: credentials, caPem });
    const audit = await AuditTrail.open({ dir: path.join(dir, "audit") });
    const audited = createInsiClient(config, { organisationCredentials: credentials, caPem, audit });
    const agent = new https.Agent({
      keepAlive: true,
      ca: caPem,
      cert: credentials.certChainPem,
      key: credentials.keyPem,
    });
    const envelope = buildEnvelope({
      operation: "rechercherInsAvecTraitsIdentite",
      messageId: `uuid:${randomUUID()}`,
      time: new Date(),
      lps: { ...LPS.default, instance: randomUUID() },
      contextId: randomUUID(),
      assertions: [],
      body: recSansVitaleBody(normalised.value),
    });
    const full: number[] = [];
    const bare: number[] = [];
    const bareThenParse: number[] = [];
    const withAudit: number[] = [];
    const bareForAudit: number[] = [];
    for (let i = 0; i < WARMUP + ROUNDS; i += 1) {
      const a = await time(() => client.searchByTraits(TRAITS, { origin: ORIGIN }));
      const b = await time(() => barePost(agent, sim.url, envelope));
      const c = await time(async () =>
        parseInsiResponse(await barePost(agent, sim.url, envelope), { messageId: "m", receivedAt: "t" }),
      );
      if (i >= WARMUP) {
        full.push(a);
        bare.push(b);
        bareThenParse.push(c);
      }
    }
    // Separately: an fsync disturbs the calls that follow it, so it is not interleaved with the above.
    for (let i = 0; i < WARMUP + ROUNDS; i += 1) {
      const c = await time(() => audited.searchByTraits(TRAITS, { origin: ORIGIN }));
      const b = await time(() => barePost(agent, sim.url, envelope));
      if (i >= WARMUP) {
        withAudit.push(c);
        bareForAudit.push(b);
      }
    }
    console.log(
      `organisation mode, ${ROUNDS} rounds (client vs bare HTTPS POST of the same bytes, same simulator):`,
    );
    console.log("  " + ratioLine("build+send+parse", full, bare, 50, 1.2));
    console.log("  " + ratioLine("build+send+parse", full, bare, 99));
    // Where the difference goes: the same bare POST followed by parsing its answer (xmldom).
    console.log("  " + ratioLine("bare POST + parse only vs bare POST", bareThenParse, bare, 50));
    console.log("  " + ratioLine("build+send+parse vs bare POST + parse", full, bareThenParse, 50));
    console.log("  " + ratioLine("with the fsynced audit record", withAudit, bareForAudit, 50));
    report(
      {
        id: "insi.organisation.p50.ratio",
        value: percentile(full, 50) / percentile(bare, 50),
        unit: "×",
        label: "INSi build+send+parse vs bare POST, p50",
      },
      {
        id: "insi.parse.p50.ratio",
        value: percentile(bareThenParse, 50) / percentile(bare, 50),
        unit: "×",
        label: "bare POST + parse only vs bare POST, p50 (the parser's share)",
      },
      {
        id: "insi.audit.p50.ratio",
        value: percentile(withAudit, 50) / percentile(bareForAudit, 50),
        unit: "×",
        label: "INSi call with the fsynced audit record vs bare POST, p50",
      },
      { id: "insi.organisation.p50.ms", value: percentile(full, 50), unit: "ms", label: "INSi call p50" },
    );
    client.close();
    audited.close();
    await audit.close();
    agent.destroy();
    sim.process.kill("SIGTERM");
  }

  // ---------------------------------------------------------------- response parsers, side by side
  {
    // The same RESULTAT (an identity with history, ~1.2 KB) parsed by the client's reader (saxes,
    // strict and namespace-aware, into a small tree) and by an xmldom document (the parser the
    // client used before; the simulator still uses it). Both refuse DOCTYPE/ENTITY beforehand.
    const xml = resultatEnvelope("rechercherInsAvecTraitsIdentite", "uuid:1", "00", SIMULATED_IDENTITIES[3]);
    const saxesTimes: number[] = [];
    const xmldomTimes: number[] = [];
    for (let i = 0; i < WARMUP * 10 + ROUNDS * 5; i += 1) {
      const a = performance.now();
      parseResponseXml(xml);
      const b = performance.now();
      parseUntrustedXml(xml);
      const c = performance.now();
      if (i >= WARMUP * 10) {
        saxesTimes.push(b - a);
        xmldomTimes.push(c - b);
      }
    }
    console.log("response parsing alone (same RESULTAT):");
    console.log("  " + ratioLine("saxes tree vs xmldom document", saxesTimes, xmldomTimes, 50));
  }

  // ---------------------------------------------------------------- card mode
  {
    const cardPki = createInsiTestPki();
    const cert = cardPki.cpsSignature({
      idNat: "810100012345",
      lastName: "BENCH",
      firstName: "CARD",
      profession: "Medecin",
    });
    writeFileSync(path.join(dir, "card-ca.pem"), cardPki.caPem);
    const sim = await startSimulator("card", dir, path.join(dir, "card-ca.pem"));
    const caPem = readFileSync(path.join(dir, "ca.pem"), "utf8");
    let rsaMs = 0;
    let signatures = 0;
    const signer: AssertionSigner = {
      signatureCertificatePem: async () => cert.certPem,
      sign: async (data) => {
        const start = performance.now();
        const signature = sign("sha256", data, cert.privateKey);
        rsaMs += performance.now() - start;
        signatures += 1;
        return signature;
      },
    };
    // The assertion alone: build, C14N, digest, SignedInfo, RSA (software key in place of the card).
    const noCache = new AssertionPsCache({ cacheSeconds: 0, validitySeconds: 300 });
    const assertionTimes: number[] = [];
    for (let i = 0; i < SIGNATURES; i += 1)
      assertionTimes.push(await time(() => noCache.assertionFor(signer)));
    console.log(
      `card mode (software RSA-2048 key standing in for the CPS; a real card signs in hundreds of ms):`,
    );
    console.log(
      `  assertion PS build+sign p50: ${formatMs(percentile(assertionTimes, 50))}, of which RSA signature ${formatMs(rsaMs / signatures)} on average`,
    );

    const config = (cacheSeconds: number) =>
      InsiConfig.parse({
        mode: "card",
        endpoints: { card: sim.url },
        attributes: { default: SIMULATED_ASSERTION_ATTRIBUTES },
        lps: LPS,
        assertion: { cacheSeconds, validitySeconds: 300 },
      });
    const cached = createInsiClient(config(20), { caPem });
    const uncached = createInsiClient(config(0), { caPem });
    const agent = new https.Agent({ keepAlive: true, ca: caPem });
    const assertion = (
      await new AssertionPsCache({ cacheSeconds: 0, validitySeconds: 3600 }).assertionFor(signer, "", () =>
        Object.entries(SIMULATED_ASSERTION_ATTRIBUTES).map(([name, value]) => ({ name, value })),
      )
    ).xml;
    const envelope = buildEnvelope({
      operation: "rechercherInsAvecTraitsIdentite",
      messageId: `uuid:${randomUUID()}`,
      time: new Date(),
      lps: { ...LPS.default, instance: randomUUID() },
      contextId: randomUUID(),
      assertions: [assertion],
      body: recSansVitaleBody(normalised.value),
    });
    const withCache: number[] = [];
    const withoutCache: number[] = [];
    const bare: number[] = [];
    signatures = 0;
    for (let i = 0; i < WARMUP + ROUNDS; i += 1) {
      const a = await time(() => cached.searchByTraits(TRAITS, { origin: ORIGIN, signer }));
      const b = await time(() => uncached.searchByTraits(TRAITS, { origin: ORIGIN, signer }));
      const c = await time(() => barePost(agent, sim.url, envelope));
      if (i >= WARMUP) {
        withCache.push(a);
        withoutCache.push(b);
        bare.push(c);
      }
    }
    console.log(
      `  ${ROUNDS + WARMUP} calls each; signatures asked of the "card": ${signatures} (cached client: ~1 per 20 s, uncached: 1 per call)`,
    );
    console.log("  " + ratioLine("with assertion cache vs bare POST", withCache, bare, 50));
    console.log("  " + ratioLine("without cache vs with cache", withoutCache, withCache, 50));
    cached.close();
    uncached.close();
    agent.destroy();
    sim.process.kill("SIGTERM");
  }
} finally {
  killChildren();
  rmSync(dir, { recursive: true, force: true });
}
