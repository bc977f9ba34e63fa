/**
 * The load bench's short CI variant (bench/load.ts is the 30 s run with figures): 100 WebSocket
 * clients on 10 origins against a real --simulate daemon, each calling readers.list, vitale.read
 * and cps.read 3 times while the Vitale is pulled out and pushed back. Correctness only, no timing:
 * every call is answered (none hangs), and no failure is one the protocol does not document for the
 * situation (bench/lib/load.ts decides which are: RATE_LIMITED, and a vitale.read the churn caught).
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { LOAD_METHODS, loadOrigins, runLoad } from "../../bench/lib/load.ts";
import { rssOf, startDaemon, type DaemonProcess } from "../helpers/daemon.ts";

const CLIENTS = 100;
const ROUNDS = 3;
const origins = loadOrigins(10);
let daemon: DaemonProcess;

before(async () => {
  daemon = await startDaemon({
    plaintext: true,
    args: ["--simulate", "--log-level", "error", ...origins.flatMap((origin) => ["--allow-origin", origin])],
  });
});
after(async () => {
  await daemon?.stop();
});

test("100 clients on 10 origins, 3 rounds each with the Vitale pulled and pushed back: every call answered, only documented failures", async () => {
  const result = await runLoad({
    url: daemon.url,
    origins,
    clients: CLIENTS,
    rounds: ROUNDS,
    selfOrigin: `http://localhost:${daemon.port}`,
    // Often, so that the churn happens during the short run even on an idle machine.
    churnEveryMs: 50,
    // A loaded 2-core CI machine: a bound that only a hang reaches.
    callTimeoutMs: 30_000,
  });
  assert.equal(result.connectFailures, 0, "every client connects (10 per origin, under the cap of 16)");
  assert.equal(result.calls, CLIENTS * ROUNDS * LOAD_METHODS.length);
  assert.equal(result.unanswered, 0, "no call left without an answer");
  assert.equal(result.answered, result.calls);
  assert.deepEqual(result.unexpected, {}, `errors: ${JSON.stringify(result.errors)}`);
  assert.ok(result.churns >= 1, "the Vitale was pulled out and pushed back during the run");
  for (const method of LOAD_METHODS)
    assert.ok(result.latenciesByMethod[method].length > 0, `${method} answered with a result at least once`);
  // The daemon is still well: it answers a new client after the load.
  const after = await runLoad({ url: daemon.url, origins: [origins[0]!], clients: 1, rounds: 1 });
  assert.equal(after.okLatencies.length, LOAD_METHODS.length, JSON.stringify(after.errors));
  assert.ok(rssOf(daemon.child.pid ?? 0) > 0);
  console.log(`${result.calls} calls, ${result.churns} churns, errors ${JSON.stringify(result.errors)}`);
});
