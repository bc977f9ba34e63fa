/**
 * `passerelle trust install|uninstall|status [--config FILE] [--data-dir DIR] [--no-system]
 * [--system-root DIR] [--machine [--every-ca]]`: the local CA of the data folder the daemon uses
 * (cli/data-dir.ts; an invalid configuration is exit 4) in the OS store and every NSS database found
 * (tls/trust-store.ts). One line per store on stdout, `<store>: <outcome>`; exit 1 when a store
 * failed. `install` creates the CA first when the daemon never ran. The installers call `passerelle trust install`: keep this interface stable.
 *
 * `install --wait SECONDS`, for what starts beside the daemon at login (the macOS trust LaunchAgent,
 * the Linux unit's ExecStartPost): waits until this user's daemon is listening (its instance record,
 * a live pid), then trusts the CA the daemon made. It never makes one: two processes making the CA at
 * once could leave the daemon serving a certificate from one CA while the other is trusted.
 */
import { existsSync, readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Command } from "commander";
import { CONFIG_OPTION, DATA_DIR_OPTION, dataDirOrExit } from "./data-dir.ts";
import { processAlive, readInstanceRecord } from "../instance/index.ts";
import { ensureLocalTls } from "../tls/local-ca.ts";
import { trust, type TrustAction } from "../tls/trust-store.ts";

export function registerTrust(program: Command): Command {
  const command = program.command("trust").description("make the browsers trust the local CA (or stop)");
  for (const [action, description] of [
    ["install", "put the local CA in the OS store and every NSS database (Chromium, Firefox); idempotent"],
    ["uninstall", "take the local CA out of every store"],
    ["status", "tell, store by store, whether the current local CA is trusted"],
  ] as const) {
    command
      .command(action)
      .description(description)
      .option(...CONFIG_OPTION)
      .option(...DATA_DIR_OPTION)
      .option("--no-system", "leave the OS store alone (the user's browser databases only)")
      .option(
        "--system-root <dir>",
        "the OS store under DIR instead of / (update-ca-certificates only: tests, image builds)",
      )
      .option(
        "--wait <seconds>",
        "install: wait up to SECONDS for this user's daemon to listen, then trust the CA it made (never make one)",
      )
      .option(
        "--machine",
        "Windows: the machine's Root store (administrator; no confirmation dialog; every user trusts it) instead of the user's",
      )
      .option("--every-ca", "with --machine, uninstall: every Passerelle CA in it, not only this user's")
      .action(
        async (options: {
          config?: string;
          dataDir?: string;
          system: boolean;
          systemRoot?: string;
          wait?: string;
          machine?: boolean;
          everyCa?: boolean;
        }) => {
          const dataDir = dataDirOrExit(options);
          const caFile = path.join(dataDir, "tls", "passerelle-local-ca.pem");
          const wait = options.wait === undefined ? undefined : Number(options.wait);
          // The per-machine MSI's uninstall runs as an account without a CA of its own.
          const everyCa = action === "uninstall" && options.machine === true && options.everyCa === true;
          if (
            wait !== undefined &&
            (action !== "install" || !Number.isInteger(wait) || wait < 0 || wait > 3600)
          ) {
            process.stderr.write("passerelle: --wait is a number of seconds (0–3600), with install only\n");
            process.exit(2);
          }
          if (wait !== undefined) {
            const listening = await daemonListening(dataDir, wait);
            if (!existsSync(caFile)) {
              process.stdout.write(
                `no local CA yet in ${caFile} (${listening ? "the daemon runs without TLS" : `no daemon listening after ${wait} s`}): nothing to trust\n`,
              );
              return;
            }
          } else if (action !== "install" && !existsSync(caFile) && !everyCa) {
            process.stdout.write(`no local CA yet in ${caFile} (the daemon has never started)\n`);
            return;
          }
          // install: creates the CA when the daemon never ran (an installer runs this first), except
          // with --wait, where the daemon makes it.
          const tls =
            action === "install" && wait === undefined
              ? await ensureLocalTls(dataDir)
              : { caPem: existsSync(caFile) ? readFileSync(caFile, "utf8") : "", caFile };
          const results = trust(action as TrustAction, {
            caPem: tls.caPem,
            caFile: tls.caFile,
            home: os.homedir(),
            system: options.system,
            ...(options.systemRoot !== undefined ? { systemRoot: options.systemRoot } : {}),
            ...(options.machine ? { windowsStore: "machine" as const } : {}),
            ...(options.everyCa ? { everyCa: true } : {}),
          });
          for (const result of results)
            process.stdout.write(
              `${result.store}: ${result.outcome}${result.detail ? ` (${result.detail})` : ""}\n`,
            );
          if (results.length === 0) process.stdout.write("no trust store found\n");
          if (results.some((result) => result.outcome === "failed")) process.exitCode = 1;
        },
      );
  }
  return command;
}

const WAIT_STEP_MS = 250;

/** Whether this user's daemon is listening (a record with a live pid), waiting up to `seconds`. */
async function daemonListening(dataDir: string, seconds: number): Promise<boolean> {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    const record = readInstanceRecord(dataDir);
    if (record && processAlive(record.pid)) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, WAIT_STEP_MS));
  }
}
