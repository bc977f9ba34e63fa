/**
 * `npm run bench`: runs every bench in this folder, one after the other (they measure ratios side
 * by side, so they must not compete with each other for the two cores), the card benches both in
 * process and through the real pcscd. Each bench prints its table and reports its figures
 * (bench/lib/results.ts); this writes them all to bench/results/latest.json with the machine, the
 * Node version and the commit, then prints the summary against the targets (bench/lib/targets.ts).
 * `npm run bench:check` judges that file. `npm run bench -- ping vitale` runs only those.
 *
 * latest.json is not committed (.gitignore): figures belong to the machine that measured them, and a
 * file every run rewrites would only make merge conflicts; the closing notes quote the figures with
 * their machine.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { Figure } from "./lib/results.ts";
import { summary } from "./check.ts";

const here = fileURLToPath(new URL(".", import.meta.url));
export const LATEST = path.join(here, "results", "latest.json");
/** Benches run a second time with these arguments. */
const VARIANTS: Record<string, string[][]> = { "cps.ts": [[], ["--pcscd"]], "vitale.ts": [[], ["--pcscd"]] };
/** Not benches (run, check, a child), or not for every run (the soak takes 30 minutes: npm run soak). */
const SKIPPED = ["run.ts", "check.ts", "echo-server.ts", "soak.ts"];

function git(args: string[]): string {
  try {
    return execFileSync("git", args, { cwd: here, encoding: "utf8" }).trim();
  } catch {
    return "unknown";
  }
}

function machine(): Record<string, unknown> {
  const cpus = os.cpus();
  return {
    cpuModel: cpus[0]?.model ?? "unknown",
    cpus: cpus.length,
    memoryGiB: Number((os.totalmem() / 1024 ** 3).toFixed(1)),
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    loadAverageAtStart: os.loadavg().map((load) => Number(load.toFixed(2))),
  };
}

const only = process.argv.slice(2);
const benches = readdirSync(here)
  .filter((name) => name.endsWith(".ts") && !SKIPPED.includes(name))
  .filter((name) => only.length === 0 || only.some((wanted) => name.startsWith(wanted)))
  .sort();
const scratch = mkdtempSync(path.join(os.tmpdir(), "passerelle-bench-results-"));
const resultsFile = path.join(scratch, "figures.jsonl");
writeFileSync(resultsFile, "");
const startedAt = new Date().toISOString();
const about = machine();
const failed: string[] = [];
for (const bench of benches) {
  for (const args of VARIANTS[bench] ?? [[]]) {
    const name = [`bench/${bench}`, ...args].join(" ");
    console.log(`\n== ${name}`);
    const result = spawnSync(process.execPath, ["--import", "tsx", `${here}${bench}`, ...args], {
      stdio: "inherit",
      env: { ...process.env, BENCH_RESULTS_FILE: resultsFile },
    });
    if (result.status !== 0) failed.push(name);
  }
}
const figures = readFileSync(resultsFile, "utf8")
  .split("\n")
  .filter((line) => line !== "")
  .map((line) => JSON.parse(line) as Figure);
rmSync(scratch, { recursive: true, force: true });
const latest = {
  startedAt,
  finishedAt: new Date().toISOString(),
  machine: { ...about, loadAverageAtEnd: os.loadavg().map((load) => Number(load.toFixed(2))) },
  node: process.version,
  commit: git(["rev-parse", "HEAD"]),
  uncommittedChanges: git(["status", "--porcelain"]) !== "",
  benches: benches.flatMap((bench) => (VARIANTS[bench] ?? [[]]).map((args) => [bench, ...args].join(" "))),
  failedBenches: failed,
  figures,
};
mkdirSync(path.dirname(LATEST), { recursive: true });
writeFileSync(LATEST, `${JSON.stringify(latest, null, 2)}\n`);
console.log(`\n== figures written to ${path.relative(process.cwd(), LATEST)}`);
console.log(summary(latest).text);
process.exit(failed.length === 0 ? 0 : 1);
