/**
 * Benches report their figures here; `npm run bench` (bench/run.ts) collects them into
 * bench/results/latest.json and `npm run bench:check` (bench/check.ts) compares them with
 * bench/lib/targets.ts. A bench run on its own (no BENCH_RESULTS_FILE) only prints.
 */
import { appendFileSync } from "node:fs";

export interface Figure {
  /** Stable id, the key of bench/lib/targets.ts (e.g. "ping.p50.ratio"). */
  readonly id: string;
  readonly value: number;
  readonly unit: "×" | "ms" | "ms/60s" | "MiB" | "calls/s" | "calls";
  /** What was measured, in words, for the table. */
  readonly label: string;
}

export function report(...figures: Figure[]): void {
  const file = process.env["BENCH_RESULTS_FILE"];
  if (!file) return;
  for (const figure of figures) appendFileSync(file, `${JSON.stringify(figure)}\n`);
}
