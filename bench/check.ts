/**
 * `npm run bench:check`: compares bench/results/latest.json (written by `npm run bench`) with the
 * targets (bench/lib/targets.ts) and exits 1 naming each failing row: a figure over its bound, or a
 * target with no figure (its bench failed or was not run). Not part of CI's verdict: a shared or
 * loaded machine moves the figures; the benches and their smoke test are.
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { Figure } from "./lib/results.ts";
import { TARGETS } from "./lib/targets.ts";

interface Latest {
  readonly machine?: Record<string, unknown>;
  readonly node?: string;
  readonly commit?: string;
  readonly figures: readonly Figure[];
}

const format = (figure: Figure): string =>
  `${figure.value.toFixed(figure.unit === "×" ? 2 : 1)}${figure.unit === "×" ? "×" : ` ${figure.unit}`}`;

/** The table of every figure (targets first), and the failing rows. */
export function summary(latest: Latest): { text: string; failing: string[] } {
  const failing: string[] = [];
  const rows: string[] = [];
  const byId = new Map(latest.figures.map((figure) => [figure.id, figure]));
  for (const [id, target] of Object.entries(TARGETS)) {
    const figure = byId.get(id);
    if (figure === undefined) {
      failing.push(`${id}: not measured (${target.what})`);
      rows.push(`✗ ${id.padEnd(30)} ${"—".padStart(12)}  target ≤ ${target.max}  not measured`);
      continue;
    }
    const ok = figure.value <= target.max;
    if (!ok) failing.push(`${id}: ${format(figure)} > ${target.max} (${target.what})`);
    rows.push(
      `${ok ? "✓" : "✗"} ${id.padEnd(30)} ${format(figure).padStart(12)}  target ≤ ${target.max}  ${figure.label}`,
    );
  }
  for (const figure of latest.figures) {
    if (TARGETS[figure.id] === undefined)
      rows.push(
        `  ${figure.id.padEnd(30)} ${format(figure).padStart(12)}  ${"".padEnd(12)}  ${figure.label}`,
      );
  }
  const head = `machine: ${JSON.stringify(latest.machine ?? {})}\nnode ${latest.node ?? "?"}, commit ${latest.commit ?? "?"}`;
  return { text: [head, ...rows].join("\n"), failing };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const file = path.join(path.dirname(fileURLToPath(import.meta.url)), "results", "latest.json");
  if (!existsSync(file)) {
    process.stderr.write(`bench:check: no ${file}: run npm run bench first\n`);
    process.exit(2);
  }
  const { text, failing } = summary(JSON.parse(readFileSync(file, "utf8")) as Latest);
  console.log(text);
  if (failing.length > 0) {
    console.log(
      `\nbench:check: ${failing.length} target(s) missed:\n${failing.map((row) => `  ${row}`).join("\n")}`,
    );
    process.exit(1);
  }
  console.log("\nbench:check: every target met");
}
