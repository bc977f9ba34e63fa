/**
 * The client SDK against the real daemon: connect with the subprotocol, correlate, time out, carry
 * the protocol's reason, reconnect after a daemon restart, probe /health.
 */
import assert from "node:assert/strict";
import { after, test } from "node:test";
import WebSocket from "ws";
import { PasserelleClient, PasserelleError, type WebSocketLike } from "@passerelle/protocol";
import { startDaemon, type DaemonProcess } from "../helpers/daemon.ts";

const ORIGIN = "https://ehr.example.fr";
const running: DaemonProcess[] = [];
after(async () => {
  await Promise.all(running.map((daemon) => daemon.stop()));
});

async function daemonOn(options: Parameters<typeof startDaemon>[0] = {}): Promise<DaemonProcess> {
  const daemon = await startDaemon({ ...options, args: ["--allow-origin", ORIGIN, ...(options.args ?? [])] });
  running.push(daemon);
  return daemon;
}

function nodeWebSocket(caPem: string | undefined, origin = ORIGIN) {
  return (url: string, protocol: string) =>
    new WebSocket(url, protocol, { origin, ...(caPem ? { ca: caPem } : {}) }) as unknown as WebSocketLike;
}

test("connects over TLS, says hello, pings, and correlates concurrent calls", async () => {
  const daemon = await daemonOn();
  const client = new PasserelleClient({ url: daemon.url, createWebSocket: nodeWebSocket(daemon.caPem) });
  await client.connect();
  assert.equal(client.state, "open");
  const hello = await client.call("system.hello", { client: { name: "sdk-test", version: "1.0.0" } });
  assert.equal(hello.daemon.name, "passerelle");
  assert.equal(hello.access, "granted");
  const results = await Promise.all(Array.from({ length: 20 }, () => client.call("system.ping", {})));
  assert.equal(results.length, 20);
  for (const result of results) assert.ok(Date.parse(result.time) > 0);
  client.close();
  assert.equal(client.state, "closed");
});

test("errors carry the protocol's code and reason", async () => {
  const daemon = await daemonOn();
  const client = new PasserelleClient({ url: daemon.url, createWebSocket: nodeWebSocket(daemon.caPem) });
  await client.connect();
  await assert.rejects(
    client.call("cps.verifyPin", { pin: "12" }),
    (error: unknown) =>
      error instanceof PasserelleError && error.code === -32602 && Array.isArray(error.data["issues"]),
  );
  client.close();
});

test("a refused origin cannot connect; calls before connecting fail with NOT_CONNECTED", async () => {
  const daemon = await daemonOn();
  const client = new PasserelleClient({
    url: daemon.url,
    createWebSocket: nodeWebSocket(daemon.caPem, "https://evil.example"),
    reconnect: false,
  });
  await assert.rejects(
    client.connect(),
    (error: unknown) => error instanceof PasserelleError && error.reason === "DISCONNECTED",
  );
  await assert.rejects(
    client.call("system.ping", {}),
    (error: unknown) => error instanceof PasserelleError && error.reason === "NOT_CONNECTED",
  );
});

test("a call that gets no answer in time rejects with TIMEOUT", async () => {
  const daemon = await daemonOn();
  const client = new PasserelleClient({ url: daemon.url, createWebSocket: nodeWebSocket(daemon.caPem) });
  await client.connect();
  daemon.child.kill("SIGSTOP"); // the daemon hangs: nothing will answer
  try {
    await assert.rejects(
      client.call("system.ping", {}, { timeoutMs: 300 }),
      (error: unknown) => error instanceof PasserelleError && error.reason === "TIMEOUT" && error.retriable,
    );
  } finally {
    daemon.child.kill("SIGCONT");
  }
  client.close();
});

test("reconnects with backoff after a daemon restart", async () => {
  const first = await daemonOn({ plaintext: true });
  const client = new PasserelleClient({
    url: first.url,
    createWebSocket: nodeWebSocket(undefined),
    reconnectDelayMs: { min: 100, max: 500 },
  });
  const states: string[] = [];
  client.onStateChange((state) => states.push(state));
  await client.connect();
  await client.call("events.subscribe", { topics: ["readers"] });
  await first.stop();
  await waitFor(() => client.state === "reconnecting");
  const second = await daemonOn({ plaintext: true, port: first.port });
  await waitFor(() => client.state === "open", 15_000);
  const ping = await client.call("system.ping", {});
  assert.ok(ping.time);
  assert.ok(states.includes("reconnecting"));
  client.close();
  await second.stop();
});

test("probe tells running (with or without access) from not running", async () => {
  const daemon = await daemonOn({ plaintext: true });
  const withOrigin = (origin: string) => (url: string, init: { signal: AbortSignal }) =>
    fetch(url, { signal: init.signal, headers: { Origin: origin } });
  const allowed = new PasserelleClient({ url: daemon.url, fetch: withOrigin(ORIGIN) });
  const result = await allowed.probe();
  assert.equal(result.status, "running");
  assert.ok(result.status === "running" && result.allowed && result.daemon?.name === "passerelle");
  const stranger = new PasserelleClient({ url: daemon.url, fetch: withOrigin("https://other.example") });
  assert.deepEqual(await stranger.probe(), { status: "running", allowed: false });
  await daemon.stop();
  const gone = await allowed.probe(1000);
  assert.deepEqual(gone, { status: "unreachable", blockedByBrowser: "unknown", reason: "unknown" });
});

async function waitFor(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
