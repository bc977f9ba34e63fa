import { test } from "node:test";
import assert from "node:assert/strict";
import { FairQueue } from "../../src/pcsc/fair-queue.ts";
import { isPasserelleError } from "../../src/errors.ts";

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

test("same key: one at a time, in arrival order", async () => {
  const queue = new FairQueue();
  const log: string[] = [];
  let running = 0;
  const task = (name: string) => async () => {
    running += 1;
    assert.equal(running, 1);
    log.push(`start ${name}`);
    await new Promise((r) => setImmediate(r));
    log.push(`end ${name}`);
    running -= 1;
    return name;
  };
  const results = await Promise.all(["a", "b", "c"].map((name) => queue.run("r", task(name))));
  assert.deepEqual(results, ["a", "b", "c"]);
  assert.deepEqual(log, ["start a", "end a", "start b", "end b", "start c", "end c"]);
  assert.equal(queue.pending("r"), 0);
});

test("different keys run in parallel", async () => {
  const queue = new FairQueue();
  const gate = deferred();
  const started: string[] = [];
  const first = queue.run("r0", async () => {
    started.push("r0");
    await gate.promise;
  });
  const second = queue.run("r1", async () => {
    started.push("r1");
  });
  await second;
  assert.deepEqual(started, ["r0", "r1"]); // r1 finished while r0 still waits
  gate.resolve();
  await first;
});

test("a failing task does not block the next", async () => {
  const queue = new FairQueue();
  const failed = queue.run("r", async () => {
    throw new Error("boom");
  });
  const next = queue.run("r", async () => "ok");
  await assert.rejects(failed, /boom/);
  assert.equal(await next, "ok");
});

test("beyond the limit: READER_BUSY, without disturbing the queued tasks", async () => {
  const queue = new FairQueue(2);
  const gate = deferred();
  const a = queue.run("r", () => gate.promise);
  const b = queue.run("r", async () => "b");
  await assert.rejects(
    queue.run("r", async () => "c"),
    (error) => isPasserelleError(error, "READER_BUSY"),
  );
  assert.equal(queue.pending("r"), 2);
  gate.resolve();
  await a;
  assert.equal(await b, "b");
});
