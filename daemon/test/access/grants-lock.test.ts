/**
 * The grants file changed by two processes at once (the daemon and `passerelle access revoke`):
 * real child processes racing on one data folder lose none of each other's changes, and a lock left
 * by a process that died holding it (kill -9) is broken, while a live holder makes a change wait,
 * then fail with a GrantStoreError naming it — never an endless wait.
 */
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { after, test } from "node:test";
import { GrantStore, GrantStoreError, grantsFile, writeGrants } from "../../src/access/index.ts";
import { lockFileOf } from "../../src/access/file-lock.ts";

const WORKER = fileURLToPath(new URL("./grant-writer.ts", import.meta.url));
/** Bound on a child's whole run (a cold tsx start on a loaded 2-core machine takes seconds). */
const CHILD_TIMEOUT_MS = 60_000;
const CHANGES = 40;

const dirs: string[] = [];
function dataDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), "passerelle-grants-lock-"));
  dirs.push(dir);
  return dir;
}
const children: ChildProcess[] = [];
after(() => {
  for (const child of children)
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function worker(args: string[]): {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
} {
  const child = spawn(process.execPath, ["--import", "tsx", WORKER, ...args], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.push(child);
  let output = "";
  child.stdout?.setEncoding("utf8").on("data", (chunk: string) => (output += chunk));
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => (output += chunk));
  const exited = new Promise<number | null>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`worker ${args.join(" ")} did not finish in ${CHILD_TIMEOUT_MS} ms:\n${output}`));
    }, CHILD_TIMEOUT_MS);
    child.once("exit", (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
  return { child, output: () => output, exited };
}

/** Resolves once the worker printed `line` (bounded). */
async function saysLine(run: ReturnType<typeof worker>, line: string): Promise<void> {
  const deadline = Date.now() + CHILD_TIMEOUT_MS;
  while (!run.output().includes(line)) {
    if (Date.now() > deadline) throw new Error(`the worker never said "${line}":\n${run.output()}`);
    if (run.child.exitCode !== null) throw new Error(`the worker exited before "${line}":\n${run.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const origins = (prefix: string) =>
  Array.from({ length: CHANGES }, (_, i) => `https://${prefix}-${i}.example`);

test("two processes changing the grants file at once lose none of each other's changes", async () => {
  const dir = dataDir();
  const file = grantsFile(dir);
  // The "revoke" process removes what is there; the "daemon" process adds new grants meanwhile.
  writeGrants(
    file,
    origins("revoked").map((origin) => ({ origin, grantedAt: "2026-12-01T10:00:00.000Z" })),
  );
  const go = path.join(dir, "go");
  const adder = worker([dir, go, "add", "granted", String(CHANGES)]);
  const remover = worker([dir, go, "remove", "revoked", String(CHANGES)]);
  await Promise.all([saysLine(adder, "ready"), saysLine(remover, "ready")]);
  writeFileSync(go, ""); // both started, both waiting for it: their changes overlap
  assert.equal(await adder.exited, 0, adder.output());
  assert.equal(await remover.exited, 0, remover.output());
  assert.match(adder.output(), new RegExp(`done ${CHANGES}\\n`));
  assert.match(remover.output(), new RegExp(`done ${CHANGES}\\n`), "every revocation found its grant");
  assert.deepEqual(
    new GrantStore(dir)
      .list()
      .map((grant) => grant.origin)
      .sort(),
    origins("granted").sort(),
    "every grant added is there, every revoked one is gone",
  );
  assert.deepEqual(readdirSync(path.dirname(file)).sort(), ["grants.json"], "no lock nor temporary left");
});

test("a lock left by a process killed while holding it is broken at once", async () => {
  const dir = dataDir();
  const holder = worker([dir, "-", "hold"]);
  await saysLine(holder, "holding");
  assert.ok(existsSync(lockFileOf(grantsFile(dir))));
  holder.child.kill("SIGKILL");
  await holder.exited;
  const started = Date.now();
  new GrantStore(dir).add({ origin: "https://after.example", grantedAt: "2026-12-01T10:00:00.000Z" });
  assert.ok(Date.now() - started < 1_000, "its pid is gone: not waited for");
  assert.deepEqual(
    new GrantStore(dir).list().map((grant) => grant.origin),
    ["https://after.example"],
  );
  assert.equal(existsSync(lockFileOf(grantsFile(dir))), false);
});

test("a live holder makes a change wait, then fail with a GrantStoreError naming it; past the stale age its lock is broken", async () => {
  const dir = dataDir();
  const file = grantsFile(dir);
  writeGrants(file, [{ origin: "https://kept.example", grantedAt: "2026-12-01T10:00:00.000Z" }]);
  const holder = worker([dir, "-", "hold"]);
  await saysLine(holder, "holding");
  const store = new GrantStore(dir, { waitMs: 200 });
  const started = Date.now();
  assert.throws(
    () => store.remove("https://kept.example"),
    (error: unknown) =>
      error instanceof GrantStoreError &&
      error.message.includes(`held by process ${holder.child.pid}`) &&
      error.message.startsWith(lockFileOf(file)),
  );
  assert.ok(Date.now() - started >= 200, "it waited for the holder first");
  assert.deepEqual(
    store.list().map((grant) => grant.origin),
    ["https://kept.example"],
    "nothing changed",
  );
  // The same lock, as if held for a minute: no change takes that long, so it is stale.
  const old = new Date(Date.now() - 60_000);
  utimesSync(lockFileOf(file), old, old);
  assert.equal(store.remove("https://kept.example"), true);
  assert.deepEqual(store.list(), []);
  holder.child.kill("SIGKILL");
  await holder.exited;
});
