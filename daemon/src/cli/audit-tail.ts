/**
 * `passerelle audit tail [-n N] [--config FILE] [--data-dir DIR]`: prints the last N audit records (JSON lines) of
 * this installation, oldest first. Lines torn by a crash are counted on stderr, not printed.
 * `passerelle audit prune --before DATE [--config FILE] [--data-dir DIR]`: the administrator's retention — deletes
 * the rotated archives older than DATE (the daemon itself never deletes any), one line per file.
 * The data folder is the daemon's (cli/data-dir.ts); an invalid configuration is exit 4.
 */
import { join } from "node:path";
import { InvalidArgumentError, type Command } from "commander";
import { AUDIT_DIR_NAME, pruneAuditArchives, readAuditTail } from "../audit/audit-trail.ts";
import { CONFIG_OPTION, DATA_DIR_OPTION, dataDirOrExit } from "./data-dir.ts";

export const DEFAULT_TAIL_RECORDS = 20;
/** Bound on -n: the tail is read into memory. */
export const MAX_TAIL_RECORDS = 100_000;

function parseCount(value: string): number {
  const count = Number(value);
  if (!Number.isInteger(count) || count < 1 || count > MAX_TAIL_RECORDS)
    throw new InvalidArgumentError(`1 to ${MAX_TAIL_RECORDS}`);
  return count;
}

function auditCommand(program: Command): Command {
  return (
    program.commands.find((c) => c.name() === "audit") ??
    program.command("audit").description("the INSi and PIN audit trail")
  );
}

export function registerAuditTail(program: Command): Command {
  return auditCommand(program)
    .command("tail")
    .description("print the last audit records (one JSON object per line)")
    .option(
      "-n, --lines <n>",
      `how many records (default ${DEFAULT_TAIL_RECORDS})`,
      parseCount,
      DEFAULT_TAIL_RECORDS,
    )
    .option(...CONFIG_OPTION)
    .option(...DATA_DIR_OPTION)
    .action(async (options: { lines: number; config?: string; dataDir?: string }) => {
      const dataDir = dataDirOrExit(options);
      const dir = join(dataDir, AUDIT_DIR_NAME);
      const { records, skippedLines } = await readAuditTail(dir, options.lines);
      process.stdout.write(records.map((r) => JSON.stringify(r) + "\n").join(""));
      // Said on stderr, so that stdout stays one JSON object per line for scripts.
      if (records.length === 0) process.stderr.write(`passerelle: no audit record in ${dir}\n`);
      if (skippedLines > 0)
        process.stderr.write(`passerelle: ${skippedLines} unreadable audit line(s) skipped\n`);
    });
}

function parseDate(value: string): Date {
  const date = /^\d{4}-\d{2}-\d{2}$/.test(value) ? new Date(`${value}T00:00:00Z`) : new Date(NaN);
  if (Number.isNaN(date.getTime())) throw new InvalidArgumentError("a date, YYYY-MM-DD (UTC)");
  return date;
}

export function registerAuditPrune(program: Command): Command {
  return auditCommand(program)
    .command("prune")
    .description("delete the rotated audit archives older than a date (retention is yours)")
    .requiredOption("--before <date>", "delete archives rotated before this day, YYYY-MM-DD (UTC)", parseDate)
    .option(...CONFIG_OPTION)
    .option(...DATA_DIR_OPTION)
    .action(async (options: { before: Date; config?: string; dataDir?: string }) => {
      const dataDir = dataDirOrExit(options);
      const deleted = await pruneAuditArchives(join(dataDir, AUDIT_DIR_NAME), options.before);
      process.stdout.write(deleted.map((file) => `deleted ${file}\n`).join(""));
      if (deleted.length === 0) process.stderr.write("passerelle: no audit archive older than that\n");
    });
}
