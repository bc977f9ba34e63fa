import assert from "node:assert/strict";
import { test } from "node:test";
import {
  createReaders,
  throttledDiagnostics,
  type DiagnosticReport,
  type PcscBackend,
} from "../../src/pcsc/index.ts";

test("the first occurrence is reported at once, repeats within the interval are counted into the next report", () => {
  let now = 0;
  const reports: DiagnosticReport[] = [];
  const diagnostic = throttledDiagnostics((report) => reports.push(report), {
    intervalMs: 1000,
    now: () => now,
  });
  diagnostic("reader monitor: unexpected error", new Error("a"));
  for (let i = 0; i < 5; i += 1) {
    now += 100;
    diagnostic("reader monitor: unexpected error", new Error("b"));
  }
  diagnostic("PC/SC service lost");
  now = 1000;
  diagnostic("reader monitor: unexpected error", new Error("c"));
  assert.deepEqual(
    reports.map(({ level, message, repeated }) => ({ level, message, repeated })),
    [
      { level: "error", message: "reader monitor: unexpected error", repeated: 0 },
      { level: "warn", message: "PC/SC service lost", repeated: 0 },
      { level: "error", message: "reader monitor: unexpected error", repeated: 5 },
    ],
  );
  assert.equal((reports[2]?.error as Error).message, "c");
});

test("a reader monitor failing in a loop leaves a trace, throttled: one report, not one per retry", async () => {
  let attempts = 0;
  const broken: PcscBackend = {
    establishContext: async () => {
      attempts += 1;
      throw new TypeError("the PC/SC binding is broken");
    },
  } as unknown as PcscBackend;
  const reports: DiagnosticReport[] = [];
  const readers = await createReaders({
    backend: broken,
    backoffMinMs: 1,
    backoffMaxMs: 2,
    onDiagnostic: throttledDiagnostics((report) => reports.push(report)),
  });
  while (attempts < 20) await new Promise((resolve) => setTimeout(resolve, 5));
  await readers.close();
  assert.equal(reports.length, 1, JSON.stringify(reports));
  assert.equal(reports[0]?.level, "error");
  assert.equal(reports[0]?.message, "reader monitor: unexpected error");
  assert.match(String(reports[0]?.error), /PC\/SC binding is broken/);
});
