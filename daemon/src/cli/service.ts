/**
 * `passerelle service install|uninstall|status [--config FILE] [--dry-run]`: start Passerelle at
 * this user's login (service/). One line per step on stdout, `<step>: <outcome>`. Exit codes:
 * install/uninstall 0, 1 when a step failed; status 0 when it starts at login, 1 when it does not.
 */
import type { Command } from "commander";
import {
  carryOut,
  describeStep,
  detectContext,
  planService,
  type ServiceAction,
  type ServiceOs,
} from "../service/index.ts";

const OSES: ServiceOs[] = ["linux", "win32", "darwin"];

export function registerService(program: Command): Command {
  const command = program.command("service").description("start Passerelle at this user's login (or stop)");
  for (const [action, description] of [
    [
      "install",
      "start at login: systemd user unit (Linux), HKCU Run value (Windows), LaunchAgent (macOS); idempotent",
    ],
    ["uninstall", "stop starting at login, and stop the running one where the OS manager runs it"],
    ["status", "tell whether Passerelle starts at this user's login (exit 0) or not (exit 1)"],
  ] as const) {
    command
      .command(action)
      .description(description)
      .option("--config <file>", "the configuration file the daemon is started with (PASSERELLE_CONFIG)")
      .option("--dry-run", "print the steps, run nothing")
      .option("--os <os>", "with --dry-run: the steps for another system (linux, win32, darwin)")
      .action((options: { config?: string; dryRun?: boolean; os?: string }) => {
        if (options.os !== undefined && (!options.dryRun || !OSES.includes(options.os as ServiceOs))) {
          process.stderr.write("passerelle: --os is linux, win32 or darwin, and only with --dry-run\n");
          process.exit(2);
        }
        if (!options.os && !OSES.includes(process.platform as ServiceOs)) {
          process.stderr.write(`passerelle: no login start for ${process.platform}\n`);
          process.exit(1);
        }
        const context = detectContext({
          configFile: options.config ?? null,
          ...(options.os ? { os: options.os as ServiceOs } : {}),
        });
        const steps = planService(action as ServiceAction, context);
        if (options.dryRun) {
          for (const step of steps) process.stdout.write(`${describeStep(step)}\n`);
          return;
        }
        const { lines, ok } = carryOut(action as ServiceAction, steps, context);
        for (const line of lines) process.stdout.write(`${line}\n`);
        if (!ok) process.exitCode = 1;
      });
  }
  return command;
}
