/**
 * Runs a built Passerelle (the bundle, an installed executable, a Windows one under wine) as a
 * child process, waits for its `listening <url>` line, and stops it. Unlike daemon.ts, which runs
 * the source tree through tsx, nothing here assumes a checkout: the caller names the command.
 */
import { spawn, type ChildProcess } from "node:child_process";
import http from "node:http";

export interface RunningProgram {
  readonly url: string;
  readonly port: number;
  readonly child: ChildProcess;
  stderr(): string;
  /** SIGTERM, then wait for the exit; returns the exit code. */
  stop(): Promise<number | null>;
}

export interface ProgramOptions {
  command: string;
  args: string[];
  cwd: string;
  env?: NodeJS.ProcessEnv;
  /** How long to wait for `listening` (wine needs longer than a native start). */
  timeoutMs?: number;
}

export async function startProgram(options: ProgramOptions): Promise<RunningProgram> {
  const child = spawn(options.command, options.args, {
    cwd: options.cwd,
    env: options.env ?? process.env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    let stdout = "";
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${options.command} did not start in time:\n${stderr}`));
    }, options.timeoutMs ?? 30_000);
    child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
      stdout += chunk;
      const match = /^listening (\S+)\r?$/m.exec(stdout);
      if (match?.[1]) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`${options.command} exited with ${code} before listening:\n${stdout}\n${stderr}`));
    });
  });
  return {
    url,
    port: Number(new URL(url).port),
    child,
    stderr: () => stderr,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      return exited;
    },
  };
}

/** GET over plain HTTP on localhost (the programs under test run with --plaintext). */
export function httpGet(
  port: number,
  pathname: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const request = http.get(
      { host: "127.0.0.1", port, path: pathname, headers: { Host: `localhost:${port}`, ...headers } },
      (response) => {
        const chunks: Buffer[] = [];
        response.on("data", (chunk: Buffer) => chunks.push(chunk));
        response.on("end", () =>
          resolve({
            status: response.statusCode ?? 0,
            headers: response.headers,
            body: Buffer.concat(chunks),
          }),
        );
      },
    );
    request.setTimeout(10_000, () => request.destroy(new Error("timed out")));
    request.on("error", reject);
  });
}
