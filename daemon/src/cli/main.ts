#!/usr/bin/env -S node --import tsx
/**
 * The `passerelle` command line. Output contract (protocol-v1.md, "Command line"): `start` prints
 * exactly one line `listening <url>` on stdout when ready; failures print one line on stderr and
 * exit non-zero. Logs go to stderr and the log files, never to stdout.
 *
 * Each command is declared by its own module, loaded only when that command runs (commands.ts):
 * `--version` loads nothing but commander, `status` does not load the daemon, `start` does not load
 * the lab or INSi tools. Help, and a command line naming no known command, load them all.
 */
import "./threadpool.ts";
import { Command, CommanderError } from "commander";
import { DAEMON_VERSION } from "../version.ts";
import { commandsFor } from "./commands.ts";
import { EXIT, fail } from "./exit.ts";

export async function buildProgram(argv: string[] = process.argv): Promise<Command> {
  const program = new Command("passerelle")
    .description(
      "Card-reader bridge for French health software: Vitale, CPS and INSi over a localhost WebSocket",
    )
    .version(DAEMON_VERSION, "-V, --version")
    .showHelpAfterError()
    .exitOverride();
  for (const [, load] of commandsFor(argv)) for (const register of await load()) register(program);
  return program;
}

export async function main(argv: string[]): Promise<void> {
  const program = await buildProgram(argv);
  try {
    await program.parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version exit 0; usage errors were already printed by commander.
      process.exit(error.exitCode === 0 ? EXIT.ok : EXIT.usage);
    }
    fail((error as Error).message, EXIT.failure);
  }
}

void main(process.argv);
