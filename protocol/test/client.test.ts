/**
 * The SDK's connection handling against a scripted WebSocket (the daemon-backed behaviour is in
 * test/sdk): one socket at a time, and a late close event from a replaced socket changes nothing.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { PasserelleClient, rateLimitedWait, type WebSocketLike } from "../src/index.ts";

class ScriptedSocket implements WebSocketLike {
  readyState = 0;
  protocol = "passerelle.v1";
  sent: string[] = [];
  onopen: ((event: unknown) => void) | null = null;
  onclose: ((event: { code: number; reason: string }) => void) | null = null;
  onerror: ((event: unknown) => void) | null = null;
  onmessage: ((event: { data: unknown }) => void) | null = null;
  send(data: string): void {
    this.sent.push(data);
  }
  close(): void {
    this.readyState = 3;
  }
  open(): void {
    this.readyState = 1;
    this.onopen?.({});
  }
  closed(code = 1006): void {
    this.readyState = 3;
    this.onclose?.({ code, reason: "" });
  }
  answer(result: unknown): void {
    const request = JSON.parse(this.sent.at(-1) as string) as { id: number };
    this.onmessage?.({ data: JSON.stringify({ jsonrpc: "2.0", id: request.id, result }) });
  }
}

function scripted() {
  const sockets: ScriptedSocket[] = [];
  const client = new PasserelleClient({
    url: "ws://localhost:9712/v1",
    createWebSocket: () => {
      const socket = new ScriptedSocket();
      sockets.push(socket);
      return socket;
    },
    reconnectDelayMs: { min: 10, max: 20 },
  });
  return { client, sockets };
}

test("connect() twice while connecting opens one socket and both calls share its outcome", async () => {
  const { client, sockets } = scripted();
  const first = client.connect();
  const second = client.connect();
  assert.equal(sockets.length, 1);
  sockets[0]?.open();
  await Promise.all([first, second]);
  assert.equal(client.state, "open");
  client.close();
});

test("a late close event from a replaced socket does not fail the new socket's calls", async () => {
  const { client, sockets } = scripted();
  const opening = client.connect();
  sockets[0]?.open();
  await opening;
  client.close();
  const again = client.connect();
  assert.equal(sockets.length, 2);
  sockets[1]?.open();
  await again;
  const ping = client.call("system.ping", {});
  sockets[0]?.closed(1000); // the first socket's close event arrives only now
  sockets[1]?.answer({ time: "2026-01-01T00:00:00.000Z" });
  assert.deepEqual(await ping, { time: "2026-01-01T00:00:00.000Z" });
  assert.equal(client.state, "open");
  assert.equal(sockets.length, 2, "no reconnection was started by the stale close");
  client.close();
});

test("an unexpected close fails pending calls with DISCONNECTED and reconnects", async () => {
  const { client, sockets } = scripted();
  const opening = client.connect();
  sockets[0]?.open();
  await opening;
  const ping = client.call("system.ping", {});
  sockets[0]?.closed();
  await assert.rejects(ping, (error: { reason?: string }) => error.reason === "DISCONNECTED");
  assert.equal(client.state, "reconnecting");
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.equal(sockets.length, 2);
  client.close();
});

test("calls that may wait for a person get the longer default timeout", async () => {
  const sockets: ScriptedSocket[] = [];
  const client = new PasserelleClient({
    url: "ws://localhost:9712/v1",
    createWebSocket: () => {
      const socket = new ScriptedSocket();
      sockets.push(socket);
      return socket;
    },
    callTimeoutMs: 20,
    userCallTimeoutMs: 200,
  });
  const opening = client.connect();
  sockets[0]?.open();
  await opening;
  const ping = client.call("system.ping", {});
  const pin = client.call("cps.verifyPin", {});
  await assert.rejects(ping, (error: { reason?: string }) => error.reason === "TIMEOUT");
  await new Promise((resolve) => setTimeout(resolve, 50));
  sockets[0]?.answer({ verified: true, triesRemaining: 3 });
  assert.deepEqual(await pin, { verified: true, triesRemaining: 3 });
  client.close();
});

/** A client with discovery over three ports; its sockets by URL. */
function discovering() {
  const sockets = new Map<string, ScriptedSocket[]>();
  const client = new PasserelleClient({
    url: "ws://localhost/v1",
    ports: [9801, 9802, 9803],
    createWebSocket: (url) => {
      const socket = new ScriptedSocket();
      sockets.set(url, [...(sockets.get(url) ?? []), socket]);
      return socket;
    },
    discoveryTimeoutMs: 2000,
    reconnect: false,
  });
  const at = (port: number, index = 0) => sockets.get(`ws://localhost:${port}/v1`)?.[index];
  return { client, sockets, at };
}

test("the default ports are the daemon's default range", async () => {
  const { DEFAULT_PORT_RANGE } = await import("../src/schemas.ts");
  const { DISCOVERY_PORTS } = await import("../src/client.ts");
  const range: number[] = [];
  for (let port = DEFAULT_PORT_RANGE.first; port <= DEFAULT_PORT_RANGE.last; port++) range.push(port);
  assert.deepEqual(DISCOVERY_PORTS, range);
});

test("discovery: the last found port alone first, then every other at once; the one that accepts is kept", async () => {
  const { client, sockets, at } = discovering();
  const opening = client.connect();
  assert.deepEqual([...sockets.keys()], ["ws://localhost:9801/v1"], "one socket first");
  at(9801)?.closed(1006); // another user's daemon: 403 at the upgrade
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(sockets.size, 3, "then the other ports in parallel");
  at(9803)?.open(); // this user's daemon
  await opening;
  assert.equal(client.state, "open");
  assert.equal(client.daemonUrl, "ws://localhost:9803/v1");
  assert.equal(at(9802)?.readyState, 3, "the still-trying socket is closed");
  // The connection is the discovery's socket itself: no second socket to the same daemon.
  const ping = client.call("system.ping", {});
  at(9803)?.answer({ time: "2026-01-01T00:00:00.000Z" });
  assert.deepEqual(await ping, { time: "2026-01-01T00:00:00.000Z" });
  assert.equal(sockets.get("ws://localhost:9803/v1")?.length, 1);
  // Next time the found port is tried first, alone.
  client.close();
  const again = client.connect();
  assert.equal(sockets.get("ws://localhost:9803/v1")?.length, 2);
  assert.equal(sockets.get("ws://localhost:9801/v1")?.length, 1);
  at(9803, 1)?.open();
  await again;
  client.close();
});

test("discovery: nobody accepts → DISCONNECTED naming the ports, state closed", async () => {
  const { client, at } = discovering();
  const opening = client.connect();
  at(9801)?.closed(1006);
  await new Promise((resolve) => setImmediate(resolve));
  at(9802)?.closed(1006);
  at(9803)?.closed(1006);
  await assert.rejects(opening, (error: Error & { reason?: string }) => {
    assert.equal(error.reason, "DISCONNECTED");
    assert.match(error.message, /9802.*9803/);
    return true;
  });
  assert.equal(client.state, "closed");
});

test("discovery is bounded: a port that never answers ends the round at the timeout", async () => {
  const sockets: ScriptedSocket[] = [];
  const client = new PasserelleClient({
    url: "ws://localhost/v1",
    ports: [9801, 9802],
    createWebSocket: () => {
      const socket = new ScriptedSocket();
      sockets.push(socket);
      return socket;
    },
    discoveryTimeoutMs: 50,
    reconnect: false,
  });
  const started = Date.now();
  await assert.rejects(client.connect(), /no Passerelle of this user answered in 50 ms/);
  assert.ok(Date.now() - started < 5000);
  assert.ok(
    sockets.every((socket) => socket.readyState === 3),
    "every socket is closed",
  );
});

function notify(socket: ScriptedSocket, method: string, params: unknown): void {
  socket.onmessage?.({ data: JSON.stringify({ jsonrpc: "2.0", method, params }) });
}

async function openClient() {
  const { client, sockets } = scripted();
  const connecting = client.connect();
  const socket = sockets[0] as ScriptedSocket;
  socket.open();
  await connecting;
  return { client, socket };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

test("requestAccess: shows the code, ignores `pending`, resolves with the user's decision", async () => {
  const { client, socket } = await openClient();
  const codes: string[] = [];
  const decision = client.requestAccess("EHR", { onPairingCode: (code) => codes.push(code) });
  assert.deepEqual(JSON.parse(socket.sent.at(-1) as string).params, { appName: "EHR" });
  notify(socket, "access.changed", { access: "pending" });
  socket.answer({ access: "pending", pairingCode: "042917" });
  await tick();
  assert.deepEqual(codes, ["042917"]);
  notify(socket, "access.changed", { access: "pending" });
  notify(socket, "access.changed", { access: "denied" });
  assert.equal(await decision, "denied");
  client.close();
});

test("requestAccess: already granted answers at once; no decision in time is TIMEOUT; a dropped connection DISCONNECTED", async () => {
  const { client, socket } = await openClient();
  const granted = client.requestAccess();
  socket.answer({ access: "granted" });
  assert.equal(await granted, "granted");

  const late = client.requestAccess("EHR", { timeoutMs: 30 });
  socket.answer({ access: "pending", pairingCode: "123456" });
  await assert.rejects(late, (error: unknown) => (error as { reason?: string }).reason === "TIMEOUT");

  const dropped = client.requestAccess("EHR");
  socket.answer({ access: "pending", pairingCode: "123456" });
  await tick();
  socket.closed(1006);
  await assert.rejects(dropped, (error: unknown) => (error as { reason?: string }).reason === "DISCONNECTED");
  client.close();
});

test("requestAccess: the daemon's refusal (CONSENT_UNAVAILABLE) rejects with its reason", async () => {
  const { client, socket } = await openClient();
  const asked = client.requestAccess("EHR");
  const request = JSON.parse(socket.sent.at(-1) as string) as { id: number };
  socket.onmessage?.({
    data: JSON.stringify({
      jsonrpc: "2.0",
      id: request.id,
      error: {
        code: -32006,
        message: "no desktop",
        data: { reason: "CONSENT_UNAVAILABLE", retriable: true },
      },
    }),
  });
  await assert.rejects(
    asked,
    (error: unknown) => (error as { reason?: string }).reason === "CONSENT_UNAVAILABLE",
  );
  client.close();
});

/** Answers the last frame sent with RATE_LIMITED carrying `data`. */
function rateLimited(socket: ScriptedSocket, data: Record<string, unknown>): void {
  const request = JSON.parse(socket.sent.at(-1) as string) as { id: number };
  socket.onmessage?.({
    data: JSON.stringify({
      jsonrpc: "2.0",
      id: request.id,
      error: {
        code: -32003,
        message: "too many",
        data: { reason: "RATE_LIMITED", retriable: true, ...data },
      },
    }),
  });
}

/** Resolves once the socket has sent `count` frames (bounded). */
async function sentCount(socket: ScriptedSocket, count: number): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (socket.sent.length < count) {
    if (Date.now() > deadline) throw new Error(`${socket.sent.length} frames sent, ${count} expected`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

test("RATE_LIMITED with retryAfterMs: the call is sent again no sooner than the daemon said, and resolves", async () => {
  const { client, socket } = await openClient();
  const ping = client.call("system.ping", {});
  const first = JSON.parse(socket.sent.at(-1) as string) as { id: number; method: string };
  const refusedAt = Date.now();
  rateLimited(socket, { retryAfterMs: 40 });
  await sentCount(socket, 2);
  assert.ok(Date.now() - refusedAt >= 39, `sent again after ${Date.now() - refusedAt} ms`);
  const again = JSON.parse(socket.sent.at(-1) as string) as { id: number; method: string; params: unknown };
  assert.notEqual(again.id, first.id, "a new request");
  assert.deepEqual([again.method, again.params], ["system.ping", {}]);
  socket.answer({ time: "2026-01-01T00:00:00.000Z" });
  assert.deepEqual(await ping, { time: "2026-01-01T00:00:00.000Z" });
  client.close();
});

test("RATE_LIMITED: given up after rateLimitRetries, never retried for the consent pages' limit, ended by close()", async () => {
  const { client, socket } = await openClient();
  // The consent pages' limit is a wait for a person: rejected at once, nothing sent again.
  const asked = client.call("access.request", {});
  rateLimited(socket, { retryAfterSeconds: 300 });
  await assert.rejects(asked, (error: { reason?: string }) => error.reason === "RATE_LIMITED");
  assert.equal(socket.sent.length, 1);
  // Three retries by default, then the RATE_LIMITED itself, with its retryAfterMs readable.
  const ping = client.call("system.ping", {});
  for (let frame = 2; frame <= 5; frame += 1) {
    await sentCount(socket, frame);
    rateLimited(socket, { retryAfterMs: 1 });
  }
  await assert.rejects(
    ping,
    (error: { reason?: string; retryAfterMs?: number }) =>
      error.reason === "RATE_LIMITED" && error.retryAfterMs === 1,
  );
  assert.equal(socket.sent.length, 5, "the first send and three more");
  // close() during the wait: DISCONNECTED at once, nothing sent later.
  const waiting = client.call("system.ping", {});
  rateLimited(socket, { retryAfterMs: 500 });
  await tick();
  client.close();
  await assert.rejects(waiting, (error: { reason?: string }) => error.reason === "DISCONNECTED");
  assert.equal(socket.sent.length, 6);
});

test("rateLimitedWait: the daemon's retryAfterMs plus up to a quarter at random; without it, a growing jittered wait", () => {
  assert.equal(
    rateLimitedWait({ retryAfterMs: 100 }, 0, () => 0),
    100,
  );
  assert.equal(
    rateLimitedWait({ retryAfterMs: 100 }, 5, () => 1),
    125,
  );
  assert.equal(rateLimitedWait({ retryAfterSeconds: 30 }, 0), null);
  assert.equal(
    rateLimitedWait({}, 0, () => 0),
    12.5,
  );
  assert.equal(
    rateLimitedWait({}, 0, () => 1),
    25,
  );
  assert.equal(
    rateLimitedWait({}, 3, () => 1),
    200,
  );
  assert.equal(
    rateLimitedWait({}, 20, () => 0),
    500,
    "bounded by 1 s",
  );
  // Clients refused together do not all come back together.
  const waits = new Set(Array.from({ length: 20 }, () => rateLimitedWait({ retryAfterMs: 100 }, 0)));
  assert.ok(waits.size > 1);
});
