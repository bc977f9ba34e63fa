/**
 * Starts the real daemon as a child process (`passerelle start`), waits for its `listening <url>`
 * line, and stops it. System tests talk to it over real sockets and real TLS.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import WebSocket from "ws";

export const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));
export const CLI = path.join(REPO_ROOT, "daemon/src/cli/main.ts");

/** Runs the CLI with the given arguments (node + tsx, as `npm run passerelle` does). */
export function cliCommand(args: string[]): { command: string; args: string[] } {
  return { command: process.execPath, args: ["--import", "tsx", CLI, ...args] };
}

/** Bound on a daemon's start (a loaded 2-core machine: a cold tsx start takes ~5–15 s). */
const START_TIMEOUT_MS = 60_000;

export interface DaemonProcess {
  readonly url: string;
  readonly port: number;
  readonly dataDir: string;
  /** The local CA (TLS mode only). */
  readonly caPem: string | undefined;
  readonly child: ChildProcess;
  /** Everything the daemon wrote on stderr (its console log). */
  stderr(): string;
  /** SIGTERM, then wait for the exit; returns the exit code. */
  stop(): Promise<number | null>;
}

export interface StartOptions {
  args?: string[];
  plaintext?: boolean;
  dataDir?: string;
  port?: number;
  env?: NodeJS.ProcessEnv;
  /**
   * Pairing on (the product's default): any https origin may connect and ask on the consent page.
   * Default false here: most system tests are about the allowlist and the upgrade gate, where an
   * origin that is not listed must be refused with 403 (what `pairing.enabled: false` does).
   */
  pairing?: boolean;
}

export async function startDaemon(options: StartOptions = {}): Promise<DaemonProcess> {
  const ownDataDir = options.dataDir === undefined;
  const dataDir = options.dataDir ?? mkdtempSync(path.join(tmpdir(), "passerelle-test-"));
  const args = ["start", "--port", String(options.port ?? 0), "--data-dir", dataDir, ...(options.args ?? [])];
  if (options.plaintext) args.push("--plaintext");
  // Never read the machine's own config file: each test daemon gets an empty one of its own.
  const configFile = path.join(dataDir, "test-config.json");
  if (!existsSync(configFile))
    writeFileSync(
      configFile,
      JSON.stringify({ openPinPage: false, pairing: { enabled: options.pairing ?? false } }),
    );
  const { command, args: argv } = cliCommand(args);
  const child = spawn(command, argv, {
    cwd: REPO_ROOT,
    env: { ...process.env, PASSERELLE_CONFIG: configFile, ...options.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  const url = await new Promise<string>((resolve, reject) => {
    let stdout = "";
    const timer = setTimeout(() => {
      // A daemon that is merely slow would otherwise start later, unowned, and keep the test file's
      // process (and so the whole run) alive.
      child.kill("SIGKILL");
      reject(new Error(`daemon did not start in ${START_TIMEOUT_MS / 1000} s:\n${stderr}`));
    }, START_TIMEOUT_MS);
    child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
      stdout += chunk;
      const match = /^listening (\S+)$/m.exec(stdout);
      if (match?.[1]) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`daemon exited with ${code} before listening:\n${stderr}`));
    });
  });
  const port = Number(new URL(url).port);
  const caPem = options.plaintext
    ? undefined
    : readFileSync(path.join(dataDir, "tls", "passerelle-local-ca.pem"), "utf8");
  return {
    url,
    port,
    dataDir,
    caPem,
    child,
    stderr: () => stderr,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve(child.exitCode);
        child.once("exit", (code) => {
          if (ownDataDir && !process.env["KEEP_TEST_DATA"]) rmSync(dataDir, { recursive: true, force: true });
          resolve(code);
        });
        child.kill("SIGTERM");
      }),
  };
}

export interface OpenOptions {
  origin?: string | null;
  host?: string;
  protocol?: string | null;
}

/** Opens a WebSocket to the daemon with chosen headers; resolves with the socket or the HTTP refusal. */
export function openSocket(
  daemon: Pick<DaemonProcess, "url" | "caPem">,
  options: OpenOptions = {},
): Promise<{ socket: WebSocket } | { refused: number }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = {};
    const origin = options.origin === undefined ? "https://ehr.example.fr" : options.origin;
    if (origin !== null) headers["Origin"] = origin;
    if (options.host) headers["Host"] = options.host;
    const protocol = options.protocol === undefined ? "passerelle.v1" : options.protocol;
    const socket = new WebSocket(daemon.url, protocol === null ? [] : [protocol], {
      headers,
      ...(daemon.caPem ? { ca: daemon.caPem } : {}),
    });
    socket.once("open", () => resolve({ socket }));
    socket.once("unexpected-response", (_request, response) => {
      resolve({ refused: response.statusCode ?? 0 });
      socket.terminate();
    });
    socket.once("error", (error) => reject(error));
  });
}

/** A small JSON-RPC helper over an open socket: sends, waits for the response with that id. */
export class RpcPeer {
  readonly socket: WebSocket;
  readonly notifications: Array<{ method: string; params: unknown }> = [];
  private readonly waiting = new Map<unknown, (message: Record<string, unknown>) => void>();
  /** Responses with `id: null` (parse errors, invalid requests), in arrival order. */
  private readonly orphans: Array<Record<string, unknown>> = [];
  private orphanWaiter: ((message: Record<string, unknown>) => void) | null = null;
  private nextId = 1;

  constructor(socket: WebSocket) {
    this.socket = socket;
    socket.on("message", (data) => {
      const message = JSON.parse(String(data)) as Record<string, unknown>;
      if (message["id"] === undefined && typeof message["method"] === "string") {
        this.notifications.push({ method: message["method"], params: message["params"] });
        return;
      }
      const waiter = this.waiting.get(message["id"]);
      if (waiter) {
        this.waiting.delete(message["id"]);
        return waiter(message);
      }
      if (this.orphanWaiter) {
        const next = this.orphanWaiter;
        this.orphanWaiter = null;
        return next(message);
      }
      this.orphans.push(message);
    });
  }

  call(method: string, params?: unknown): Promise<Record<string, unknown>> {
    const id = this.nextId++;
    return this.sendRaw(JSON.stringify({ jsonrpc: "2.0", id, method, params }), id);
  }

  /** Sends raw text; waits for the response with `id`, or with id null for the next id-less response. */
  sendRaw(text: string, id: unknown): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no response for id ${String(id)}`)), 10_000);
      const done = (message: Record<string, unknown>) => {
        clearTimeout(timer);
        resolve(message);
      };
      if (id === null) {
        const already = this.orphans.shift();
        if (already) done(already);
        else this.orphanWaiter = done;
      } else {
        this.waiting.set(id, done);
      }
      this.socket.send(text);
    });
  }

  /** Waits until a notification with this method has arrived. */
  async notification(method: string, timeoutMs = 10_000): Promise<unknown> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const index = this.notifications.findIndex((n) => n.method === method);
      if (index >= 0) return this.notifications.splice(index, 1)[0]?.params;
      if (Date.now() > deadline) throw new Error(`no ${method} notification`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  close(): void {
    this.socket.close();
  }
}

export function rssOf(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const match = /VmRSS:\s+(\d+) kB/.exec(status);
  if (!match?.[1]) throw new Error("no VmRSS");
  return Number(match[1]) * 1024;
}
