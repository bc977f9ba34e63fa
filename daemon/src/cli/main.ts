#!/usr/bin/env -S node --import tsx
/**
 * The `passerelle` command line. Output contract (protocol-v1.md, "Command line"): `start` prints
 * exactly one line `listening <url>` on stdout when ready; failures print one line on stderr and
 * exit non-zero. Logs go to stderr and the log files, never to stdout.
 */
import "./threadpool.ts";
import { Command, CommanderError, Option } from "commander";
import { DEFAULT_PORT_RANGE } from "@passerelle/protocol";
import { ConfigError, resolveConfig, type CommandLineOptions } from "../config/config.ts";
import { startDaemon } from "../daemon.ts";
import { PortInUseError } from "../server/server.ts";
import { DAEMON_VERSION } from "../version.ts";
import { describeHolder, explainPortsInUse, findOwnInstance, freePorts } from "../instance/index.ts";
import { registerAccess } from "./access.ts";
import { registerAuditPrune, registerAuditTail } from "./audit-tail.ts";
import { registerDoctor } from "./doctor.ts";
import { registerInsiConformance } from "./insi-conformance.ts";
import { registerInsiParse } from "./insi-parse.ts";
import { registerLabInsert } from "./lab-insert.ts";
import { registerLabInsi } from "./lab-insi.ts";
import { shutdownOnSignal } from "./shutdown.ts";
import { registerService } from "./service.ts";
import { registerStatus } from "./status.ts";
import { registerTrust } from "./trust.ts";
import { registerVersion } from "./version.ts";

/** Exit codes: documented in docs/admin-guide.md. */
export const EXIT = { ok: 0, failure: 1, usage: 2, portInUse: 3, config: 4, alreadyRunning: 5 } as const;

function fail(message: string, code: number): never {
  process.stderr.write(`passerelle: ${message}\n`);
  process.exit(code);
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

export function buildProgram(): Command {
  const program = new Command("passerelle")
    .description(
      "Card-reader bridge for French health software: Vitale, CPS and INSi over a localhost WebSocket",
    )
    .version(DAEMON_VERSION, "-V, --version")
    .showHelpAfterError()
    .exitOverride();

  program
    .command("start")
    .description("run the daemon (prints `listening <url>` when ready)")
    .option("--simulate", "virtual readers and cards, and the in-process INSi simulator")
    .addOption(
      new Option(
        "--port <n>",
        `TCP port on 127.0.0.1 and ::1, or a range FIRST-LAST whose first free port is taken (default ${DEFAULT_PORT_RANGE.first}-${DEFAULT_PORT_RANGE.last})`,
      ).env("PASSERELLE_PORT"),
    )
    .option("--plaintext", "serve ws:// and http:// instead of TLS (development and tests only)")
    .option("--allow-origin <origin>", "grant this origin access for this run (repeatable)", collect, [])
    .option("--config <file>", "configuration file (JSON)")
    .option("--data-dir <dir>", "folder for the local CA, grants and audit trail")
    .option("--insi-record <dir>", "with --simulate: save every request the INSi simulator receives")
    .option("--log-level <level>", "error, warn, info or debug")
    .action(async (options: CommandLineOptions) => {
      let config;
      try {
        config = resolveConfig(options);
      } catch (error) {
        if (error instanceof ConfigError) fail(`invalid configuration: ${error.message}`, EXIT.config);
        throw error;
      }
      const ports: number[] = [];
      for (let port = config.port; port <= config.lastPort; port++) ports.push(port);
      // One instance per user: with a port range, this user's daemon may be on any of its ports.
      if (ports.length > 1) {
        const own = await findOwnInstance(ports, config.dataDir);
        if (own) fail(`${describeHolder(own)}; stop it first (passerelle status)`, EXIT.alreadyRunning);
      }
      // Before anything opens (readers, audit trail): all taken is said in one line, nothing else.
      if ((await freePorts(ports)).length === 0) {
        const { line, ownPasserelle } = await explainPortsInUse(ports);
        if (ownPasserelle) fail(`${line}; stop it first (passerelle status)`, EXIT.alreadyRunning);
        fail(line, EXIT.portInUse);
      }
      let daemon;
      try {
        daemon = await startDaemon(config);
      } catch (error) {
        if (error instanceof PortInUseError) {
          const { line, ownPasserelle } = await explainPortsInUse(error.ports);
          if (ownPasserelle) fail(`${line}; stop it first (passerelle status)`, EXIT.alreadyRunning);
          fail(line, EXIT.portInUse);
        }
        fail(`cannot start: ${(error as Error).message}`, EXIT.failure);
      }
      const running = daemon;
      process.stdout.write(`listening ${running.url}\n`);
      if (config.simulate) {
        // stdout carries only the `listening` line (the contract); the hint for people goes to stderr.
        const page = running.url.replace(/^ws/, "http").replace(/\/v1$/, "/");
        process.stderr.write(`SIMULATION: virtual cards and INSi simulator. Open ${page} in a browser.\n`);
      }
      const stop = shutdownOnSignal(running);
      process.on("SIGINT", () => void stop("SIGINT"));
      process.on("SIGTERM", () => void stop("SIGTERM"));
    });

  registerStatus(program);
  registerLabInsert(program);
  registerLabInsi(program);
  registerInsiParse(program);
  registerInsiConformance(program);
  registerAuditTail(program);
  registerAuditPrune(program);
  registerTrust(program);
  registerAccess(program);
  registerDoctor(program);
  registerService(program);
  registerVersion(program);
  return program;
}

export async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version exit 0; usage errors were already printed by commander.
      process.exit(error.exitCode === 0 ? EXIT.ok : EXIT.usage);
    }
    fail((error as Error).message, EXIT.failure);
  }
}

void main(process.argv);
