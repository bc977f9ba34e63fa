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
 * The run alternates, in four slices against the same daemon, the two ways a client may wait after
 * RATE_LIMITED (bench/lib/load.ts `BackoffPolicy`): "doubling", the flat 20 ms → 1 s back-off the
 * same for every client (what this generator did before), and "sdk", the SDK's: the daemon's
 * `retryAfterMs` plus jitter. Both are printed side by side; the figures reported under the
 * load.* ids are the SDK's, the former's under load.doubling.*.
 *
 *   npm run load -- [--seconds 30] [--clients 100] [--origins 10] [--churn-ms 2000]
 * (BENCH_LOAD_SECONDS, BENCH_LOAD_CLIENTS set the same for the bench smoke test).
 */
import { readFileSync } from "node:fs";
import os from "node:os";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { startDaemon, rssOf } from "../test/helpers/daemon.ts";
import { loadOrigins, runLoad, LOAD_METHODS, type BackoffPolicy, type LoadResult } from "./lib/load.ts";
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

/** Both back-off policies, interleaved in slices so that both meet the same machine load. */
const POLICIES: readonly BackoffPolicy[] = ["doubling", "sdk"];
const SLICES_PER_POLICY = 2;

type Pooled = Omit<LoadResult, "churns" | "connectFailures"> & { churns: number; connectFailures: number };

function pool(into: Pooled | undefined, result: LoadResult): Pooled {
  if (into === undefined) return { ...result, okLatencies: [...result.okLatencies] };
  const add = (a: Record<string, number>, b: Record<string, number>) => {
    for (const [key, n] of Object.entries(b)) a[key] = (a[key] ?? 0) + n;
    return a;
  };
  return {
    durationMs: into.durationMs + result.durationMs,
    calls: into.calls + result.calls,
    answered: into.answered + result.answered,
    unanswered: into.unanswered + result.unanswered,
    okLatencies: into.okLatencies.concat(result.okLatencies),
    latenciesByMethod: Object.fromEntries(
      LOAD_METHODS.map((m) => [m, into.latenciesByMethod[m].concat(result.latenciesByMethod[m])]),
    ) as LoadResult["latenciesByMethod"],
    errors: add({ ...into.errors }, result.errors),
    unexpected: add({ ...into.unexpected }, result.unexpected),
    churns: into.churns + result.churns,
    connectFailures: into.connectFailures + result.connectFailures,
  };
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
  // The generator's own event loop: a latency tail it causes itself is not the daemon's.
  const ownDelay = monitorEventLoopDelay({ resolution: 10 });
  ownDelay.enable();
  const pooled = new Map<BackoffPolicy, Pooled>();
  const sliceSeconds = seconds / (POLICIES.length * SLICES_PER_POLICY);
  for (let slice = 0; slice < SLICES_PER_POLICY; slice += 1) {
    for (const backoff of POLICIES) {
      const slicePart = await runLoad({
        url: daemon.url,
        origins,
        clients,
        seconds: sliceSeconds,
        selfOrigin: `http://localhost:${daemon.port}`,
        churnEveryMs,
        backoff,
      });
      pooled.set(backoff, pool(pooled.get(backoff), slicePart));
    }
  }
  const result = pooled.get("sdk") as Pooled;
  const before = pooled.get("doubling") as Pooled;
  ownDelay.disable();
  const cpuMs = cpuMsOf(pid) - cpuBefore;
  const rssAfter = rssOf(pid);
  const summary = (r: Pooled) => {
    const rateLimitedCalls = Object.entries(r.errors)
      .filter(([key]) => key.endsWith(" RATE_LIMITED"))
      .reduce((sum, [, n]) => sum + n, 0);
    return {
      p50: percentile(r.okLatencies, 50),
      p99: percentile(r.okLatencies, 99),
      throughput: r.answered / (r.durationMs / 1000),
      okThroughput: r.okLatencies.length / (r.durationMs / 1000),
      rateLimited: rateLimitedCalls,
      unexpected: Object.values(r.unexpected).reduce((sum, n) => sum + n, 0),
    };
  };
  const now = summary(result);
  const old = summary(before);
  const { p50, p99, throughput, okThroughput, rateLimited, unexpected } = now;

  console.log(
    `${clients} clients on ${origins.length} origins, ${seconds.toFixed(0)} s in ${POLICIES.length * SLICES_PER_POLICY} slices ` +
      `alternating the back-off after RATE_LIMITED (${POLICIES.join(", ")}, …), the same daemon; Vitale pulled and pushed back ` +
      `${result.churns + before.churns} times (every ${churnEveryMs} ms); load average ${load.toFixed(2)} at start`,
  );
  console.log(
    "  back-off after RATE_LIMITED       before: doubling 20 ms→1 s   now: retryAfterMs + jitter (SDK)",
  );
  const row = (label: string, a: string, b: string) =>
    console.log(`  ${label.padEnd(34)} ${a.padEnd(28)} ${b}`);
  row("calls answered /s", old.throughput.toFixed(0), throughput.toFixed(0));
  row("results /s", old.okThroughput.toFixed(0), okThroughput.toFixed(0));
  row("RATE_LIMITED answers", String(old.rateLimited), String(rateLimited));
  row("results p50", formatMs(old.p50), formatMs(p50));
  row("results p99", formatMs(old.p99), formatMs(p99));
  row("p99/p50 (target ≤ 10×)", `${(old.p99 / old.p50).toFixed(2)}×`, `${(p99 / p50).toFixed(2)}×`);
  for (const method of LOAD_METHODS) {
    const o = before.latenciesByMethod[method];
    const n = result.latenciesByMethod[method];
    row(
      `  ${method} p50 / p99`,
      `${formatMs(percentile(o, 50))} / ${formatMs(percentile(o, 99))}`,
      `${formatMs(percentile(n, 50))} / ${formatMs(percentile(n, 99))}`,
    );
  }
  row("unexpected (target 0)", String(old.unexpected), String(unexpected));
  row("unanswered", String(before.unanswered), String(result.unanswered));
  console.log(
    `  the generator's own event loop delay: p50 ${(ownDelay.percentile(50) / 1e6).toFixed(1)} ms, p99 ${(ownDelay.percentile(99) / 1e6).toFixed(1)} ms, max ${(ownDelay.max / 1e6).toFixed(1)} ms`,
  );
  for (const [name, r] of [
    ["doubling", before],
    ["sdk", result],
  ] as const) {
    console.log(`  errors by method and reason (${name}):`);
    for (const [key, n] of Object.entries(r.errors).sort()) console.log(`    ${key.padEnd(28)} ${n}`);
    if (Object.keys(r.errors).length === 0) console.log("    none");
    const u = Object.values(r.unexpected).reduce((sum, n) => sum + n, 0);
    if (u > 0) console.log(`    unexpected: ${JSON.stringify(r.unexpected)}`);
  }
  console.log(
    `  daemon: RSS ${(rssBefore / 1048576).toFixed(1)} → ${(rssAfter / 1048576).toFixed(1)} MiB, ` +
      `CPU ${(cpuMs / 1000).toFixed(1)} s over the whole run`,
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
    {
      id: "load.doubling.p99.over.p50",
      value: old.p99 / old.p50,
      unit: "×",
      label: "load, the former flat doubling back-off side by side: p99 / p50",
    },
    {
      id: "load.doubling.rate_limited",
      value: old.rateLimited,
      unit: "calls",
      label: "load, the former flat doubling back-off side by side: RATE_LIMITED answers",
    },
  );
  if (result.connectFailures + before.connectFailures > 0) process.exitCode = 1;
} finally {
  await daemon.stop();
}
