/**
 * Load (`npm run load`, also run by `npm run bench`): 100 WebSocket clients on 10 origins against a
 * real daemon process (`passerelle start --simulate`, its default limits), each calling
 * readers.list + vitale.read + cps.read in a loop for 30 s, while the daemon's own page pulls the
 * Vitale out and pushes it back every 2 s (so that reads keep going cold). Prints the throughput,
 * p50/p99 of the calls answered with a result, the errors by method and reason, and the daemon's
 * RSS and CPU; reports them to bench/results/latest.json. Targets (issue 14): p99 ≤ 10× p50, and no
 * failure other than the documented ones (RATE_LIMITED; NO_CARD/CARD_REMOVED/WRONG_CARD of a vitale.read the
 * churn caught: bench/lib/load.ts decides). Not a test: test/faults/load.test.ts is its short CI
 * variant, asserting correctness only.
 *
 *   npm run load -- [--seconds 30] [--clients 100] [--origins 10] [--churn-ms 2000]
 * (BENCH_LOAD_SECONDS, BENCH_LOAD_CLIENTS set the same for the bench smoke test).
 */
import { readFileSync } from "node:fs";
import os from "node:os";
import { parseArgs } from "node:util";
import { startDaemon, rssOf } from "../test/helpers/daemon.ts";
import { loadOrigins, runLoad, LOAD_METHODS } from "./lib/load.ts";
import { report } from "./lib/results.ts";
import { formatMs, percentile } from "./lib/stats.ts";

const { values } = parseArgs({
  options: {
    seconds: { type: "string", default: process.env["BENCH_LOAD_SECONDS"] ?? "30" },
    clients: { type: "string", default: process.env["BENCH_LOAD_CLIENTS"] ?? "100" },
    origins: { type: "string", default: "10" },
    "churn-ms": { type: "string", default: "2000" },
  },
});
const seconds = Number(values.seconds);
const clients = Number(values.clients);
const origins = loadOrigins(Number(values.origins));
const churnEveryMs = Number(values["churn-ms"]);

/** CPU time (user + system) of a process so far, ms (Linux /proc). */
function cpuMsOf(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
  const ticks = Number(fields[11]) + Number(fields[12]);
  return (ticks * 1000) / 100; // USER_HZ is 100 on Linux
}

const daemon = await startDaemon({
  plaintext: true,
  args: ["--simulate", "--log-level", "error", ...origins.flatMap((origin) => ["--allow-origin", origin])],
});
try {
  const pid = daemon.child.pid ?? 0;
  const rssBefore = rssOf(pid);
  const cpuBefore = cpuMsOf(pid);
  const load = os.loadavg()[0] ?? 0;
  const result = await runLoad({
    url: daemon.url,
    origins,
    clients,
    seconds,
    selfOrigin: `http://localhost:${daemon.port}`,
    churnEveryMs,
  });
  const cpuMs = cpuMsOf(pid) - cpuBefore;
  const rssAfter = rssOf(pid);
  const p50 = percentile(result.okLatencies, 50);
  const p99 = percentile(result.okLatencies, 99);
  const throughput = result.answered / (result.durationMs / 1000);
  const okThroughput = result.okLatencies.length / (result.durationMs / 1000);
  const rateLimited = Object.entries(result.errors)
    .filter(([key]) => key.endsWith(" RATE_LIMITED"))
    .reduce((sum, [, n]) => sum + n, 0);
  const unexpected = Object.values(result.unexpected).reduce((sum, n) => sum + n, 0);

  console.log(
    `${clients} clients on ${origins.length} origins, ${(result.durationMs / 1000).toFixed(1)} s, ` +
      `Vitale pulled and pushed back ${result.churns} times (every ${churnEveryMs} ms); load average ${load.toFixed(2)} at start`,
  );
  console.log(
    `  ${result.calls} calls, ${result.answered} answered (${throughput.toFixed(0)}/s), ` +
      `${result.okLatencies.length} with a result (${okThroughput.toFixed(0)}/s), ${result.unanswered} unanswered`,
  );
  console.log(
    `  results: p50 ${formatMs(p50)}, p99 ${formatMs(p99)} → p99/p50 ${(p99 / p50).toFixed(2)}×  (target ≤ 10×)`,
  );
  for (const method of LOAD_METHODS) {
    const samples = result.latenciesByMethod[method];
    console.log(
      `    ${method.padEnd(13)} ${String(samples.length).padStart(7)} results  p50 ${formatMs(percentile(samples, 50))}  p99 ${formatMs(percentile(samples, 99))}`,
    );
  }
  console.log("  errors by method and reason:");
  for (const [key, n] of Object.entries(result.errors).sort()) console.log(`    ${key.padEnd(28)} ${n}`);
  if (Object.keys(result.errors).length === 0) console.log("    none");
  console.log(
    `  unexpected (target 0): ${unexpected}${unexpected > 0 ? ` ${JSON.stringify(result.unexpected)}` : ""}`,
  );
  console.log(
    `  daemon: RSS ${(rssBefore / 1048576).toFixed(1)} → ${(rssAfter / 1048576).toFixed(1)} MiB, ` +
      `CPU ${(cpuMs / 1000).toFixed(1)} s over ${(result.durationMs / 1000).toFixed(1)} s`,
  );
  report(
    { id: "load.throughput", value: throughput, unit: "calls/s", label: "load: calls answered per second" },
    {
      id: "load.results.throughput",
      value: okThroughput,
      unit: "calls/s",
      label: "load: calls answered with a result per second",
    },
    { id: "load.p50.ms", value: p50, unit: "ms", label: "load: p50 of calls answered with a result" },
    { id: "load.p99.ms", value: p99, unit: "ms", label: "load: p99 of calls answered with a result" },
    { id: "load.p99.over.p50", value: p99 / p50, unit: "×", label: "load: p99 / p50" },
    {
      id: "load.rate_limited",
      value: rateLimited,
      unit: "calls",
      label: "load: RATE_LIMITED answers (documented)",
    },
    {
      id: "load.unexpected.errors",
      value: unexpected,
      unit: "calls",
      label: "load: failures other than the documented ones, and unanswered calls",
    },
    { id: "load.daemon.rss", value: rssAfter / 1048576, unit: "MiB", label: "load: daemon RSS at the end" },
  );
  if (result.connectFailures > 0) process.exitCode = 1;
} finally {
  await daemon.stop();
}
