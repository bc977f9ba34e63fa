/**
 * The data folder for the commands that need only that (trust, access, audit), resolved as the
 * daemon resolves it: --data-dir > the config file's `dataDir` (--config, PASSERELLE_CONFIG or the
 * default file) > the per-user default. An invalid configuration is one line on stderr and exit 4,
 * as `passerelle status` says it.
 */
import { ConfigError, resolveDataDir } from "../config/config.ts";

export const CONFIG_OPTION = ["--config <file>", "configuration file (JSON): its dataDir is used"] as const;
export const DATA_DIR_OPTION = [
  "--data-dir <dir>",
  "the daemon's data folder (default: the configuration's dataDir, else the per-user data folder)",
] as const;

export function dataDirOrExit(options: { config?: string; dataDir?: string }): string {
  try {
    return resolveDataDir(options);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`passerelle: invalid configuration: ${error.message}\n`);
    process.exit(4);
  }
}
