/**
 * `passerelle insi conformance [--mode organisation|card|psc|all]`: runs the public CNDA scenarios
 * (simulator/insi/conformance.ts) with the real client against the INSi simulator, on this machine
 * only, and prints the pass table. Exit 0 when every scenario passes, 1 otherwise.
 */
import type { Command } from "commander";
import { conformanceTable, runConformance, type ConformanceMode } from "../simulator/insi/conformance.ts";

function insiCommand(program: Command): Command {
  return (
    program.commands.find((c) => c.name() === "insi") ?? program.command("insi").description("INSi tools")
  );
}

export function registerInsiConformance(program: Command): void {
  insiCommand(program)
    .command("conformance")
    .description("run the public CNDA scenarios against the INSi simulator and print a pass table")
    .option("--mode <mode>", "organisation, card, psc, or all", "all")
    .action(async (options: { mode: string }) => {
      const modes: ConformanceMode[] =
        options.mode === "all" ? ["organisation", "card", "psc"] : [options.mode as ConformanceMode];
      if (!modes.every((m) => m === "organisation" || m === "card" || m === "psc")) {
        process.stderr.write(`unknown mode ${options.mode}: organisation, card, psc or all\n`);
        process.exitCode = 2;
        return;
      }
      const rows = await runConformance(modes);
      process.stdout.write(`${conformanceTable(rows)}\n`);
      const failed = rows.filter((r) => !r.passed).length;
      process.stdout.write(`\n${rows.length - failed} passed, ${failed} failed\n`);
      process.exitCode = failed === 0 ? 0 : 1;
    });
}
