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
      const base = `${scheme}://localhost:${config.port}`;
      let ca: string | undefined;
      if (!config.plaintext) {
        try {
          ca = readFileSync(path.join(config.dataDir, "tls", "passerelle-local-ca.pem"), "utf8");
        } catch {
          ca = undefined; // not generated yet: the daemon has never run with this data folder
        }
      }
      const ask = async (at: string) => {
        const { status, body } = await getHealth(`${at}/health`, ca, at);
        const parsed = JSON.parse(body) as {
          status?: string;
          daemon?: { version?: string };
          simulation?: boolean;
        };
        if (status !== 200 || parsed.status !== "ok") throw new Error(`unexpected answer (HTTP ${status})`);
        const version = parsed.daemon?.version ? ` ${parsed.daemon.version}` : "";
        const simulation = parsed.simulation ? " — SIMULATION" : "";
        process.stdout.write(`running: passerelle${version} at ${at}${simulation}\n`);
      };
      try {
        await ask(base);
      } catch (error) {
        // A daemon started with --plaintext (the demo, development) answers http:// on the same port.
        const plain = `http://localhost:${config.port}`;
        if (
          !config.plaintext &&
          (await ask(plain).then(
            () => true,
            () => false,
          ))
        )
          return;
        process.stdout.write(`not running at ${base} (${(error as Error).message})\n`);
        process.exit(1);
      }
    });
}
