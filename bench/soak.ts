/**
 * Soak (`npm run soak`, not in CI nor in `npm run bench`): a real daemon process
 * (`passerelle start --simulate`, default limits) under 20 WebSocket clients on 4 origins calling
 * readers.list + vitale.read + cps.read in a loop (bench/lib/load.ts), the Vitale pulled out and
 * pushed back every 3 s, for 30 minutes by default. Every 10 s it samples the daemon's RSS, its open
 * file descriptors (handles) and the errors so far; it writes them as a table (Markdown) and a chart
 * (SVG) under bench/results/ (not committed), and fails (exit 1) if the RSS grew by more than 10 MiB
 * after the warm-up (low point of the last third vs the first third: the RSS is a saw), or if any
 * failure was not a documented one.
 *
 *   npm run soak -- [--minutes 30] [--clients 20] [--churn-ms 3000] [--sample-s 10]
 */
import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { rssOf, startDaemon } from "../test/helpers/daemon.ts";
import { loadOrigins, runLoad } from "./lib/load.ts";

const { values } = parseArgs({
  options: {
    minutes: { type: "string", default: "30" },
    clients: { type: "string", default: "20" },
    "churn-ms": { type: "string", default: "3000" },
    "sample-s": { type: "string", default: "10" },
  },
});
const minutes = Number(values.minutes);
const clients = Number(values.clients);
const sampleMs = Number(values["sample-s"]) * 1000;
/** Growth allowed after the warm-up (issue 14). */
const MAX_GROWTH_MIB = 10;
/** The warm-up: JIT, caches and pools fill; 2 minutes, or a fifth of a shorter run. */
const warmUpMs = Math.min(120_000, (minutes * 60_000) / 5);

interface Sample {
  readonly seconds: number;
  readonly rssMiB: number;
  readonly handles: number;
  readonly calls: number;
  readonly errors: number;
  readonly unexpected: number;
  readonly load1: number;
}

const handlesOf = (pid: number): number => readdirSync(`/proc/${pid}/fd`).length;

function chart(samples: Sample[], warmUpSeconds: number): string {
  const width = 800;
  const height = 360;
  const left = 60;
  const right = 60;
  const top = 30;
  const bottom = 40;
  const maxT = Math.max(1, ...samples.map((s) => s.seconds));
  const rss = samples.map((s) => s.rssMiB);
  const lo = Math.floor(Math.min(...rss) - 5);
  const hi = Math.ceil(Math.max(...rss) + 5);
  const maxHandles = Math.max(10, ...samples.map((s) => s.handles)) * 1.2;
  const x = (t: number) => left + ((width - left - right) * t) / maxT;
  const yRss = (v: number) => top + (height - top - bottom) * (1 - (v - lo) / (hi - lo));
  const yHandles = (v: number) => top + (height - top - bottom) * (1 - v / maxHandles);
  const line = (points: string, color: string) =>
    `<polyline fill="none" stroke="${color}" stroke-width="2" points="${points}"/>`;
  const errorsMarks = samples
    .filter((s, i) => i > 0 && s.unexpected > (samples[i - 1]?.unexpected ?? 0))
    .map((s) => `<circle cx="${x(s.seconds)}" cy="${top + 8}" r="4" fill="#c00"/>`)
    .join("");
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">
<rect width="100%" height="100%" fill="#fff"/>
<text x="${left}" y="18">Passerelle soak: daemon RSS (MiB, blue) and open handles (orange) over ${Math.round(maxT)} s; red dots: undocumented failures</text>
<rect x="${left}" y="${top}" width="${x(warmUpSeconds) - left}" height="${height - top - bottom}" fill="#eee"/>
<text x="${left + 4}" y="${height - bottom - 6}" fill="#777">warm-up</text>
<line x1="${left}" y1="${height - bottom}" x2="${width - right}" y2="${height - bottom}" stroke="#000"/>
<line x1="${left}" y1="${top}" x2="${left}" y2="${height - bottom}" stroke="#000"/>
<text x="${left - 8}" y="${yRss(hi) + 4}" text-anchor="end">${hi}</text>
<text x="${left - 8}" y="${yRss(lo) + 4}" text-anchor="end">${lo}</text>
<text x="${width - right + 8}" y="${yHandles(maxHandles) + 4}">${Math.round(maxHandles)}</text>
<text x="${width - right + 8}" y="${yHandles(0) + 4}">0</text>
<text x="${width - right}" y="${height - 12}" text-anchor="end">${Math.round(maxT)} s</text>
${line(samples.map((s) => `${x(s.seconds).toFixed(1)},${yRss(s.rssMiB).toFixed(1)}`).join(" "), "#1f77b4")}
${line(samples.map((s) => `${x(s.seconds).toFixed(1)},${yHandles(s.handles).toFixed(1)}`).join(" "), "#ff7f0e")}
${errorsMarks}
</svg>
`;
}

const origins = loadOrigins(4);
const daemon = await startDaemon({
  plaintext: true,
  args: ["--simulate", "--log-level", "error", ...origins.flatMap((origin) => ["--allow-origin", origin])],
});
const pid = daemon.child.pid ?? 0;
const samples: Sample[] = [];
const startedAt = new Date();
let nextSampleAt = 0;
const sample = (seconds: number, progress: { calls: number; errors: number; unexpected: number }) => {
  samples.push({
    seconds,
    rssMiB: rssOf(pid) / 1048576,
    handles: handlesOf(pid),
    calls: progress.calls,
    errors: progress.errors,
    unexpected: progress.unexpected,
    load1: os.loadavg()[0] ?? 0,
  });
  const last = samples.at(-1)!;
  console.log(
    `${String(Math.round(seconds)).padStart(5)} s  RSS ${last.rssMiB.toFixed(1)} MiB  handles ${last.handles}  ` +
      `calls ${last.calls}  errors ${last.errors}  undocumented ${last.unexpected}  load ${last.load1.toFixed(2)}`,
  );
};
let result;
try {
  sample(0, { calls: 0, errors: 0, unexpected: 0 });
  nextSampleAt = sampleMs;
  result = await runLoad({
    url: daemon.url,
    origins,
    clients,
    seconds: minutes * 60,
    selfOrigin: `http://localhost:${daemon.port}`,
    churnEveryMs: Number(values["churn-ms"]),
    onTick: (progress) => {
      if (progress.elapsedMs >= nextSampleAt) {
        nextSampleAt += sampleMs;
        sample(progress.elapsedMs / 1000, progress);
      }
    },
  });
} finally {
  await daemon.stop();
}

const warmUpSeconds = warmUpMs / 1000;
const afterWarmUp = samples.filter((s) => s.seconds >= warmUpSeconds);
// The RSS of a Node process is a saw (garbage collections give pages back in steps): a leak shows in
// its low points rising, so compare the lowest sample of the first third after the warm-up with the
// lowest of the last third.
const third = Math.max(1, Math.floor(afterWarmUp.length / 3));
const atWarmUp = Math.min(...afterWarmUp.slice(0, third).map((s) => s.rssMiB));
const atEnd = Math.min(...afterWarmUp.slice(-third).map((s) => s.rssMiB));
const growth = atEnd - atWarmUp;
const handlesGrowth = (afterWarmUp.at(-1)?.handles ?? 0) - (afterWarmUp[0]?.handles ?? 0);
const unexpected = Object.values(result.unexpected).reduce((a, b) => a + b, 0);
const okGrowth = growth <= MAX_GROWTH_MIB;

const here = fileURLToPath(new URL(".", import.meta.url));
const dir = path.join(here, "results");
mkdirSync(dir, { recursive: true });
const stamp = startedAt.toISOString().replace(/[:.]/g, "-");
const svgFile = path.join(dir, `soak-${stamp}.svg`);
const tableFile = path.join(dir, `soak-${stamp}.md`);
writeFileSync(svgFile, chart(samples, warmUpSeconds));
const summary = [
  `# Soak ${startedAt.toISOString()}`,
  "",
  `${clients} clients on ${origins.length} origins, ${minutes} min, Vitale pulled and pushed back ${result.churns} times; ` +
    `${os.cpus().length} × ${os.cpus()[0]?.model ?? "?"}, Node ${process.version}.`,
  "",
  `RSS low point in the first third after the ${warmUpSeconds} s warm-up ${atWarmUp.toFixed(1)} MiB, in the last third ${atEnd.toFixed(1)} MiB: ` +
    `growth ${growth.toFixed(1)} MiB (limit ${MAX_GROWTH_MIB}) ${okGrowth ? "✓" : "✗"}; handles ${handlesGrowth >= 0 ? "+" : ""}${handlesGrowth}; ` +
    `${result.calls} calls, errors ${JSON.stringify(result.errors)}, undocumented ${unexpected} ${JSON.stringify(result.unexpected)}.`,
  "",
  "| s | RSS MiB | handles | calls | errors | undocumented | load avg |",
  "|---:|---:|---:|---:|---:|---:|---:|",
  ...samples.map(
    (s) =>
      `| ${Math.round(s.seconds)} | ${s.rssMiB.toFixed(1)} | ${s.handles} | ${s.calls} | ${s.errors} | ${s.unexpected} | ${s.load1.toFixed(2)} |`,
  ),
  "",
].join("\n");
writeFileSync(tableFile, summary);
console.log(`\n${summary.split("\n").slice(0, 5).join("\n")}`);
console.log(
  `chart: ${path.relative(process.cwd(), svgFile)}\ntable: ${path.relative(process.cwd(), tableFile)}`,
);
process.exit(okGrowth && unexpected === 0 ? 0 : 1);
