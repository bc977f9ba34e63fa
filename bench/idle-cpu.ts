/**
 * Idle CPU: the daemon's Readers with two vpcd readers holding a card each (no timers polling:
 * the ReaderMonitor sleeps in SCardGetStatusChange) vs an idle Node process, measured side by
 * side over the same window in two child processes. The cards' emulators run in this process,
 * so pcscd's presence polling of vpcd costs this process, not the measured one.
 * Target (issue 3): ≤ 50 ms of CPU over 60 idle seconds. BENCH_IDLE_SECONDS sets the window
 * (default 20 s; the figure is also given per 60 s). The children run as plain `node` on an
 * esbuild bundle: the tsx loader alone burns ~7 ms of CPU per idle second.
 */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import path from "node:path";
import { build } from "esbuild";
import { acquirePcscd } from "../test/helpers/pcscd.ts";
import { VpcdBridge } from "../daemon/src/simulator/vpcd-bridge.ts";
import { createEchoCard } from "../daemon/src/simulator/echo-card.ts";
import { report } from "./lib/results.ts";

const WINDOW_S = Number(process.env["BENCH_IDLE_SECONDS"] ?? 20);
const ROOT = fileURLToPath(new URL("../", import.meta.url));
/** Inside the repo so the bundle resolves koffi (kept external: it loads a native module). */
const BUNDLE = path.join(ROOT, "node_modules/.cache/passerelle-bench/idle-readers-child.mjs");

function child(
  mode: "readers" | "baseline",
): Promise<{ cpuMs: number; rssBytes: number; listed?: unknown; events?: number }> {
  return new Promise((resolve, reject) => {
    const process_ = spawn(process.execPath, [BUNDLE, mode, String(WINDOW_S)], {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    process_.stdout.setEncoding("utf8").on("data", (chunk: string) => (out += chunk));
    process_.on("exit", (code) =>
      code === 0
        ? resolve(JSON.parse(out.trim().split("\n").at(-1) ?? "{}"))
        : reject(new Error(`${mode} exited ${code}`)),
    );
  });
}

await build({
  entryPoints: [path.join(ROOT, "bench/lib/idle-readers-child.ts")],
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  external: ["koffi"],
  outfile: BUNDLE,
  logLevel: "warning",
});
const lab = await acquirePcscd();
const bridges = [0, 1].map((slot) => new VpcdBridge({ emulator: createEchoCard(), slot }));
try {
  await Promise.all(bridges.map((bridge) => bridge.start()));
  await new Promise((resolve) => setTimeout(resolve, 1500)); // pcscd notices both cards
  const [daemon, baseline] = await Promise.all([child("readers"), child("baseline")]);
  const per60 = (ms: number) => (ms * 60) / WINDOW_S;
  console.log(
    `idle CPU over ${WINDOW_S} s, two vpcd readers with a card each (${JSON.stringify(daemon.listed)})`,
  );
  console.log(
    `Readers process ${daemon.cpuMs.toFixed(1)} ms (${per60(daemon.cpuMs).toFixed(1)} ms / 60 s, ${daemon.events} events) vs idle Node ${baseline.cpuMs.toFixed(1)} ms (${per60(baseline.cpuMs).toFixed(1)} ms / 60 s)  ${per60(daemon.cpuMs) <= 50 ? "✓" : "✗"} target ≤ 50 ms / 60 s`,
  );
  const mib = (bytes: number) => bytes / (1024 * 1024);
  console.log(
    `idle RSS: Readers process ${mib(daemon.rssBytes).toFixed(1)} MiB vs idle Node ${mib(baseline.rssBytes).toFixed(1)} MiB`,
  );
  report(
    {
      id: "idle.cpu.per60s",
      value: per60(daemon.cpuMs),
      unit: "ms/60s",
      label: "idle CPU, Readers with two cards",
    },
    {
      id: "idle.cpu.baseline.per60s",
      value: per60(baseline.cpuMs),
      unit: "ms/60s",
      label: "idle CPU, bare Node",
    },
    {
      id: "idle.rss.readers",
      value: mib(daemon.rssBytes),
      unit: "MiB",
      label: "idle RSS, Readers with two cards",
    },
    { id: "idle.rss.baseline", value: mib(baseline.rssBytes), unit: "MiB", label: "idle RSS, bare Node" },
  );
} finally {
  await Promise.all(bridges.map((bridge) => bridge.close()));
  await lab.release();
}
