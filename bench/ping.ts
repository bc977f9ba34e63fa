/**
 * system.ping round trip through the daemon vs a bare `ws` echo server, measured in the same run,
 * interleaved (A, B, A, B…) so machine noise hits both alike. Both servers run as child processes
 * in plaintext; the client is this process. Prints p50 and p99 and their ratios.
 * Target (issue 2): ≤ 1.5× at p50 on loopback.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import WebSocket from "ws";
import { percentile, ratioLine } from "./lib/stats.ts";
import { report } from "./lib/results.ts";
import { rssOf } from "../test/helpers/daemon.ts";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const ORIGIN = "https://bench.example";
const ROUNDS = Number(process.env["BENCH_ROUNDS"] ?? 3000);
const WARMUP = 300;

function startChild(args: string[]): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ["--import", "tsx", ...args], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "ignore"],
  });
  return new Promise((resolve, reject) => {
    let out = "";
    child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
      out += chunk;
      const match = /listening (\S+)/.exec(out);
      if (match?.[1]) resolve({ child, url: match[1] });
    });
    child.on("exit", (code) => reject(new Error(`child exited ${code}`)));
  });
}

function connect(url: string, protocol?: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, protocol ? [protocol] : [], { origin: ORIGIN });
    socket.once("open", () => resolve(socket));
    socket.once("error", reject);
  });
}

function roundTrip(socket: WebSocket, text: string): Promise<number> {
  return new Promise((resolve) => {
    const start = performance.now();
    socket.once("message", () => resolve(performance.now() - start));
    socket.send(text);
  });
}

const dataDir = mkdtempSync(path.join(tmpdir(), "passerelle-bench-"));
const config = path.join(dataDir, "config.json");
// The rounds go faster than the default per-origin rate limit: lift it, the bench measures pings.
writeFileSync(config, JSON.stringify({ limits: { requestBurst: 100_000, requestsPerSecond: 10_000 } }));
const daemon = await startChild([
  "daemon/src/cli/main.ts",
  "start",
  "--plaintext",
  "--port",
  "0",
  "--data-dir",
  dataDir,
  "--config",
  config,
  "--allow-origin",
  ORIGIN,
  "--log-level",
  "error",
]);
const echo = await startChild(["bench/echo-server.ts"]);
try {
  const viaDaemon = await connect(daemon.url, "passerelle.v1");
  const viaEcho = await connect(echo.url);
  const daemonSamples: number[] = [];
  const echoSamples: number[] = [];
  for (let i = 0; i < WARMUP + ROUNDS; i++) {
    const frame = JSON.stringify({ jsonrpc: "2.0", id: i, method: "system.ping", params: {} });
    const a = await roundTrip(viaDaemon, frame);
    const b = await roundTrip(viaEcho, frame);
    if (i >= WARMUP) {
      daemonSamples.push(a);
      echoSamples.push(b);
    }
  }
  console.log(
    `system.ping through the daemon vs bare ws echo, ${ROUNDS} interleaved round trips (plaintext, loopback)`,
  );
  console.log(ratioLine("  round trip", daemonSamples, echoSamples, 50, 1.5));
  console.log(ratioLine("  round trip", daemonSamples, echoSamples, 99));
  report(
    {
      id: "ping.p50.ratio",
      value: percentile(daemonSamples, 50) / percentile(echoSamples, 50),
      unit: "×",
      label: "system.ping vs bare ws echo, p50",
    },
    { id: "ping.p50.daemon", value: percentile(daemonSamples, 50), unit: "ms", label: "system.ping p50" },
    {
      id: "ping.p99.ratio",
      value: percentile(daemonSamples, 99) / percentile(echoSamples, 99),
      unit: "×",
      label: "system.ping vs bare ws echo, p99",
    },
  );
  // Resident memory once the rounds are over and the processes idle: the whole daemon (a real
  // `passerelle start`, no card) beside the bare ws server, both under the same tsx loader.
  await new Promise((resolve) => setTimeout(resolve, 2000));
  const mib = (bytes: number) => bytes / (1024 * 1024);
  const daemonRss = mib(rssOf(daemon.child.pid ?? 0));
  const echoRss = mib(rssOf(echo.child.pid ?? 0));
  console.log(
    `  idle RSS after the rounds: daemon ${daemonRss.toFixed(1)} MiB, bare ws server ${echoRss.toFixed(1)} MiB`,
  );
  report(
    { id: "idle.rss.daemon", value: daemonRss, unit: "MiB", label: "RSS of an idle daemon (tsx, no card)" },
    { id: "idle.rss.bare-ws", value: echoRss, unit: "MiB", label: "RSS of an idle bare ws server (tsx)" },
  );
  viaDaemon.close();
  viaEcho.close();
} finally {
  daemon.child.kill("SIGTERM");
  echo.child.kill("SIGTERM");
}
