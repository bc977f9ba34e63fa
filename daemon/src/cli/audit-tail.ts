/**
 * `passerelle audit tail [-n N] [--data-dir DIR]`: prints the last N audit records (JSON lines) of
 * this installation, oldest first. Lines torn by a crash are counted on stderr, not printed.
 */
import { join } from "node:path";
import envPaths from "env-paths";
import { InvalidArgumentError, type Command } from "commander";
import { AUDIT_DIR_NAME, readAuditTail } from "../audit/audit-trail.ts";

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
    .option("--data-dir <dir>", "the daemon's data folder (default: the per-user data folder)")
    .action(async (options: { lines: number; dataDir?: string }) => {
      const dataDir = options.dataDir ?? envPaths("passerelle", { suffix: "" }).data;
      const dir = join(dataDir, AUDIT_DIR_NAME);
      const { records, skippedLines } = await readAuditTail(dir, options.lines);
      process.stdout.write(records.map((r) => JSON.stringify(r) + "\n").join(""));
      // Said on stderr, so that stdout stays one JSON object per line for scripts.
      if (records.length === 0) process.stderr.write(`passerelle: no audit record in ${dir}\n`);
      if (skippedLines > 0)
        process.stderr.write(`passerelle: ${skippedLines} unreadable audit line(s) skipped\n`);
    });
}
