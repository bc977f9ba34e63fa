/**
 * Which wine runs the Windows tests. Node 24's V8 aborts at start under Debian 12's wine 8.0
 * ("SegmentedTable::InitializeTable (subspace allocation)"), so the tests use Debian trixie's
 * wine 10 in a throwaway root (installers/lib/debian-root.sh, cached under the packaging cache as
 * `debian-roots/trixie-wine`), each command chrooted by installers/lib/in-root.sh with the
 * folders it needs bound at the same paths. When that root cannot be built because the mirror is
 * unreachable (the builder's exit 3), the host's wine is used instead: the MSI tests still run,
 * and `cannotStartNode` says why the executable will not and which command fixes it. Any other
 * failure of the builder fails the tests: it is a bug, not an environment to skip.
 *
 * Output goes to files, never to pipes: under wine a Unix pipe becomes a Windows pipe handle that
 * Node's libuv cannot open ("Error: open EBADF" from process.stdout at start); on Windows a pipe
 * works. A file is a disk handle on both.
 */
import { spawn, spawnSync, type ChildProcess, type SpawnSyncReturns } from "node:child_process";
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
// @ts-expect-error -- plain JavaScript build scripts without types
import { cacheDir } from "../lib/npm-files.mjs";

const LIB = fileURLToPath(new URL("../lib/", import.meta.url));
const SUITE = "trixie";
const PACKAGES = ["wine64"];
/** debian-root.sh's exit status when the mirror cannot be reached. */
const UNREACHABLE = 3;
const BUILD_TIMEOUT_MS = 30 * 60_000;

export const WINE_ROOT = path.join(cacheDir() as string, "debian-roots", `${SUITE}-wine`);
export const BUILD_ROOT_COMMAND = `bash installers/lib/debian-root.sh ${SUITE} ${WINE_ROOT} ${PACKAGES.join(" ")}`;

export interface Wine {
  /** e.g. "wine-10.0 (Debian 10.0~repack-6) in the trixie root". */
  readonly description: string;
  /** Set when this wine is the host's fallback: why the trixie root is missing, and the fix. */
  readonly fallbackReason: string | null;
  /** How long building (or finding, when cached) the root took, in ms. */
  readonly rootMs: number;
  /** The argv that runs `program` (wine, wineserver) with `args`, bounded by `timeoutSec`. */
  argv(program: "wine" | "wineserver", args: string[], timeoutSec: number): [string, ...string[]];
  /** Runs it and waits (spawnSync), bounded by `timeoutMs`. */
  run(
    args: string[],
    options?: { timeoutMs?: number; program?: "wine" | "wineserver" },
  ): SpawnSyncReturns<string>;
  /** The environment every wine command gets (nothing of the caller's but what wine needs). */
  readonly env: NodeJS.ProcessEnv;
  /** Starts a long-running wine program (the daemon), its output in files; see WineProgram. */
  start(args: string[], timeoutSec: number): WineProgram;
}

export interface WineProgram {
  readonly child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves with the first match of `pattern` in stdout; fails after `timeoutMs` or at exit. */
  waitFor(pattern: RegExp, timeoutMs: number): Promise<RegExpExecArray>;
  /** SIGTERM, then the exit code (fails after `timeoutMs`); removes the output files. */
  stop(timeoutMs: number): Promise<number | null>;
}

const HOST_WINE = ["/usr/lib/wine/wine64", "/usr/bin/wine64", "/usr/bin/wine"].find((p) => existsSync(p));
const HOST_WINESERVER = ["/usr/lib/wine/wineserver", "/usr/bin/wineserver"].find((p) => existsSync(p));

/** spawnSync with stdout and stderr through files in `dir` (see the note on pipes above). */
function runToFiles(
  argv: [string, ...string[]],
  env: NodeJS.ProcessEnv,
  dir: string,
  timeoutMs: number,
): SpawnSyncReturns<string> {
  const work = mkdtempSync(path.join(dir, "run-"));
  const out = openSync(path.join(work, "stdout"), "w");
  const err = openSync(path.join(work, "stderr"), "w");
  try {
    const result = spawnSync(argv[0], argv.slice(1), {
      env,
      stdio: ["ignore", out, err],
      timeout: timeoutMs + 15_000,
    });
    return {
      ...result,
      output: [],
      stdout: readFileSync(path.join(work, "stdout"), "utf8"),
      stderr: readFileSync(path.join(work, "stderr"), "utf8"),
    };
  } finally {
    closeSync(out);
    closeSync(err);
    rmSync(work, { recursive: true, force: true });
  }
}

function startToFiles(argv: [string, ...string[]], env: NodeJS.ProcessEnv, dir: string): WineProgram {
  const work = mkdtempSync(path.join(dir, "start-"));
  const out = openSync(path.join(work, "stdout"), "w");
  const err = openSync(path.join(work, "stderr"), "w");
  const child = spawn(argv[0], argv.slice(1), { env, stdio: ["ignore", out, err] });
  closeSync(out);
  closeSync(err);
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const read = (name: string) => {
    try {
      return readFileSync(path.join(work, name), "utf8");
    } catch {
      return "";
    }
  };
  const program: WineProgram = {
    child,
    stdout: () => read("stdout"),
    stderr: () => read("stderr"),
    async waitFor(pattern, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const match = pattern.exec(program.stdout());
        if (match) return match;
        if (child.exitCode !== null || child.signalCode !== null)
          throw new Error(
            `exited (${child.exitCode ?? child.signalCode}) before ${pattern}:\n${program.stdout()}\n${program.stderr()}`,
          );
        if (Date.now() > deadline)
          throw new Error(`no ${pattern} within ${timeoutMs} ms:\n${program.stdout()}\n${program.stderr()}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    },
    async stop(timeoutMs) {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      let timer: NodeJS.Timeout | undefined;
      try {
        return await Promise.race([
          exited,
          new Promise<never>((_resolve, reject) => {
            timer = setTimeout(() => {
              child.kill("SIGKILL");
              reject(new Error(`still running ${timeoutMs} ms after SIGTERM`));
            }, timeoutMs);
          }),
        ]);
      } finally {
        clearTimeout(timer);
        rmSync(work, { recursive: true, force: true });
      }
    },
  };
  return program;
}

/**
 * Builds or finds the trixie root, and the wine to use. `binds`: the host folders wine must see
 * (the prefix, the artefacts, scratch folders), bound at the same paths inside the root.
 */
export function findWine(options: {
  prefix: string;
  /** Host folders wine must see (bound at the same paths inside the root). */
  binds: string[];
  /** A private folder that is also bound: XDG_RUNTIME_DIR, and where output files go. */
  runtimeDir: string;
}): Wine {
  const env: NodeJS.ProcessEnv = {
    PATH: "/usr/sbin:/usr/bin:/sbin:/bin",
    HOME: process.env["HOME"] ?? "/root",
    USER: process.env["USER"] ?? "root",
    LANG: "C.UTF-8",
    WINEPREFIX: options.prefix,
    WINEDEBUG: "-all",
    XDG_RUNTIME_DIR: options.runtimeDir,
  };
  const started = performance.now();
  const built = spawnSync("bash", [path.join(LIB, "debian-root.sh"), SUITE, WINE_ROOT, ...PACKAGES], {
    encoding: "utf8",
    timeout: BUILD_TIMEOUT_MS,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const rootMs = performance.now() - started;
  process.stderr.write(built.stderr ?? "");
  const binds = options.binds.flatMap((bind) => ["--bind", bind]);

  if (built.status === 0) {
    const inRoot = (command: string, args: string[], timeoutSec: number): [string, ...string[]] => [
      "bash",
      path.join(LIB, "in-root.sh"),
      WINE_ROOT,
      "--timeout",
      String(timeoutSec),
      ...binds,
      "--",
      command,
      ...args,
    ];
    const wine: Wine = {
      description: "",
      fallbackReason: null,
      rootMs,
      env,
      argv: (program, args, timeoutSec) =>
        inRoot(program === "wine" ? "/usr/lib/wine/wine64" : "/usr/lib/wine/wineserver", args, timeoutSec),
      run: (args, { timeoutMs = 120_000, program = "wine" } = {}) =>
        runToFiles(wine.argv(program, args, Math.ceil(timeoutMs / 1000)), env, options.runtimeDir, timeoutMs),
      start: (args, timeoutSec) => startToFiles(wine.argv("wine", args, timeoutSec), env, options.runtimeDir),
    };
    const version = wine.run(["--version"], { timeoutMs: 60_000 });
    if (version.status !== 0)
      throw new Error(`wine64 --version failed in ${WINE_ROOT}: ${version.stdout}${version.stderr}`);
    return { ...wine, description: `${version.stdout.trim()} in the ${SUITE} root ${WINE_ROOT}` };
  }
  if (built.status !== UNREACHABLE)
    throw new Error(
      `${BUILD_ROOT_COMMAND} failed (exit ${built.status ?? built.signal}):\n${built.stderr ?? ""}`,
    );

  // The mirror cannot be reached: the host's wine, for what it can do.
  if (!HOST_WINE || !HOST_WINESERVER)
    throw new Error("no trixie root (mirror unreachable) and no wine64 on this machine (installers/deps.sh)");
  const hostVersion = spawnSync(HOST_WINE, ["--version"], { encoding: "utf8", env }).stdout.trim();
  const reason =
    `the ${SUITE} root with wine 10 could not be built (${(built.stderr ?? "").trim().split("\n")[0] ?? ""}); ` +
    `using the host's ${hostVersion || "wine"}. Fix: ${BUILD_ROOT_COMMAND}`;
  const wine: Wine = {
    description: `${hostVersion} (the host's: fallback)`,
    fallbackReason: reason,
    rootMs,
    env,
    argv: (program, args, timeoutSec) => [
      "timeout",
      "--kill-after=10",
      String(timeoutSec),
      program === "wine" ? HOST_WINE : HOST_WINESERVER,
      ...args,
    ],
    run: (args, { timeoutMs = 120_000, program = "wine" } = {}) =>
      runToFiles(wine.argv(program, args, Math.ceil(timeoutMs / 1000)), env, options.runtimeDir, timeoutMs),
    start: (args, timeoutSec) => startToFiles(wine.argv("wine", args, timeoutSec), env, options.runtimeDir),
  };
  return wine;
}
