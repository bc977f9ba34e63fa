/**
 * bench/insi.ts runs the INSi simulator in a child process: a bench that fails or is interrupted
 * must not leave that child running (it holds a port and a core of a shared machine). Interrupted
 * here with SIGTERM once its simulator child exists: the child must be gone soon after the bench.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { REPO_ROOT } from "../helpers/daemon.ts";

/** Bound on each wait below (a cold tsx start of two processes on a loaded 2-core machine). */
const WAIT_MS = 60_000;

function childrenOf(pid: number): number[] {
  try {
    return readdirSync(`/proc/${pid}/task`).flatMap((tid) =>
      readFileSync(`/proc/${pid}/task/${tid}/children`, "utf8")
        .trim()
        .split(/\s+/)
        .filter((s) => s !== "")
        .map(Number),
    );
  } catch {
    return [];
  }
}

function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8");
  } catch {
    return "";
  }
}

/** Whether `pid` has a TCP socket in this state (its fds' socket inodes among /proc/net/tcp*'s rows). */
function hasSocket(pid: number, state: "ESTABLISHED"): boolean {
  const code = { ESTABLISHED: "01" }[state];
  let inodes: Set<string>;
  try {
    inodes = new Set(
      readdirSync(`/proc/${pid}/fd`).flatMap((fd) => {
        try {
          return [/^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`))?.[1] ?? ""];
        } catch {
          return [];
        }
      }),
    );
  } catch {
    return false;
  }
  return ["/proc/net/tcp", "/proc/net/tcp6"].some((table) =>
    readFileSync(table, "utf8")
      .split("\n")
      .some((line) => {
        const fields = line.trim().split(/\s+/);
        return fields[3] === code && inodes.has(fields[9] ?? "-");
      }),
  );
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function until<T>(probe: () => T | undefined, what: string): Promise<T> {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

test(
  "bench/insi.ts interrupted: its INSi simulator child does not outlive it",
  { skip: process.platform !== "linux" },
  async () => {
    const bench = spawn(process.execPath, ["--import", "tsx", path.join("bench", "insi.ts")], {
      cwd: REPO_ROOT,
      env: { ...process.env, BENCH_ROUNDS: "100000" },
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    bench.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    const exited = new Promise<void>((resolve) => bench.once("exit", () => resolve()));
    let simulator = 0;
    try {
      // tsx has its own child (esbuild's service): the simulator is the one running insi-simulator.ts.
      simulator = await until(
        () => childrenOf(bench.pid ?? 0).find((pid) => commandLine(pid).includes("insi-simulator")),
        "the bench's simulator child",
      );
      // Interrupted while it measures: the bench is connected to its simulator (so the simulator has
      // told it its URL). Killed before that, an orphan would die of EPIPE writing that line.
      await until(
        () => (hasSocket(simulator, "ESTABLISHED") ? true : undefined),
        "the bench to call its simulator",
      );
      bench.kill("SIGTERM");
      await exited;
      await until(
        () => (alive(simulator) ? undefined : true),
        `simulator pid ${simulator} to end:\n${stderr}`,
      );
    } finally {
      if (bench.exitCode === null && bench.signalCode === null) bench.kill("SIGKILL");
      if (simulator !== 0 && alive(simulator)) process.kill(simulator, "SIGKILL");
    }
    assert.equal(bench.exitCode, 143, `the bench says it was interrupted:\n${stderr}`);
  },
);
