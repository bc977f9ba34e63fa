/**
 * The commands of `passerelle`, each declared by its own module, loaded (`import()`, which the bundle
 * keeps in its one file but does not run at start) only when the command line needs it.
 */
import type { Command } from "commander";

type Register = (program: Command) => void;

/** The commands, in the order help lists them, each with the module(s) that declare it. */
const COMMANDS: ReadonlyArray<readonly [name: string, load: () => Promise<Register[]>]> = [
  ["start", () => import("./start.ts").then((m) => [m.registerStart])],
  ["status", () => import("./status.ts").then((m) => [m.registerStatus])],
  [
    "lab",
    () =>
      Promise.all([import("./lab-insert.ts"), import("./lab-insi.ts")]).then(([insert, insi]) => [
        insert.registerLabInsert,
        insi.registerLabInsi,
      ]),
  ],
  [
    "insi",
    () =>
      Promise.all([import("./insi-parse.ts"), import("./insi-conformance.ts")]).then(
        ([parse, conformance]) => [parse.registerInsiParse, conformance.registerInsiConformance],
      ),
  ],
  ["audit", () => import("./audit-tail.ts").then((m) => [m.registerAuditTail, m.registerAuditPrune])],
  ["trust", () => import("./trust.ts").then((m) => [m.registerTrust])],
  ["access", () => import("./access.ts").then((m) => [m.registerAccess])],
  ["doctor", () => import("./doctor.ts").then((m) => [m.registerDoctor])],
  ["service", () => import("./service.ts").then((m) => [m.registerService])],
  ["version", () => import("./version.ts").then((m) => [m.registerVersion])],
];

/** The commands the command line needs: the one it names, none for --version alone, else all. */
export function commandsFor(argv: string[]): typeof COMMANDS {
  const first = argv[2];
  const named = COMMANDS.filter(([name]) => name === first);
  if (named.length > 0) return named;
  if (first === "-V" || first === "--version") return [];
  return COMMANDS;
}
