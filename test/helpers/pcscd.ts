/**
 * The real pcscd for system tests, shared safely between test files and engineers.
 *
 *   const lab = await acquirePcscd();   // waits for the lab lock, starts pcscd if needed
 *   ... VpcdBridge on slot 0/1, createReaders({ backend: createSystemBackend() }) ...
 *   await lab.restart();                // kill pcscd and start it again (restart tests)
 *   await lab.release();                // leaves pcscd as it found it, frees the lock
 *
 * pcscd is one per machine and vpcd has two slots (TCP 35963/35964): every test that uses them
 * holds the lock file for its whole duration. A lock left by a dead process is taken over.
 * Needs root (pcscd writes /run/pcscd), like CI.
 */
import { spawn } from "node:child_process";
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createConnection } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

export const PCSCD_SOCKET = "/run/pcscd/pcscd.comm";
export const PCSCD_PID_FILE = "/run/pcscd/pcscd.pid";
export const LAB_LOCK_FILE = path.join(tmpdir(), "passerelle-pcscd-lab.lock");
export const PCSCD_LOG = path.join(tmpdir(), "passerelle-pcscd-test.log");
/** Written by scripts/pcscd.sh when it started pcscd; its `stop-if-ours` stops that pid at the end. */
const SCRIPT_OURS_FILE = path.join(tmpdir(), "passerelle-pcscd.ours");
/** vpcd slot 0 port (0x8C7B), as in /etc/reader.conf.d/vpcd. */
const VPCD_PORT_HEX = "8C7B";
const POLL_MS = 50;
/** How long a test waits for another test file to finish with pcscd. */
export const LOCK_TIMEOUT_MS = 300_000;
const START_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 5_000;

export interface PcscdLab {
  /** pid of the running pcscd, if any. */
  pid(): number | undefined;
  ensureRunning(): Promise<void>;
  /** Stops pcscd (SIGTERM, or SIGKILL to play a crash) and waits until it is gone. */
  stop(signal?: "SIGTERM" | "SIGKILL"): Promise<void>;
  restart(signal?: "SIGTERM" | "SIGKILL"): Promise<void>;
  /** Restores the state found at acquire (running or not) and frees the lock. */
  release(): Promise<void>;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

function readPid(file: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(file, "utf8").trim(), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

export function runningPcscdPid(): number | undefined {
  const pid = readPid(PCSCD_PID_FILE);
  return pid !== undefined && alive(pid) ? pid : undefined;
}

function vpcdListening(): boolean {
  if (!existsSync("/etc/reader.conf.d/vpcd")) return true;
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text: string;
    try {
      text = readFileSync(table, "utf8");
    } catch {
      continue;
    }
    for (const line of text.split("\n")) {
      const fields = line.trim().split(/\s+/);
      if (fields[1]?.toUpperCase().endsWith(`:${VPCD_PORT_HEX}`) && fields[3] === "0A") return true;
    }
  }
  return false;
}

function socketAnswers(): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection(PCSCD_SOCKET);
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

async function until(
  condition: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(POLL_MS);
  }
}

async function startPcscd(): Promise<void> {
  if (runningPcscdPid() !== undefined) return;
  mkdirSync("/run/pcscd", { recursive: true });
  // A crashed pcscd leaves its socket and pid file behind; the new one refuses to start over them.
  rmSync(PCSCD_SOCKET, { force: true });
  rmSync(PCSCD_PID_FILE, { force: true });
  const log = openSync(PCSCD_LOG, "a");
  const child = spawn("pcscd", ["--foreground"], { detached: true, stdio: ["ignore", log, log] });
  closeSync(log);
  child.unref();
  // A restart test replaced the pcscd that scripts/pcscd.sh started: hand the new one over, so
  // that `scripts/pcscd.sh stop-if-ours` still stops it at the end of the run.
  const scriptPid = readPid(SCRIPT_OURS_FILE);
  if (scriptPid !== undefined && !alive(scriptPid) && child.pid !== undefined) {
    writeFileSync(SCRIPT_OURS_FILE, `${child.pid}\n`);
  }
  await until(
    async () => existsSync(PCSCD_SOCKET) && vpcdListening() && (await socketAnswers()),
    START_TIMEOUT_MS,
    `pcscd (log: ${PCSCD_LOG})`,
  );
}

async function stopPcscd(signal: "SIGTERM" | "SIGKILL"): Promise<void> {
  const pid = runningPcscdPid();
  if (pid === undefined) return;
  process.kill(pid, signal);
  try {
    await until(() => !alive(pid), STOP_TIMEOUT_MS, `pcscd ${pid} to exit`);
  } catch {
    process.kill(pid, "SIGKILL");
    await until(() => !alive(pid), STOP_TIMEOUT_MS, `pcscd ${pid} to exit after SIGKILL`);
  }
}

async function takeLock(timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const fd = openSync(LAB_LOCK_FILE, "wx");
      writeFileSync(fd, `${process.pid}\n`);
      closeSync(fd);
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
    const holder = readPid(LAB_LOCK_FILE);
    if (holder !== undefined && !alive(holder)) {
      rmSync(LAB_LOCK_FILE, { force: true });
      continue;
    }
    if (Date.now() > deadline) throw new Error(`pcscd lab lock ${LAB_LOCK_FILE} held by pid ${holder}`);
    await sleep(POLL_MS * 2);
  }
}

function dropLock(): void {
  if (readPid(LAB_LOCK_FILE) === process.pid) rmSync(LAB_LOCK_FILE, { force: true });
}

/** Waits for the lab lock, then makes sure pcscd runs. */
export async function acquirePcscd(options: { timeoutMs?: number } = {}): Promise<PcscdLab> {
  await takeLock(options.timeoutMs ?? LOCK_TIMEOUT_MS);
  const exitHook = (): void => dropLock();
  process.once("exit", exitHook);
  const wasRunning = runningPcscdPid() !== undefined;
  try {
    await startPcscd();
  } catch (error) {
    dropLock();
    throw error;
  }
  let released = false;
  return {
    pid: runningPcscdPid,
    ensureRunning: startPcscd,
    stop: (signal = "SIGTERM") => stopPcscd(signal),
    async restart(signal = "SIGTERM") {
      await stopPcscd(signal);
      await startPcscd();
    },
    async release() {
      if (released) return;
      released = true;
      try {
        if (wasRunning) await startPcscd();
        else await stopPcscd("SIGTERM");
      } finally {
        process.off("exit", exitHook);
        dropLock();
      }
    },
  };
}
