/**
 * `passerelle doctor`: what a technician runs when something does not work. Checks the
 * configuration, the data folder, the local CA, PC/SC and the readers, INSi's configuration and
 * whether the daemon answers, and says what is missing in one line each. Exit 0 when nothing is
 * wrong (warnings allowed), 1 otherwise. It never prints personal data: it reads no card.
 */
import { X509Certificate } from "node:crypto";
import { accessSync, constants, existsSync, mkdirSync, readFileSync } from "node:fs";
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
import { insiConfigProblems, insiConfigWarnings } from "../insi/config.ts";
import { createInsiClient } from "../insi/index.ts";
import { createSystemBackend } from "../pcsc/binding/koffi-backend.ts";

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
      return readers.map((name) => ({ level: "ok" as const, topic: "pcsc", text: `reader: ${name}` }));
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

function checkInsi(config: DaemonConfig): Finding[] {
  if (config.simulate)
    return [{ level: "ok", topic: "insi", text: "simulation: the in-process INSi simulator" }];
  const problems = insiConfigProblems(config.insi ?? undefined);
  if (problems.length === 0 && config.insi) {
    // Loads the organisation certificate and the CA bundle as the daemon would (no network).
    const client = createInsiClient(config.insi);
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
        ...checkAccess(config),
        ...(await checkPcsc(config)),
        ...checkInsi(config),
      ];
      for (const finding of findings)
        process.stdout.write(`${MARK[finding.level]} ${finding.topic.padEnd(7)} ${finding.text}\n`);
      process.exit(findings.some((finding) => finding.level === "fail") ? 1 : 0);
    });
}
