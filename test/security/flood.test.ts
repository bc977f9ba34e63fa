/**
 * The flood from a client that stops reading (issue #12): 300,000 small frames from an allowed
 * origin, as fast as the socket takes them, while the client reads nothing. The daemon (a real
 * process) must close the connection and give its memory back: RSS within 10 MB of where it was.
 * The figures are printed as test diagnostics (before, peak while flooding, after).
 */
import assert from "node:assert/strict";
import type { Socket } from "node:net";
import { after, before, test, type TestContext } from "node:test";
import { openSocket, rssOf, startDaemon, type DaemonProcess } from "../helpers/daemon.ts";

const ORIGIN = "https://ehr.example.fr";
const FRAMES = 300_000;
const MB = 1024 * 1024;
let daemon: DaemonProcess;

before(async () => {
  daemon = await startDaemon({ args: ["--allow-origin", ORIGIN] });
});
after(async () => {
  await daemon.stop();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until RSS stops falling (GC and freed buffers), at most `ms`. */
async function settledRss(pid: number, ms = 5000): Promise<number> {
  let last = rssOf(pid);
  for (let waited = 0; waited < ms; waited += 250) {
    await sleep(250);
    const now = rssOf(pid);
    if (now >= last) return now;
    last = now;
  }
  return last;
}

async function flood(t: TestContext, label: string, frame: (i: number) => string): Promise<void> {
  const pid = daemon.child.pid as number;
  // Warm up (TLS, one connection served) so that the start figure is not the cold process.
  const warm = await openSocket(daemon, { origin: ORIGIN });
  assert.ok("socket" in warm);
  warm.socket.close();
  const start = await settledRss(pid);
  const opened = await openSocket(daemon, { origin: ORIGIN });
  assert.ok("socket" in opened);
  const socket = opened.socket;
  const closed = new Promise<number>((resolve) => socket.once("close", (code) => resolve(code)));
  socket.on("error", () => undefined);
  (socket as unknown as { _socket: Socket })._socket.pause(); // the client stops reading
  let peak = start;
  let sent = 0;
  for (; sent < FRAMES && socket.readyState === socket.OPEN; sent++) {
    socket.send(frame(sent));
    if (sent % 10_000 === 0) {
      peak = Math.max(peak, rssOf(pid));
      await sleep(1);
    }
  }
  // Wait for the daemon to cut it: it never reads its close frame, so no close from this side.
  const raw = (socket as unknown as { _socket: Socket })._socket;
  raw.resume();
  const code = await Promise.race([closed, sleep(15_000).then(() => "still open")]);
  peak = Math.max(peak, rssOf(pid));
  const end = await settledRss(pid);
  t.diagnostic(
    `${label}: ${sent} frames sent before the close (${code}); daemon RSS start ${(start / MB).toFixed(1)} MB, ` +
      `peak ${(peak / MB).toFixed(1)} MB, end ${(end / MB).toFixed(1)} MB (${((end - start) / MB).toFixed(1)} MB)`,
  );
  assert.notEqual(code, "still open", "the daemon must close a flooding client");
  assert.ok(end - start < 10 * MB, `RSS grew by ${((end - start) / MB).toFixed(1)} MB`);
}

test("300,000 garbage frames from a client that stops reading: closed, memory back within 10 MB", async (t) => {
  await flood(t, "garbage", (i) => `garbage ${i} {{{`);
});

test("300,000 valid requests from a client that stops reading: closed, memory back within 10 MB", async (t) => {
  await flood(t, "pings", (i) => JSON.stringify({ jsonrpc: "2.0", id: i, method: "system.ping" }));
});
