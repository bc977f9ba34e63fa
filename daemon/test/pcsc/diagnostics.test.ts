import assert from "node:assert/strict";
import { test } from "node:test";
import {
  createReaders,
  throttledDiagnostics,
  type DiagnosticReport,
  type PcscBackend,
} from "../../src/pcsc/index.ts";
import { PasserelleError } from "../../src/errors.ts";

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
  assert.deepEqual(
    reports.map(({ level, message }) => ({ level, message })),
    [
      { level: "error", message: "reader monitor: unexpected error" },
      { level: "warn", message: "PC/SC service unavailable" },
    ],
  );
  assert.match(String(reports[0]?.error), /PC\/SC binding is broken/);
});

test("a PC/SC service down from the start is said once, as unavailable, with its reason", async () => {
  let attempts = 0;
  const down: PcscBackend = {
    establishContext: async () => {
      attempts += 1;
      throw new PasserelleError("PCSC_UNAVAILABLE", "SCARD_E_NO_SERVICE");
    },
  } as unknown as PcscBackend;
  const reports: DiagnosticReport[] = [];
  const readers = await createReaders({
    backend: down,
    backoffMinMs: 1,
    backoffMaxMs: 2,
    onDiagnostic: throttledDiagnostics((report) => reports.push(report)),
  });
  assert.equal(readers.available, false);
  while (attempts < 10) await new Promise((resolve) => setTimeout(resolve, 5));
  await readers.close();
  assert.deepEqual(
    reports.map(({ level, message }) => ({ level, message })),
    [{ level: "warn", message: "PC/SC service unavailable" }],
  );
  assert.match(String(reports[0]?.error), /SCARD_E_NO_SERVICE/);
});
