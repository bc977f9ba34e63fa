/**
 * `passerelle status`: asks the running daemon's GET /health and says whether it answers.
 * Exit 0 when it runs, 1 when nothing answers, 4 on an invalid configuration.
 */
import { readFileSync } from "node:fs";
import https from "node:https";
import http from "node:http";
import path from "node:path";
import type { Command } from "commander";
import { ConfigError, resolveConfig, type CommandLineOptions } from "../config/config.ts";
import { readInstanceRecord } from "../instance/index.ts";

/** How long `status` waits for an answer. */
const STATUS_TIMEOUT_MS = 3000;

function getHealth(
  url: string,
  ca: string | undefined,
  origin: string,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const client = url.startsWith("https:") ? https : http;
    const request = client.get(
      url,
      { headers: { Origin: origin }, timeout: STATUS_TIMEOUT_MS, ...(ca ? { ca } : {}) },
      (response) => {
        let body = "";
        response.setEncoding("utf8");
        response.on("data", (chunk: string) => (body += chunk.slice(0, 4096)));
        response.on("end", () => resolve({ status: response.statusCode ?? 0, body }));
      },
    );
    request.on("timeout", () => request.destroy(new Error("timed out")));
    request.on("error", reject);
  });
}

export function registerStatus(program: Command): void {
  program
    .command("status")
    .description("tell whether the daemon is running (asks its /health)")
    .option("--port <n>", "the daemon's port")
    .option("--plaintext", "the daemon serves http:// (started with --plaintext)")
    .option("--config <file>", "configuration file (JSON)")
    .option("--data-dir <dir>", "the daemon's data folder (for its local CA)")
    .action(async (options: CommandLineOptions) => {
      let config;
      try {
        config = resolveConfig(options);
      } catch (error) {
        if (error instanceof ConfigError) {
          process.stderr.write(`passerelle: invalid configuration: ${error.message}\n`);
          process.exit(4);
        }
        throw error;
      }
      const scheme = config.plaintext ? "http" : "https";
      let ca: string | undefined;
      if (!config.plaintext) {
        try {
          ca = readFileSync(path.join(config.dataDir, "tls", "passerelle-local-ca.pem"), "utf8");
        } catch {
          ca = undefined; // not generated yet: the daemon has never run with this data folder
        }
      }
      const ask = async (at: string): Promise<string> => {
        const { status, body } = await getHealth(`${at}/health`, ca, at);
        const parsed = JSON.parse(body) as {
          status?: string;
          daemon?: { version?: string };
          simulation?: boolean;
        };
        if (status !== 200 || parsed.status !== "ok") throw new Error(`unexpected answer (HTTP ${status})`);
        const version = parsed.daemon?.version ? ` ${parsed.daemon.version}` : "";
        const simulation = parsed.simulation ? " — SIMULATION" : "";
        return `running: passerelle${version} at ${at}${simulation}\n`;
      };
      // The port this user's daemon took (recorded in its data folder), then each port of the range:
      // another user's daemon refuses us (403) and is skipped.
      const ports: number[] = [];
      const recorded = readInstanceRecord(config.dataDir)?.port;
      if (recorded !== undefined && recorded >= config.port && recorded <= config.lastPort)
        ports.push(recorded);
      for (let port = config.port; port <= config.lastPort; port++) if (port !== recorded) ports.push(port);
      // A daemon started with --plaintext (the demo, development) answers http:// on the same port.
      const tryPort = async (port: number): Promise<string> => {
        try {
          return await ask(`${scheme}://localhost:${port}`);
        } catch (error) {
          if (config.plaintext) throw error;
          return await ask(`http://localhost:${port}`).catch(() => Promise.reject(error as Error));
        }
      };
      const answers = await Promise.allSettled(ports.map(tryPort));
      const running = answers.find((answer) => answer.status === "fulfilled");
      if (running) {
        process.stdout.write(running.value);
        return;
      }
      const first = answers[0];
      const why = first?.status === "rejected" ? (first.reason as Error).message : "no port";
      const where =
        ports.length === 1 ? `${scheme}://localhost:${ports[0]}` : `ports ${config.port}-${config.lastPort}`;
      process.stdout.write(`not running at ${where} (${why})\n`);
      process.exit(1);
    });
}
