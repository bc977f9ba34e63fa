import assert from "node:assert/strict";
import { test } from "node:test";
import { silentLogger } from "../../src/audit/logger.ts";
import { shutdownOnSignal, type ShutdownIo } from "../../src/cli/shutdown.ts";

function io(): ShutdownIo & { codes: number[]; lines: string[] } {
  const codes: number[] = [];
  const lines: string[] = [];
  return { codes, lines, exit: (code) => codes.push(code), writeError: (line) => lines.push(line) };
}

test("a clean stop exits 0, once, however many signals arrive", async () => {
  let stops = 0;
  const out = io();
  const stop = shutdownOnSignal(
    {
      logger: silentLogger,
      stop: async () => {
        stops += 1;
      },
    },
    out,
  );
  await Promise.all([stop("SIGTERM"), stop("SIGINT")]);
  assert.equal(stops, 1);
  assert.deepEqual(out.codes, [0]);
  assert.deepEqual(out.lines, []);
});

test("a stop that fails exits 1 with one line on stderr, and leaves no unhandled rejection", async () => {
  const out = io();
  const stop = shutdownOnSignal(
    {
      logger: { ...silentLogger, close: () => Promise.reject(new Error("log gone")) },
      stop: () => Promise.reject(new Error("the audit trail would not close")),
    },
    out,
  );
  await stop("SIGTERM");
  // An unhandled rejection would fail this file (node:test and test/helpers/test-guard.ts).
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.deepEqual(out.codes, [1]);
  assert.deepEqual(out.lines, ["passerelle: stopping failed: the audit trail would not close\n"]);
});
