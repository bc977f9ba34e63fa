import assert from "node:assert/strict";
import { test } from "node:test";
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
