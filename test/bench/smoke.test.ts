/**
 * Every bench still runs, on tiny round counts: the figures are not judged here (benches measure,
 * tests assert behaviour), but a bench that no longer starts or prints its comparison is caught.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { test } from "node:test";
import { REPO_ROOT } from "../helpers/daemon.ts";
import { summary } from "../../bench/check.ts";
import { TARGETS } from "../../bench/lib/targets.ts";

/** Each bench with the arguments and environment that make it quick, and a line it must print. */
const QUICK: Record<string, { args?: string[]; env?: Record<string, string>; prints: RegExp }> = {
  "apdu.ts": {
    env: { BENCH_BLOCKS: "2", BENCH_APDUS: "5" },
    prints: /CardSession vs bare koffi async Transmit p50: .* → [\d.]+×/,
  },
  "cps.ts": { args: ["5"], prints: /cold cps\.read: 25 APDUs/ },
  "cps4-pcscd.ts": { args: ["1"], prints: /cold read: ours \d+ APDUs/ },
  "idle-cpu.ts": { env: { BENCH_IDLE_SECONDS: "1" }, prints: /idle CPU over 1 s/ },
  "insert-event.ts": { env: { BENCH_ROUNDS: "2" }, prints: /WebSocket client card\.inserted − bare: p50/ },
  "insi.ts": {
    env: { BENCH_ROUNDS: "20", BENCH_SIGNATURES: "5" },
    prints: /build\+send\+parse p50: .* → [\d.]+×/,
  },
  "load.ts": {
    env: { BENCH_LOAD_SECONDS: "2", BENCH_LOAD_CLIENTS: "10" },
    // Both back-offs side by side: the former doubling one, then the SDK's.
    prints: /p99\/p50 \(target ≤ 10×\) +[\d.]+× +[\d.]+×/,
  },
  "packaged.ts": {
    env: { BENCH_ROUNDS: "1", BENCH_IDLE_SECONDS: "1" },
    prints: /packaged − bare node: \+|packaged: skipped/,
  },
  "ping.ts": { env: { BENCH_ROUNDS: "50" }, prints: /round trip p50: .* → [\d.]+×/ },
  "vitale.ts": { args: ["10"], prints: /ratio cold \/ bare +: [\d.]+/ },
};

test("the list above names every bench", () => {
  const benches = readdirSync(path.join(REPO_ROOT, "bench")).filter(
    (name) => name.endsWith(".ts") && !["run.ts", "check.ts", "echo-server.ts", "soak.ts"].includes(name),
  );
  assert.deepEqual(benches.sort(), Object.keys(QUICK).sort());
});

for (const [bench, quick] of Object.entries(QUICK)) {
  // Above the run's own bound below (a bench may first wait for the pcscd lab lock).
  test(`bench/${bench} runs and prints its comparison`, { timeout: 200_000 }, () => {
    const result = spawnSync(
      process.execPath,
      ["--import", "tsx", path.join("bench", bench), ...(quick.args ?? [])],
      {
        cwd: REPO_ROOT,
        encoding: "utf8",
        env: { ...process.env, ...quick.env },
        timeout: 180_000,
      },
    );
    assert.equal(result.status, 0, `${result.stdout}\n${result.stderr}`);
    assert.match(result.stdout, quick.prints);
  });
}

test("bench:check names the rows over their target and the targets nobody measured", () => {
  const ids = Object.keys(TARGETS);
  const [over, missing, ...met] = ids as [string, string, ...string[]];
  const figures = [
    { id: over, value: (TARGETS[over]?.max ?? 0) + 1, unit: "×" as const, label: "over" },
    ...met.map((id) => ({ id, value: TARGETS[id]?.max ?? 0, unit: "×" as const, label: "at the bound" })),
    { id: "extra.figure", value: 3, unit: "ms" as const, label: "reported, no target" },
  ];
  const { failing, text } = summary({ figures });
  assert.equal(failing.length, 2, failing.join("\n"));
  assert.match(failing[0] ?? "", new RegExp(`^${over.replace(/\./g, "\\.")}: `));
  assert.match(failing[1] ?? "", new RegExp(`^${missing.replace(/\./g, "\\.")}: not measured`));
  assert.match(text, /extra\.figure/);
});

test("a bench reports its figures to BENCH_RESULTS_FILE", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "passerelle-bench-report-"));
  try {
    const file = path.join(dir, "figures.jsonl");
    const result = spawnSync(process.execPath, ["--import", "tsx", path.join("bench", "vitale.ts"), "5"], {
      cwd: REPO_ROOT,
      encoding: "utf8",
      env: { ...process.env, BENCH_RESULTS_FILE: file },
      timeout: 120_000,
    });
    assert.equal(result.status, 0, result.stderr);
    const ids = readFileSync(file, "utf8")
      .trim()
      .split("\n")
      .map((line) => (JSON.parse(line) as { id: string }).id);
    assert.ok(ids.includes("vitale.cold.inprocess.ratio"), ids.join(", "));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
