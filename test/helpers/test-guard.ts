/**
 * Preloaded into every test process by scripts/run-tests.sh (`--import ./test/helpers/test-guard.ts`):
 *
 * - a per-test timeout: every `test()`/`it()` that does not set its own `timeout` gets
 *   TEST_TIMEOUT_MS (default DEFAULT_TEST_TIMEOUT_MS). Node 20's `--test-timeout` bounds a whole
 *   file under `--test`, not each test, so a hung test would otherwise hold the run until the file
 *   ends (a mutant once hung a test for 197 s). Hooks (before/after) are not bounded here: they wait
 *   for the pcscd lab lock, which has its own bound (LOCK_TIMEOUT_MS in test/helpers/pcscd.ts).
 * - unhandled rejections are failures: node:test already fails the test (or the file) in which a
 *   rejection goes unhandled; this also catches the ones that happen while no test runs (module top
 *   level, between files' hooks), prints them and makes the process exit non-zero.
 *
 * node:test's named exports are live bindings of its CommonJS module: replacing `test` and `it` on
 * that object and calling syncBuiltinESMExports() makes `import { test } from "node:test"` see the
 * wrapped functions in every test file loaded afterwards.
 */
import { createRequire, syncBuiltinESMExports } from "node:module";

/**
 * The slowest legitimate tests take ~40 s alone on an idle machine (a Chromium page against a daemon,
 * a pcscd restart); on a loaded 2-core machine shared with other work they take up to ~3× that. Tests
 * known to need more (the bench smoke runs) set their own `timeout`.
 */
export const DEFAULT_TEST_TIMEOUT_MS = 120_000;

const timeoutMs = Number(process.env["TEST_TIMEOUT_MS"] ?? DEFAULT_TEST_TIMEOUT_MS);

type TestFunction = (...args: unknown[]) => unknown;

function withDefaultTimeout(original: TestFunction): TestFunction {
  const wrapped = function (...args: unknown[]): unknown {
    // test([name][, options][, fn])
    let at = 0;
    const head: unknown[] = [];
    if (typeof args[at] === "string") head.push(args[at++]);
    let options: Record<string, unknown> = {};
    if (typeof args[at] === "object" && args[at] !== null) options = args[at++] as Record<string, unknown>;
    const rest = args.slice(at);
    return original(...head, { timeout: timeoutMs, ...options }, ...rest);
  };
  // test.skip, test.todo, test.only and friends keep working (without the default).
  return Object.assign(wrapped, original);
}

if (Number.isFinite(timeoutMs) && timeoutMs > 0) {
  const nodeTest = createRequire(import.meta.url)("node:test") as Record<string, TestFunction>;
  for (const name of ["test", "it"]) {
    const original = nodeTest[name];
    if (original) nodeTest[name] = withDefaultTimeout(original);
  }
  syncBuiltinESMExports();
}

process.on("unhandledRejection", (reason) => {
  process.exitCode = 1;
  const text = reason instanceof Error ? (reason.stack ?? reason.message) : String(reason);
  process.stderr.write(`test-guard: unhandled rejection (this run fails):\n${text}\n`);
});
