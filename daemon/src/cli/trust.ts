/**
 * `passerelle trust install|uninstall|status [--data-dir DIR] [--no-system] [--system-root DIR]
 * [--machine [--every-ca]]`: the local CA in the
 * OS store and every NSS database found (tls/trust-store.ts). One line per store on stdout,
 * `<store>: <outcome>`; exit 1 when a store failed. `install` creates the CA first when the daemon
 * never ran. The installers call `passerelle trust install`: keep this interface stable.
 */
import { existsSync, readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import envPaths from "env-paths";
import type { Command } from "commander";
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
      .option("--data-dir <dir>", "the daemon's data folder (default: the per-user data folder)")
      .option("--no-system", "leave the OS store alone (the user's browser databases only)")
      .option(
        "--system-root <dir>",
        "the OS store under DIR instead of / (update-ca-certificates only: tests, image builds)",
      )
      .option(
        "--machine",
        "Windows: the machine's Root store (administrator; no confirmation dialog; every user trusts it) instead of the user's",
      )
      .option("--every-ca", "with --machine, uninstall: every Passerelle CA in it, not only this user's")
      .action(
        (options: {
          dataDir?: string;
          system: boolean;
          systemRoot?: string;
          machine?: boolean;
          everyCa?: boolean;
        }) => {
          const dataDir = options.dataDir ?? envPaths("passerelle", { suffix: "" }).data;
          const caFile = path.join(dataDir, "tls", "passerelle-local-ca.pem");
          // The per-machine MSI's uninstall runs as an account without a CA of its own.
          const everyCa = action === "uninstall" && options.machine === true && options.everyCa === true;
          if (action !== "install" && !existsSync(caFile) && !everyCa) {
            process.stdout.write(`no local CA yet in ${caFile} (the daemon has never started)\n`);
            return;
          }
          // install: creates the CA when the daemon never ran (an installer runs this first).
          const tls =
            action === "install"
              ? ensureLocalTls(dataDir)
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
