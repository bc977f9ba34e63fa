import assert from "node:assert/strict";
import { test } from "node:test";
import type { Logger } from "../../src/audit/logger.ts";
import { REFUSAL_LOG_MAX_ORIGINS, RefusalLog } from "../../src/server/refusal-log.ts";

function capture(): { logger: Logger; lines: Array<{ message: string; meta: Record<string, unknown> }> } {
  const lines: Array<{ message: string; meta: Record<string, unknown> }> = [];
  const push = (message: string, meta: Record<string, unknown> = {}) => lines.push({ message, meta });
  return {
    logger: { error: push, warn: push, info: push, debug: push, close: async () => undefined },
    lines,
  };
}

test("one line per origin per minute, naming the origin, however many refusals", () => {
  let now = 0;
  const { logger, lines } = capture();
  const log = new RefusalLog(logger, { now: () => now });
  for (let i = 0; i < 10_000; i++) log.note("https://evil.example", "origin not eligible");
  log.note("https://other.example", "origin not eligible");
  assert.deepEqual(lines, [
    { message: "upgrade refused", meta: { origin: "https://evil.example", why: "origin not eligible" } },
    { message: "upgrade refused", meta: { origin: "https://other.example", why: "origin not eligible" } },
  ]);
  now = 60_000;
  log.flush();
  assert.equal(lines.length, 3, "the minute's count in one line; the quiet origin logs nothing more");
  assert.deepEqual(lines[2], {
    message: "upgrade refused (repeated)",
    meta: { origin: "https://evil.example", why: "origin not eligible", count: 9_999, seconds: 60 },
  });
  // Still refused during the next minute: counted, not logged one by one.
  for (let i = 0; i < 500; i++) log.note("https://evil.example", "origin not eligible");
  assert.equal(lines.length, 3);
  now = 120_000;
  log.flush();
  assert.equal(lines.length, 4);
  assert.equal((lines[3]?.meta as Record<string, unknown>)["count"], 500);
  // A quiet minute ends the window: the next refusal is logged at once again.
  now = 180_000;
  log.flush();
  log.note("https://evil.example", "origin not eligible");
  assert.equal(lines.length, 5);
  assert.equal(lines[4]?.message, "upgrade refused");
  log.stop();
});

test("origins are bounded in number and in length; control characters are escaped", () => {
  const { logger, lines } = capture();
  const log = new RefusalLog(logger, { now: () => 0 });
  for (let i = 0; i < REFUSAL_LOG_MAX_ORIGINS + 100; i++)
    log.note(`https://o${i}.example`, "origin not eligible");
  assert.equal(lines.length, REFUSAL_LOG_MAX_ORIGINS + 1, "past the bound, one shared entry");
  assert.equal(lines.at(-1)?.meta["origin"], "(other origins)");
  const { logger: logger2, lines: lines2 } = capture();
  const log2 = new RefusalLog(logger2, { now: () => 0 });
  log2.note(`https://x.example\n${"a".repeat(500)}`, "malformed Origin");
  log2.note(undefined, "missing Origin");
  const origin = String(lines2[0]?.meta["origin"]);
  assert.ok(!origin.includes("\n") && origin.length <= 121, origin);
  assert.equal(lines2[1]?.meta["origin"], "(no Origin)");
  log.stop();
  log2.stop();
});
