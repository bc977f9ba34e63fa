/**
 * The INSi service misbehaving under a real daemon (--simulate, its INSi simulator driven through the
 * lab methods of the daemon's own page): slow beyond the timeout, HTTP 500 faults, garbage, a reset
 * connection. Each call fails typed (the reason the protocol documents), the daemon stays healthy
 * (the next call after the fault is cleared succeeds), and its memory comes back near where it was.
 * The per-fault client cases (and "nothing listening") are daemon/test/insi/client.test.ts; kill -9
 * during 200 INSi calls is test/insi/audit-crash.test.ts.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { RpcPeer, openSocket, rssOf, startDaemon, type DaemonProcess } from "../helpers/daemon.ts";

const ORIGIN = "https://ehr.example.fr";
const TRAITS = { birthName: "ADRUN", firstNames: ["ZOE"], sex: "F", birthDate: "1975-12-31" };
/** What each lab fault must give the web app. */
const EXPECTED: Record<string, string> = {
  http500: "INSI_FAULT",
  malformed: "INSI_INVALID_RESPONSE",
  reset: "INSI_UNAVAILABLE",
};
/** Growth allowed over the whole test, after a warm-up round (GC and JIT noise). */
const MEMORY_SLACK_BYTES = 30 * 1024 * 1024;

let daemon: DaemonProcess;
let ehr: RpcPeer;
let page: RpcPeer;

before(async () => {
  daemon = await startDaemon({ plaintext: true, args: ["--simulate", "--allow-origin", ORIGIN] });
  const opened = await openSocket(daemon, { origin: ORIGIN });
  assert.ok("socket" in opened);
  ehr = new RpcPeer(opened.socket);
  const self = await openSocket(daemon, { origin: `http://localhost:${daemon.port}` });
  assert.ok("socket" in self);
  page = new RpcPeer(self.socket);
  assert.ok((await ehr.call("cps.verifyPin", { pin: "1234" }))["result"]);
});
after(async () => {
  ehr?.close();
  page?.close();
  await daemon?.stop();
});

async function search(): Promise<Record<string, unknown>> {
  return ehr.call("insi.searchByTraits", TRAITS);
}

async function fault(name: string): Promise<void> {
  const answer = await page.call("lab.setInsiFault", { fault: name });
  assert.ok(answer["result"], JSON.stringify(answer));
}

test("faults, garbage and resets fail typed; after each the daemon answers again; memory comes back", async () => {
  for (let i = 0; i < 5; i += 1) assert.ok((await search())["result"], "warm-up");
  const start = rssOf(daemon.child.pid ?? 0);
  for (let round = 0; round < 3; round += 1) {
    for (const [name, reason] of Object.entries(EXPECTED)) {
      await fault(name);
      for (let i = 0; i < 5; i += 1) {
        const error = (await search())["error"] as { data?: { reason?: string } } | undefined;
        assert.equal(error?.data?.reason, reason, `${name}: ${JSON.stringify(error)}`);
      }
      await fault("none");
      assert.ok((await search())["result"], `healthy again after ${name}`);
    }
  }
  const end = rssOf(daemon.child.pid ?? 0);
  assert.ok(end - start < MEMORY_SLACK_BYTES, `RSS grew by ${((end - start) / 1048576).toFixed(1)} MiB`);
});
