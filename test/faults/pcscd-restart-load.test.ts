/**
 * pcscd killed (SIGKILL, a crash) and started again under load: a real daemon (no --simulate) on
 * the real pcscd, a CPS and a Vitale plugged into vpcd by the bridge, and several WebSocket clients
 * reading in a loop (readers.list, vitale.read, cps.read). Every call ends with a result or a typed
 * error the protocol documents (never a hang: each waits at most RpcPeer's bound), every client is
 * served again after the restart, and the daemon's memory comes back near where it was.
 * test/pcsc/restart.test.ts is the same restart under the Readers alone, with no load.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import "../../daemon/src/simulator/builtin-profiles.ts";
import { createEmulator } from "../../daemon/src/simulator/profiles.ts";
import { VpcdBridge } from "../../daemon/src/simulator/vpcd-bridge.ts";
import { RpcPeer, openSocket, rssOf, startDaemon, type DaemonProcess } from "../helpers/daemon.ts";
import { acquirePcscd, type PcscdLab } from "../helpers/pcscd.ts";

const ORIGIN = "https://ehr.example.fr";
const CLIENTS = 6;
const METHODS = ["readers.list", "vitale.read", "cps.read"] as const;
/** What a call may end with while pcscd is down or coming back (docs/protocol.md). */
const TYPED_DURING_RESTART = new Set([
  "PCSC_UNAVAILABLE",
  "NO_READER",
  "NO_CARD",
  "CARD_REMOVED",
  // one card back before the other: "no cps card in any reader" while only the Vitale is seen
  "WRONG_CARD",
]);
/** Bound on each phase (the service gone, every client served again). */
const PHASE_TIMEOUT_MS = 30_000;
/** Growth allowed from after the warm-up to the end (GC and JIT noise, reconnected monitor). */
const MEMORY_SLACK_BYTES = 30 * 1024 * 1024;

let dataDir: string;
let daemon: DaemonProcess;
let lab: PcscdLab;
const bridges: VpcdBridge[] = [];
const peers: RpcPeer[] = [];

before(async () => {
  dataDir = mkdtempSync(path.join(tmpdir(), "passerelle-faults-pcscd-"));
  // The load is the point: the per-origin rate limit (documented RATE_LIMITED) is lifted here.
  writeFileSync(
    path.join(dataDir, "test-config.json"),
    JSON.stringify({ openPinPage: false, limits: { requestsPerSecond: 10_000, requestBurst: 100_000 } }),
  );
  // Started before taking the lab lock: a start takes seconds and needs no card.
  daemon = await startDaemon({ plaintext: true, dataDir, args: ["--allow-origin", ORIGIN] });
  lab = await acquirePcscd();
  for (const [slot, profile] of ["cps", "vitale"].entries()) {
    // reconnect (the default): the card comes back when vpcd listens again after the restart.
    const bridge = new VpcdBridge({ emulator: await createEmulator(profile), slot });
    bridges.push(bridge);
    await bridge.start();
  }
});

after(async () => {
  for (const peer of peers) peer.close();
  for (const bridge of bridges) await bridge.close();
  await lab?.release();
  await daemon?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

interface Outcome {
  readonly client: number;
  readonly method: string;
  readonly at: number;
  /** "ok", a reason, or what went wrong otherwise (no answer, an error without a reason). */
  readonly outcome: string;
}

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + PHASE_TIMEOUT_MS;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

test("pcscd killed and restarted under 6 reading clients: every call answered or typed, all served again, memory back", async () => {
  for (let i = 0; i < CLIENTS; i += 1) {
    const opened = await openSocket(daemon, { origin: ORIGIN });
    assert.ok("socket" in opened, `client ${i} connects`);
    peers.push(new RpcPeer(opened.socket));
  }
  // The daemon sees both cards before the load starts (a bridge is in before pcscd reports it).
  const deadline = Date.now() + PHASE_TIMEOUT_MS;
  for (;;) {
    const answer = await peers[0]!.call("readers.list", {});
    const readers = (answer["result"] as { readers?: Array<{ card?: { type: string } }> })?.readers ?? [];
    const types = readers.flatMap((reader) => (reader.card ? [reader.card.type] : [])).sort();
    if (types.join() === "cps,vitale") break;
    assert.ok(Date.now() < deadline, `the daemon never saw both cards: ${JSON.stringify(answer)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const outcomes: Outcome[] = [];
  /** When each client last got a result of each method. */
  const lastOk = peers.map(() => new Map<string, number>());
  let sawUnavailableAt = 0;
  /** One error per outcome, for the message of a failure. */
  const details = new Map<string, string>();
  let running = true;
  const loops = peers.map(async (peer, client) => {
    while (running) {
      for (const method of METHODS) {
        let outcome: string;
        try {
          const answer = await peer.call(method, {});
          const error = answer["error"] as { data?: { reason?: string }; message?: string } | undefined;
          outcome =
            error === undefined ? "ok" : (error.data?.reason ?? `no reason: ${JSON.stringify(error)}`);
          if (error !== undefined) details.set(`${method} ${outcome}`, JSON.stringify(error));
        } catch (error) {
          outcome = `no answer: ${String(error)}`; // RpcPeer's bound: a hang
        }
        const at = Date.now();
        outcomes.push({ client, method, at, outcome });
        if (outcome === "ok") lastOk[client]?.set(method, at);
        if (outcome === "PCSC_UNAVAILABLE") sawUnavailableAt = at;
      }
    }
  });
  const servedSince = (since: number) =>
    lastOk.every((byMethod) => METHODS.every((method) => (byMethod.get(method) ?? 0) >= since));
  try {
    // Warm-up: every client served, both cards read once (later reads are the driver's cache).
    const started = Date.now();
    await until(() => servedSince(started), "every client served before the restart");
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const rssBefore = rssOf(daemon.child.pid ?? 0);
    const served = outcomes.length;

    const killedAt = Date.now();
    await lab.stop("SIGKILL");
    await until(() => sawUnavailableAt >= killedAt, "a PCSC_UNAVAILABLE while pcscd is down");
    await lab.ensureRunning();
    const restartedAt = Date.now();
    await until(() => servedSince(restartedAt), "every client served again after the restart");
    // A while under load after the restart, then the memory figure.
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    running = false;
    await Promise.all(loops);
    const rssAfter = rssOf(daemon.child.pid ?? 0);

    const bad = outcomes.filter((o) => o.outcome !== "ok" && !TYPED_DURING_RESTART.has(o.outcome));
    const when = (at: number) => `${at - killedAt} ms after the kill`;
    assert.deepEqual(
      bad
        .slice(0, 3)
        .map((o) => `${o.method} ${o.outcome} ${when(o.at)}: ${details.get(`${o.method} ${o.outcome}`)}`),
      [],
      `every call ends with a result or a documented typed error (${bad.length} did not, the last ${when(bad.at(-1)?.at ?? 0)}; restarted ${when(restartedAt)})`,
    );
    const failedBeforeKill = outcomes.filter((o) => o.at < killedAt && o.outcome !== "ok");
    assert.deepEqual(failedBeforeKill, [], "nothing fails before pcscd is killed");
    const byOutcome = new Map<string, number>();
    for (const o of outcomes) byOutcome.set(o.outcome, (byOutcome.get(o.outcome) ?? 0) + 1);
    console.log(
      `${outcomes.length} calls (${served} before the kill): ${[...byOutcome].map(([k, v]) => `${k} ${v}`).join(", ")}; ` +
        `RSS ${(rssBefore / 1048576).toFixed(1)} → ${(rssAfter / 1048576).toFixed(1)} MiB`,
    );
    assert.ok(
      rssAfter - rssBefore < MEMORY_SLACK_BYTES,
      `RSS grew by ${((rssAfter - rssBefore) / 1048576).toFixed(1)} MiB`,
    );
  } finally {
    running = false;
    await Promise.all(loops);
  }
});
