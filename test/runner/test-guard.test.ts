/**
 * The runner's guard (test/helpers/test-guard.ts, preloaded by scripts/run-tests.sh): a test that
 * hangs fails on the default per-test timeout instead of holding the run, and an unhandled
 * rejection fails its file, even outside any test. Each case runs in its own `node --test`.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, test } from "node:test";
import { REPO_ROOT } from "../helpers/daemon.ts";

const GUARD = path.join(REPO_ROOT, "test/helpers/test-guard.ts");
const dir = mkdtempSync(path.join(tmpdir(), "passerelle-guard-"));
after(() => rmSync(dir, { recursive: true, force: true }));

function runFixture(name: string, source: string): { status: number | null; output: string } {
  const file = path.join(dir, name);
  writeFileSync(file, source);
  // A `node --test` inside a test process would report to it (NODE_TEST_CONTEXT): make it a run of its own.
  const env: NodeJS.ProcessEnv = { ...process.env, TEST_TIMEOUT_MS: "1000" };
  delete env["NODE_TEST_CONTEXT"];
  const result = spawnSync(
    process.execPath,
    ["--import", "tsx", "--import", GUARD, "--test", "--test-reporter=spec", file],
    { cwd: REPO_ROOT, encoding: "utf8", env, timeout: 60_000 },
  );
  return { status: result.status, output: `${result.stdout}\n${result.stderr}` };
}

test("a test without its own timeout fails after the default instead of hanging", () => {
  const { status, output } = runFixture(
    "hang.test.mjs",
    `import { test } from "node:test";
test("hangs", () => new Promise((resolve) => setTimeout(resolve, 5000)));
test("sets its own", { timeout: 20_000 }, () => new Promise((resolve) => setTimeout(resolve, 1500)));
test.skip("skipped", () => {});
`,
  );
  assert.equal(status, 1, output);
  assert.match(output, /hangs .*\n\s+'test timed out after 1000ms'/);
  assert.match(output, /✔ sets its own/);
  assert.match(output, /skipped .*# SKIP/);
});

test("an unhandled rejection outside any test fails the file", () => {
  const { status, output } = runFixture(
    "reject.test.mjs",
    `import { test } from "node:test";
Promise.reject(new Error("nobody waits for me"));
test("passes", () => {});
`,
  );
  assert.equal(status, 1, output);
  assert.match(output, /test-guard: unhandled rejection \(this run fails\):\nError: nobody waits for me/);
});

test("an unhandled rejection after a test ended fails the file", () => {
  const { status, output } = runFixture(
    "late.test.mjs",
    `import { test } from "node:test";
test("leaves a rejection behind", () => { setTimeout(() => Promise.reject(new Error("late")), 20); });
test("waits", () => new Promise((resolve) => setTimeout(resolve, 200)));
`,
  );
  assert.equal(status, 1, output);
  assert.match(output, /Error: late/);
});
