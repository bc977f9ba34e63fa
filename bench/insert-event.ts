/**
 * Insert → event latency: the daemon's ReaderMonitor (Readers `card.inserted`) vs a bare koffi
 * SCardGetStatusChange loop watching the same vpcd reader of the real pcscd, same insertions,
 * same run, and the same insertion seen as `card.inserted` by a WebSocket client of a real daemon
 * process (`passerelle start`, on the same pcscd). The floor is pcscd's own presence polling of
 * vpcd (about 0.4 s), so the figure that matters is the difference. Target (issue 3): the
 * WebSocket client within +20 ms of the bare loop.
 * Needs root, pcscd and vsmartcard-vpcd; holds the pcscd lab lock.
 */
import { acquirePcscd } from "../test/helpers/pcscd.ts";
import { createReaders } from "../daemon/src/pcsc/index.ts";
import { createSystemBackend } from "../daemon/src/pcsc/binding/koffi-backend.ts";
import { INFINITE, SCARD_STATE_CHANGED, SCARD_STATE_PRESENT } from "../daemon/src/pcsc/constants.ts";
import { VpcdBridge } from "../daemon/src/simulator/vpcd-bridge.ts";
import { createEchoCard } from "../daemon/src/simulator/echo-card.ts";
import { formatMs, percentile } from "./lib/stats.ts";
import { report } from "./lib/results.ts";
import { RpcPeer, openSocket, startDaemon } from "../test/helpers/daemon.ts";

const SLOT = 1;
const READER = "Virtual PCD 00 01";
const ROUNDS = Number(process.env["BENCH_ROUNDS"] ?? 10);

const lab = await acquirePcscd();
try {
  const readers = await createReaders({ backend: createSystemBackend() });
  const ORIGIN = "https://bench.example";
  const daemon = await startDaemon({
    plaintext: true,
    args: ["--allow-origin", ORIGIN, "--log-level", "error"],
  });
  const opened = await openSocket(daemon, { origin: ORIGIN });
  if (!("socket" in opened)) throw new Error("cannot connect to the daemon");
  const client = new RpcPeer(opened.socket);
  await client.call("events.subscribe", { topics: ["cards"] });
  const webSocketWait = (method: "card.inserted" | "card.removed"): Promise<number> =>
    new Promise((resolve) => {
      const onMessage = (data: unknown) => {
        const message = JSON.parse(String(data)) as { method?: string; params?: { readerId?: string } };
        if (message.method === method && message.params?.readerId === READER) {
          opened.socket.off("message", onMessage);
          resolve(performance.now());
        }
      };
      opened.socket.on("message", onMessage);
    });
  const bareBackend = createSystemBackend();
  const bare = await bareBackend.establishContext();
  let state = (await bare.getStatusChange([{ reader: READER, currentState: 0 }], 0))[0]?.eventState ?? 0;
  state &= ~SCARD_STATE_CHANGED;

  /** The bare loop: wait until the reader's presence bit says `present`. */
  const bareWait = async (present: boolean): Promise<number> => {
    for (;;) {
      if (((state & SCARD_STATE_PRESENT) !== 0) === present) return performance.now();
      const [change] = await bare.getStatusChange([{ reader: READER, currentState: state }], INFINITE);
      state = (change?.eventState ?? 0) & ~SCARD_STATE_CHANGED;
    }
  };
  const daemonWait = (type: "card.inserted" | "card.removed"): Promise<number> =>
    new Promise((resolve) => {
      const unsubscribe = readers.subscribe((event) => {
        if (event.type === type && event.readerId === READER) {
          unsubscribe();
          resolve(performance.now());
        }
      });
    });

  const bareLatency: number[] = [];
  const daemonLatency: number[] = [];
  const webSocketLatency: number[] = [];
  for (let round = 0; round < ROUNDS; round += 1) {
    const bareSeen = bareWait(true);
    const daemonSeen = daemonWait("card.inserted");
    const webSocketSeen = webSocketWait("card.inserted");
    const bridge = new VpcdBridge({ emulator: createEchoCard(), slot: SLOT });
    const start = performance.now();
    await bridge.start();
    const [b, d, w] = await Promise.all([bareSeen, daemonSeen, webSocketSeen]);
    bareLatency.push(b - start);
    daemonLatency.push(d - start);
    webSocketLatency.push(w - start);
    const bareGone = bareWait(false);
    const daemonGone = daemonWait("card.removed");
    const webSocketGone = webSocketWait("card.removed");
    await bridge.close();
    await Promise.all([bareGone, daemonGone, webSocketGone]);
  }
  const deltas = daemonLatency.map((d, i) => d - (bareLatency[i] as number));
  console.log(`insert → event, ${READER}, ${ROUNDS} insertions`);
  console.log(
    `bare GetStatusChange p50 ${formatMs(percentile(bareLatency, 50))}, daemon card.inserted p50 ${formatMs(percentile(daemonLatency, 50))}`,
  );
  const p50 = percentile(deltas, 50);
  const max = Math.max(...deltas);
  console.log(
    `daemon − bare per insertion: p50 ${formatMs(p50)}, max ${formatMs(max)}  ${max <= 20 ? "✓" : "✗"} target ≤ +20 ms`,
  );
  const webSocketDeltas = webSocketLatency.map((w, i) => w - (bareLatency[i] as number));
  const wsP50 = percentile(webSocketDeltas, 50);
  const wsMax = Math.max(...webSocketDeltas);
  console.log(
    `WebSocket client card.inserted − bare: p50 ${formatMs(wsP50)}, max ${formatMs(wsMax)}  ${wsMax <= 20 ? "✓" : "✗"} target ≤ +20 ms`,
  );
  report(
    {
      id: "insert.daemon.max.delta",
      value: max,
      unit: "ms",
      label: "insert → Readers event − bare loop, max",
    },
    {
      id: "insert.websocket.max.delta",
      value: wsMax,
      unit: "ms",
      label: "insert → card.inserted at a WebSocket client − bare loop, max",
    },
    {
      id: "insert.websocket.p50.delta",
      value: wsP50,
      unit: "ms",
      label: "insert → card.inserted at a WebSocket client − bare loop, p50",
    },
  );
  client.close();
  await daemon.stop();
  await bare.release();
  await readers.close();
} finally {
  await lab.release();
}
