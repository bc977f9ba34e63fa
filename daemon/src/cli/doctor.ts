/**
 * `passerelle doctor`: what a technician runs when something does not work, on one screen, one line
 * per finding: the configuration, the data folder, the local CA and whether each trust store has
 * it, the allowed origins, the port (this user's daemon on it, free, or held by whom), PC/SC and
 * each reader with its card (recognised by its ATR only), INSi's configuration, a TLS handshake
 * with the INSi endpoint using the configured credentials (no INSi call: probe.ts), the clock skew
 * against that server, and the update key. Exit 0 when nothing is wrong (warnings allowed), 1
 * otherwise. It never prints personal data: it reads nothing from a card.
 */
import { X509Certificate } from "node:crypto";
import { accessSync, constants, existsSync, mkdirSync, readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Command } from "commander";
import {
  ConfigError,
  configWarnings,
  resolveConfig,
  type CommandLineOptions,
  type DaemonConfig,
} from "../config/config.ts";
import { GrantStore, GrantStoreError } from "../access/index.ts";
import { recognizeCard } from "../cards/recognize.ts";
import { insiConfigProblems, insiConfigWarnings } from "../insi/config.ts";
import { createInsiClient, probeInsiEndpoint } from "../insi/index.ts";
import { ASSERTION_CLOCK_SKEW_SECONDS } from "../insi/assertion-ps.ts";
import { describeHolder, findOwnInstance, findPortHolder, freePorts, ownUid } from "../instance/index.ts";
import { createSystemBackend } from "../pcsc/index.ts";
import {
  SCARD_STATE_EMPTY,
  SCARD_STATE_MUTE,
  SCARD_STATE_PRESENT,
  SCARD_STATE_UNAWARE,
} from "../pcsc/constants.ts";
import { trust } from "../tls/trust-store.ts";
import { trustedUpdateKeys } from "../updates/index.ts";

type Level = "ok" | "warn" | "fail";
interface Finding {
  readonly level: Level;
  readonly topic: string;
  readonly text: string;
}

const MARK: Record<Level, string> = { ok: "ok  ", warn: "warn", fail: "FAIL" };
/** How long the PC/SC check may take before it counts as unreachable. */
const PCSC_CHECK_TIMEOUT_MS = 5000;

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([
    promise,
    new Promise<T>((_, reject) =>
      setTimeout(() => reject(new Error(`${what}: no answer in ${ms} ms`)), ms).unref(),
    ),
  ]);
}

function checkDataDir(config: DaemonConfig): Finding[] {
  try {
    mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
    accessSync(config.dataDir, constants.W_OK);
    return [{ level: "ok", topic: "data", text: `data folder ${config.dataDir} is writable` }];
  } catch {
    return [{ level: "fail", topic: "data", text: `data folder ${config.dataDir} is not writable` }];
  }
}

function checkTls(config: DaemonConfig): Finding[] {
  if (config.plaintext)
    return [{ level: "warn", topic: "tls", text: "plaintext mode: for development only" }];
  const caFile = path.join(config.dataDir, "tls", "passerelle-local-ca.pem");
  const leafFile = path.join(config.dataDir, "tls", "localhost.pem");
  if (!existsSync(caFile) || !existsSync(leafFile)) {
    return [{ level: "warn", topic: "tls", text: "no local CA yet: it is generated at the first start" }];
  }
  try {
    const ca = new X509Certificate(readFileSync(caFile));
    const leaf = new X509Certificate(readFileSync(leafFile));
    if (!leaf.verify(ca.publicKey))
      return [{ level: "fail", topic: "tls", text: "the localhost certificate does not match the local CA" }];
    const until = new Date(leaf.validTo);
    const days = Math.floor((until.getTime() - Date.now()) / 86_400_000);
    return [
      {
        level: days < 0 ? "fail" : "ok",
        topic: "tls",
        text: `local CA ${caFile} (trust it in browsers); certificate valid until ${until.toISOString().slice(0, 10)}`,
      },
    ];
  } catch {
    return [
      {
        level: "fail",
        topic: "tls",
        text: "the local CA or certificate cannot be read; delete the tls folder to regenerate",
      },
    ];
  }
}

/** Which service to look at, by OS: Windows' Smart Card service starts with the first reader plugged in. */
const PCSC_SERVICE_HINT =
  process.platform === "win32"
    ? "is a reader plugged in and the Smart Card service (SCardSvr) running?"
    : process.platform === "darwin"
      ? "is a reader plugged in?"
      : "is pcscd running?";

async function checkPcsc(config: DaemonConfig): Promise<Finding[]> {
  if (config.simulate) return [{ level: "ok", topic: "pcsc", text: "simulation: virtual readers" }];
  let backend;
  try {
    backend = createSystemBackend();
  } catch {
    return [
      {
        level: "fail",
        topic: "pcsc",
        text: "the PC/SC library is not installed (Debian/Ubuntu: apt-get install libpcsclite1 pcscd)",
      },
    ];
  }
  try {
    const context = await withTimeout(backend.establishContext(), PCSC_CHECK_TIMEOUT_MS, "PC/SC");
    try {
      const readers = await withTimeout(context.listReaders(), PCSC_CHECK_TIMEOUT_MS, "PC/SC");
      if (readers.length === 0)
        return [{ level: "warn", topic: "pcsc", text: "PC/SC runs but no reader is connected" }];
      // The readers' current state at once (UNAWARE): card present or not, and its ATR.
      const states = await withTimeout(
        context.getStatusChange(
          readers.map((reader) => ({ reader, currentState: SCARD_STATE_UNAWARE })),
          PCSC_CHECK_TIMEOUT_MS,
        ),
        PCSC_CHECK_TIMEOUT_MS + 1000,
        "PC/SC",
      );
      return [
        {
          level: "ok",
          topic: "pcsc",
          text: `PC/SC service reachable, ${readers.length} reader(s)`,
        },
        ...readers.map((name) =>
          readerFinding(
            name,
            states.find((state) => state.reader === name),
          ),
        ),
      ];
    } finally {
      await context.release().catch(() => undefined);
    }
  } catch (error) {
    return [
      {
        level: "fail",
        topic: "pcsc",
        text: `the PC/SC service is not reachable (${(error as Error).message}); ${PCSC_SERVICE_HINT}`,
      },
    ];
  }
}

/** One reader: its card by the ATR's card-table entry (nothing is read from the card). */
function readerFinding(name: string, state: { eventState: number; atr: Uint8Array } | undefined): Finding {
  const flags = state?.eventState ?? 0;
  if (state === undefined || flags & SCARD_STATE_EMPTY || !(flags & SCARD_STATE_PRESENT))
    return { level: "ok", topic: "pcsc", text: `reader: ${name}: no card` };
  if (flags & SCARD_STATE_MUTE)
    return {
      level: "warn",
      topic: "pcsc",
      text: `reader: ${name}: a card that does not answer (mute): take it out, check its side, put it back`,
    };
  const card = recognizeCard(state.atr);
  if (card.type === "unknown")
    return {
      level: "warn",
      topic: "pcsc",
      text: `reader: ${name}: a card Passerelle does not know (ATR ${Buffer.from(state.atr).toString("hex").toUpperCase()})`,
    };
  return { level: "ok", topic: "pcsc", text: `reader: ${name}: ${card.label} (${card.type})` };
}

/**
 * The port: this user's daemon running on it (found as `start` finds it), or free for it, or held
 * by another program (named as `start` would name it, which would then exit 3).
 */
async function checkPort(config: DaemonConfig): Promise<Finding[]> {
  if (config.port === 0) return [{ level: "ok", topic: "port", text: "port 0: any free port (tests)" }];
  const ports: number[] = [];
  for (let port = config.port; port <= config.lastPort; port++) ports.push(port);
  const range = ports.length > 1 ? `${ports[0]}-${ports[ports.length - 1]}` : String(ports[0]);
  const own = await findOwnInstance(ports, config.dataDir);
  if (own)
    return [
      {
        level: "ok",
        topic: "port",
        text: `Passerelle${own.version ? ` ${own.version}` : ""} runs for this user on port ${own.port}${own.pid ? ` (pid ${own.pid})` : ""}`,
      },
    ];
  const free = await freePorts(ports);
  if (free.length > 0) {
    const taken = ports.filter((port) => !free.includes(port) && port < (free[0] ?? 0));
    return [
      {
        level: "ok",
        topic: "port",
        text: `port ${free[0]} is free for the daemon (of ${range}; not running for this user now)`,
      },
      ...(await Promise.all(taken.map((port) => findPortHolder(port, ownUid())))).map((holder) => ({
        level: "ok" as const,
        topic: "port",
        text: `${describeHolder(holder)} (skipped)`,
      })),
    ];
  }
  const holders = await Promise.all(ports.map((port) => findPortHolder(port, ownUid())));
  return holders.map((holder) => ({
    level: "fail" as const,
    topic: "port",
    text: `${describeHolder(holder)}: the daemon cannot start (exit 3)`,
  }));
}

/** Whether each trust store the browsers read holds the current local CA (trust status). */
function checkTrust(config: DaemonConfig): Finding[] {
  if (config.plaintext) return [];
  const caFile = path.join(config.dataDir, "tls", "passerelle-local-ca.pem");
  if (!existsSync(caFile)) return [];
  let caPem: string;
  try {
    caPem = readFileSync(caFile, "utf8");
  } catch {
    return [];
  }
  const results = trust("status", { caPem, caFile, home: os.homedir() });
  if (results.length === 0)
    return [
      { level: "warn", topic: "trust", text: "no trust store found: browsers will refuse wss://localhost" },
    ];
  const findings = results.map((result): Finding => {
    const trusted = result.outcome === "installed" || result.outcome === "already installed";
    return {
      level: trusted ? "ok" : "warn",
      topic: "trust",
      text: `${result.store}: ${trusted ? "trusts the local CA" : result.outcome}${result.detail ? ` (${result.detail})` : ""}${trusted ? "" : ": passerelle trust install"}`,
    };
  });
  if (!findings.some((finding) => finding.level === "ok"))
    findings.push({
      level: "fail",
      topic: "trust",
      text: "no store trusts the local CA: browsers refuse wss://localhost (passerelle trust install)",
    });
  return findings;
}

/** Clock skew against INSi's server; beyond the assertion's tolerated skew INSi would refuse it. */
function skewFinding(skewMs: number | undefined, host: string): Finding {
  if (skewMs === undefined)
    return { level: "warn", topic: "clock", text: `${host} sent no Date: clock skew not measured` };
  const seconds = Math.round(skewMs / 1000);
  const text = `this workstation's clock is ${Math.abs(seconds)} s ${seconds > 0 ? "behind" : "ahead of"} ${host}`;
  if (Math.abs(seconds) > ASSERTION_CLOCK_SKEW_SECONDS)
    return {
      level: "fail",
      topic: "clock",
      text: `${text}: more than the ${ASSERTION_CLOCK_SKEW_SECONDS} s the INSi assertions allow; set the clock (NTP)`,
    };
  if (Math.abs(seconds) > ASSERTION_CLOCK_SKEW_SECONDS / 2)
    return {
      level: "warn",
      topic: "clock",
      text: `${text}: close to the ${ASSERTION_CLOCK_SKEW_SECONDS} s allowed`,
    };
  return { level: "ok", topic: "clock", text: Math.abs(seconds) <= 1 ? `in step with ${host} (±1 s)` : text };
}

/** The TLS handshake with the INSi endpoint, with the configured credentials, and the clock skew. */
async function checkInsiEndpoint(config: DaemonConfig, configOk: boolean): Promise<Finding[]> {
  if (config.simulate) return [];
  if (!config.insi || !configOk)
    return [{ level: "warn", topic: "clock", text: "not checked: no usable INSi endpoint to compare with" }];
  const probe = await probeInsiEndpoint(config.insi);
  if (probe === null) return [];
  const host = new URL(probe.url).host;
  if (!probe.ok)
    return [
      { level: "fail", topic: "insi", text: `TLS with ${host}: ${probe.problem ?? "failed"}` },
      { level: "warn", topic: "clock", text: "not checked: the INSi endpoint did not answer" },
    ];
  const certificate = probe.serverCertificate
    ? `; server ${probe.serverCertificate.subject}, valid until ${new Date(probe.serverCertificate.validTo).toISOString().slice(0, 10)}`
    : "";
  return [
    {
      level: "ok",
      topic: "insi",
      text: `TLS with ${host}: ${probe.protocol ?? "TLS"}${probe.clientCertificate ? ", this workstation's certificate accepted" : ""}${certificate} (no INSi call)`,
    },
    skewFinding(probe.skewMs, host),
  ];
}

async function checkInsi(config: DaemonConfig): Promise<Finding[]> {
  if (config.simulate)
    return [{ level: "ok", topic: "insi", text: "simulation: the in-process INSi simulator" }];
  const problems = insiConfigProblems(config.insi ?? undefined);
  if (problems.length === 0 && config.insi) {
    // Loads the organisation certificate and the CA bundle as the daemon would (no network).
    const client = await createInsiClient(config.insi);
    problems.push(...client.problems());
    client.close();
  }
  const warnings = insiConfigWarnings(config.insi ?? undefined).map(
    (text) => ({ level: "warn", topic: "insi", text }) as Finding,
  );
  if (problems.length === 0)
    return [{ level: "ok", topic: "insi", text: `configured, ${config.insi?.mode} mode` }, ...warnings];
  return [
    ...problems.map(
      (problem) => ({ level: config.insi ? "fail" : "warn", topic: "insi", text: problem }) as Finding,
    ),
    ...warnings,
  ];
}

/** Pairing on or off, and the user's grants (a damaged grants file is a failure). */
function checkPairing(config: DaemonConfig): Finding[] {
  if (!config.pairing.enabled)
    return [{ level: "ok", topic: "access", text: "pairing: off (the allowlist only)" }];
  try {
    const grants = new GrantStore(config.dataDir).list();
    return [
      {
        level: "ok",
        topic: "access",
        text: `pairing: on, ${grants.length} origin(s) allowed by the user (passerelle access list)`,
      },
    ];
  } catch (error) {
    if (!(error instanceof GrantStoreError)) throw error;
    return [{ level: "fail", topic: "access", text: error.message }];
  }
}

function checkAccess(config: DaemonConfig): Finding[] {
  const denied = config.deniedOrigins.map((origin) => ({
    level: "ok" as const,
    topic: "access",
    text: `denied: ${origin}`,
  }));
  if (config.allowedOrigins.length === 0) {
    return [
      {
        level: "warn",
        topic: "access",
        text: config.pairing.enabled
          ? "no allowed origin: only web applications the user allows (pairing) can use Passerelle"
          : "no allowed origin: no web application can use Passerelle",
      },
      ...checkPairing(config),
      ...denied,
      ...configWarnings(config).map((text) => ({ level: "warn" as const, topic: "access", text })),
    ];
  }
  const warnings = configWarnings(config).map((text) => ({ level: "warn" as const, topic: "access", text }));
  return [
    ...config.allowedOrigins.map((origin) => ({
      level: "ok" as const,
      topic: "access",
      text: `allowed: ${origin}${config.pinFromPage.includes(origin) ? " (may send the PIN from its page)" : ""}`,
    })),
    ...checkPairing(config),
    ...denied,
    ...warnings,
  ];
}

/**
 * The update check's pinned key: a build made without --update-key can verify no manifest. That is
 * a warning, and a failure when the policy configures a manifest URL that can then never verify.
 */
function checkUpdates(config: DaemonConfig): Finding[] {
  const keys = trustedUpdateKeys();
  const where = config.updates ? `manifest ${config.updates.manifestUrl}` : "no updates.manifestUrl";
  if (keys.length === 0) {
    return [
      {
        level: config.updates ? "fail" : "warn",
        topic: "updates",
        text: `this build pins no update key (built without --update-key): version --check refuses every manifest; ${where}`,
      },
    ];
  }
  return [
    {
      level: "ok",
      topic: "updates",
      text: `update key ${keys.map((key) => key.id).join(", ")} pinned; ${where}`,
    },
  ];
}

export function registerDoctor(program: Command): void {
  program
    .command("doctor")
    .description("check the configuration, the local CA, PC/SC and INSi, and say what is missing")
    .option("--config <file>", "configuration file (JSON)")
    .option("--data-dir <dir>", "the daemon's data folder")
    .option("--simulate", "check a simulation setup")
    .action(async (options: CommandLineOptions) => {
      let config: DaemonConfig;
      try {
        config = resolveConfig(options);
      } catch (error) {
        if (!(error instanceof ConfigError)) throw error;
        process.stdout.write(`${MARK.fail} config  ${error.message}\n`);
        process.exit(1);
      }
      const findings: Finding[] = [
        {
          level: "ok",
          topic: "config",
          text: config.configFile ? `read ${config.configFile}` : "no config file: defaults",
        },
        ...checkDataDir(config),
        ...checkTls(config),
        ...checkTrust(config),
        ...checkAccess(config),
        ...(await checkPort(config)),
        ...(await checkPcsc(config)),
      ];
      const insi = await checkInsi(config);
      findings.push(
        ...insi,
        ...(await checkInsiEndpoint(config, !insi.some((finding) => finding.level === "fail"))),
        ...checkUpdates(config),
      );
      for (const finding of findings)
        process.stdout.write(`${MARK[finding.level]} ${finding.topic.padEnd(7)} ${finding.text}\n`);
      process.exit(findings.some((finding) => finding.level === "fail") ? 1 : 0);
    });
}
