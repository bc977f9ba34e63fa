import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import fc from "fast-check";
import {
  sha256BitCounter,
  sha256HashedBytesFromCounter,
  sha256InitialState,
  sha256Midstate,
  sha256Resume,
} from "../../src/cards/sha256-midstate.ts";

function reference(message: Uint8Array): string {
  return createHash("sha256").update(message).digest("hex");
}

function viaMidstate(message: Uint8Array): string {
  const mid = sha256Midstate(message);
  return Buffer.from(sha256Resume(mid.state, mid.hashedBytes, mid.remainder)).toString("hex");
}

test("SHA-256 resumed from the midstate equals node:crypto on boundary lengths", () => {
  for (const length of [0, 1, 55, 56, 57, 63, 64, 65, 119, 120, 127, 128, 129, 1000, 1024 * 1024]) {
    const message = randomBytes(length);
    assert.equal(viaMidstate(message), reference(message), `length ${length}`);
  }
});

test("the remainder is 1..64 bytes for a non-empty message and the hashed part a multiple of 64", () => {
  for (const [length, remainder] of [
    [0, 0],
    [1, 1],
    [63, 63],
    [64, 64],
    [65, 1],
    [128, 64],
    [129, 1],
  ] as const) {
    const mid = sha256Midstate(new Uint8Array(length));
    assert.equal(mid.remainder.length, remainder, `length ${length}`);
    assert.equal(mid.hashedBytes + mid.remainder.length, length);
    assert.equal(mid.hashedBytes % 64, 0);
  }
});

test("an empty prefix leaves the FIPS 180-4 initial state", () => {
  assert.equal(
    Buffer.from(sha256InitialState()).toString("hex"),
    "6a09e667bb67ae853c6ef372a54ff53a510e527f9b05688c1f83d9ab5be0cd19",
  );
  assert.deepEqual(sha256Midstate(new Uint8Array(64)).state, sha256InitialState());
});

test("resuming with a different split of the same message gives the same digest", () => {
  const message = randomBytes(300);
  const mid = sha256Midstate(message.subarray(0, 128));
  // The first 64 bytes hashed, then resume over the remaining 236 bytes in one go.
  const digest = sha256Resume(mid.state, 64, message.subarray(64));
  assert.equal(Buffer.from(digest).toString("hex"), reference(message));
});

test("SHA-256 via the midstate equals node:crypto on random messages (fast-check)", () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 0, maxLength: 2000 }), (message) => {
      assert.equal(viaMidstate(message), reference(message));
    }),
    { numRuns: 300 },
  );
});

test("the bit counter is 8 bytes big-endian and round-trips", () => {
  assert.equal(Buffer.from(sha256BitCounter(128)).toString("hex"), "0000000000000400");
  assert.equal(sha256HashedBytesFromCounter(sha256BitCounter(1024 * 1024)), 1024 * 1024);
  assert.equal(sha256HashedBytesFromCounter(Uint8Array.of(0, 0, 0, 0, 0, 0, 0, 8)), undefined);
  assert.equal(sha256HashedBytesFromCounter(new Uint8Array(7)), undefined);
});

test("sha256Resume rejects a bad state or counter", () => {
  assert.throws(() => sha256Resume(new Uint8Array(31), 0, new Uint8Array()), RangeError);
  assert.throws(() => sha256Resume(sha256InitialState(), 10, new Uint8Array()), RangeError);
});
