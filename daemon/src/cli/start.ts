/**
 * `passerelle start`: the daemon. Output contract (protocol-v1.md, "Command line"): exactly one line
 * `listening <url>` on stdout when ready; failures print one line on stderr and exit non-zero.
 */
import { Option, type Command } from "commander";
import { DEFAULT_PORT_RANGE } from "@passerelle/protocol";
import { ConfigError, resolveConfig, type CommandLineOptions } from "../config/config.ts";
import { startDaemon } from "../daemon.ts";
import { PortInUseError } from "../server/server.ts";
import { describeHolder, explainPortsInUse, findOwnInstance, freePorts } from "../instance/index.ts";
import { EXIT, fail } from "./exit.ts";
import { shutdownOnSignal } from "./shutdown.ts";

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

export function registerStart(program: Command): void {
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
}
