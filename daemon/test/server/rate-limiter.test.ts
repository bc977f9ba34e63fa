import assert from "node:assert/strict";
import { test } from "node:test";
import { MAX_RETRY_AFTER_MS } from "@passerelle/protocol";
import { RateLimiter } from "../../src/server/rate-limiter.ts";

test("a burst is allowed, then the bucket refills at the configured rate, per key", () => {
  let now = 0;
  const limiter = new RateLimiter(10, 3, () => now);
  assert.deepEqual(
    [1, 2, 3, 4].map(() => limiter.take("a")),
    [true, true, true, false],
  );
  assert.equal(limiter.take("b"), true, "another origin has its own bucket");
  now += 100; // 10/s → one token back
  assert.equal(limiter.take("a"), true);
  assert.equal(limiter.take("a"), false);
  now += 10_000;
  assert.deepEqual(
    [1, 2, 3, 4].map(() => limiter.take("a")),
    [true, true, true, false],
    "never more than the burst",
  );
});

test("a refusal says when to come back: the next token, then one refill interval later for each refusal after it", () => {
  let now = 0;
  const limiter = new RateLimiter(50, 2, () => now); // a token every 20 ms
  assert.equal(limiter.take("a"), true);
  assert.equal(limiter.take("a"), true);
  const waits: number[] = [];
  for (let client = 0; client < 5; client += 1) {
    assert.equal(limiter.take("a"), false);
    waits.push(limiter.retryAfter("a"));
  }
  // Five clients refused at the same instant are told five different moments, 20 ms apart.
  assert.deepEqual(waits, [20, 40, 60, 80, 100]);
  // Coming back when told finds a token (nobody else came meanwhile).
  now += waits[0] ?? 0;
  assert.equal(limiter.take("a"), true);
  // Once the promised slots are past, a refusal is told the next token again, not a later one.
  now += 1_000;
  for (let i = 0; i < 2; i += 1) limiter.take("a");
  assert.equal(limiter.take("a"), false);
  assert.equal(limiter.retryAfter("a"), 20);
  assert.equal(limiter.retryAfter("b"), 1, "an origin never refused: at once");
});

test("the wait named is bounded by MAX_RETRY_AFTER_MS however many are refused", () => {
  const now = 0;
  const limiter = new RateLimiter(1, 1, () => now); // a token a second
  limiter.take("a");
  const waits = Array.from({ length: 20 }, () => (limiter.take("a"), limiter.retryAfter("a")));
  assert.ok(
    waits.every((wait) => wait >= 1 && wait <= MAX_RETRY_AFTER_MS),
    waits.join(" "),
  );
  assert.equal(waits.at(-1), MAX_RETRY_AFTER_MS);
});
