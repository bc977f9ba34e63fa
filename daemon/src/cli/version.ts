/**
 * `passerelle version [--check] [--config FILE]`: the version; with --check, whether a newer one is
 * published (the signed manifest at `updates.manifestUrl`, verified with the pinned key). It never
 * downloads or installs anything. Exit codes (docs/admin-guide.md, "Updates"): 0 up to date,
 * 10 a newer version is available, 4 no or an invalid configuration, 11 the manifest could not be
 * fetched (network, TLS, timeout, HTTP status, too large), 12 the manifest was refused (signature,
 * malformed, expired, downgrade), 13 this build pins no update key (built without --update-key).
 */
import type { Command } from "commander";
import { ConfigError, resolveConfig } from "../config/config.ts";
import { checkForUpdate, UpdateCheckError, type UpdateErrorKind } from "../updates/index.ts";
import { DAEMON_VERSION } from "../version.ts";

export const UPDATE_EXIT = {
  upToDate: 0,
  available: 10,
  config: 4,
  fetch: 11,
  refused: 12,
  noKey: 13,
} as const;

const FETCH_ERRORS: ReadonlySet<UpdateErrorKind> = new Set([
  "timeout",
  "network",
  "tls",
  "http",
  "too-large",
]);

export function registerVersion(program: Command): void {
  program
    .command("version")
    .description("print the version; --check: is a newer one published (signed manifest, pinned key)")
    .option("--check", "read the signed update manifest (updates.manifestUrl) and compare; installs nothing")
    .option("--config <file>", "configuration file (JSON)")
    .action(async (options: { check?: boolean; config?: string }) => {
      if (!options.check) {
        process.stdout.write(`${DAEMON_VERSION}\n`);
        return;
      }
      let config;
      try {
        config = resolveConfig(options.config ? { config: options.config } : {});
      } catch (error) {
        if (!(error instanceof ConfigError)) throw error;
        process.stderr.write(`passerelle: invalid configuration: ${error.message}\n`);
        process.exit(UPDATE_EXIT.config);
      }
      try {
        const outcome = await checkForUpdate(config.updates, DAEMON_VERSION);
        if (outcome.status === "up-to-date") {
          process.stdout.write(`up to date: passerelle ${DAEMON_VERSION}\n`);
          return;
        }
        process.stdout.write(
          `available: passerelle ${outcome.manifest.version} (this is ${DAEMON_VERSION})\n`,
        );
        for (const artefact of outcome.artefacts)
          process.stdout.write(`  ${artefact.kind}: ${artefact.url} sha256 ${artefact.sha256}\n`);
        if (outcome.artefacts.length === 0)
          process.stdout.write(`  (no artefact for ${process.platform}-${process.arch} in the manifest)\n`);
        process.exitCode = UPDATE_EXIT.available;
      } catch (error) {
        if (!(error instanceof UpdateCheckError)) throw error;
        process.stderr.write(`passerelle: update check failed (${error.kind}): ${error.message}\n`);
        process.exit(
          error.kind === "not-configured"
            ? UPDATE_EXIT.config
            : error.kind === "no-key"
              ? UPDATE_EXIT.noKey
              : FETCH_ERRORS.has(error.kind)
                ? UPDATE_EXIT.fetch
                : UPDATE_EXIT.refused,
        );
      }
    });
}
