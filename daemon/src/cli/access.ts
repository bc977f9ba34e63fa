/**
 * `passerelle access list [--json] [--config FILE] [--data-dir DIR]`: the origins the user allowed on the consent
 * page, one per line (`<origin>\t<granted at>\t<app name>`), or as JSON.
 * `passerelle access revoke ORIGIN [--config FILE] [--data-dir DIR]`: takes an origin's grant back. A running
 * daemon sees the file change, sends `access.changed {access:"none"}` to that origin's
 * connections and refuses its calls from then on. The revocation is an audit record.
 *
 * Exit codes: 0 done; 1 `revoke`: this origin had no grant (nothing changed); 2 usage (not an
 * origin); 4 an invalid configuration (cli/data-dir.ts), or the grants file is damaged or unreadable, or its lock is held by another process for
 * more than 2 s (one line on stderr naming the file).
 * The administrator's allowlist and deny list are in the configuration, not here.
 */
import { join } from "node:path";
import { InvalidArgumentError, type Command } from "commander";
import { GrantStore, GrantStoreError } from "../access/index.ts";
import { AUDIT_DIR_NAME, AuditTrail } from "../audit/audit-trail.ts";
import { normalizeOrigin } from "../config/config.ts";
import { CONFIG_OPTION, DATA_DIR_OPTION, dataDirOrExit } from "./data-dir.ts";

export const ACCESS_EXIT = { ok: 0, noGrant: 1, usage: 2, damaged: 4 } as const;

function parseOrigin(value: string): string {
  const origin = normalizeOrigin(value);
  if (!origin) throw new InvalidArgumentError("an origin: scheme://host[:port], no path");
  return origin;
}

function damaged(error: unknown): never {
  if (!(error instanceof GrantStoreError)) throw error;
  process.stderr.write(`passerelle: ${error.message}\n`);
  process.exit(ACCESS_EXIT.damaged);
}

export function registerAccess(program: Command): Command {
  const command = program.command("access").description("the origins the user allowed (pairing)");
  command
    .command("list")
    .description("list the origins allowed on the consent page")
    .option("--json", "one JSON document: {grants:[{origin, appName?, grantedAt}]}")
    .option(...CONFIG_OPTION)
    .option(...DATA_DIR_OPTION)
    .action((options: { json?: boolean; config?: string; dataDir?: string }) => {
      const dataDir = dataDirOrExit(options);
      let grants;
      try {
        grants = new GrantStore(dataDir).list();
      } catch (error) {
        damaged(error);
      }
      if (options.json) {
        process.stdout.write(`${JSON.stringify({ grants })}\n`);
        return;
      }
      for (const grant of grants)
        process.stdout.write(`${grant.origin}\t${grant.grantedAt}\t${grant.appName ?? ""}\n`);
      if (grants.length === 0) process.stderr.write("passerelle: no origin allowed on this workstation\n");
    });
  command
    .command("revoke")
    .description("take an origin's grant back (a running daemon refuses it at once)")
    .argument("<origin>", "the origin, e.g. https://ehr.example.fr", parseOrigin)
    .option(...CONFIG_OPTION)
    .option(...DATA_DIR_OPTION)
    .action(async (origin: string, options: { config?: string; dataDir?: string }) => {
      const dataDir = dataDirOrExit(options);
      let removed: boolean;
      try {
        removed = new GrantStore(dataDir).remove(origin);
      } catch (error) {
        damaged(error);
      }
      if (!removed) {
        process.stderr.write(`passerelle: ${origin} has no grant (nothing changed)\n`);
        process.exitCode = ACCESS_EXIT.noGrant;
        return;
      }
      const audit = await AuditTrail.open({ dir: join(dataDir, AUDIT_DIR_NAME) });
      try {
        await audit.record({
          kind: "access",
          origin,
          method: "access.revoke",
          reason: "command line",
          durationMs: 0,
        });
      } finally {
        await audit.close();
      }
      process.stdout.write(`revoked ${origin}\n`);
    });
  return command;
}
