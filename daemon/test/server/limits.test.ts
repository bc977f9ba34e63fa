/**
 * The per-connection and per-origin limits over real sockets (the server in-process): duplicate
 * Host, the subprotocol, connections per origin, the rate limit (garbage and errors included),
 * refused frames in a row, and the cap on what is queued for a client that stops reading.
 */
import type { Socket } from "node:net";
import assert from "node:assert/strict";
import { RateLimitedData } from "@passerelle/protocol";
import { after, describe, test } from "node:test";
import type WebSocket from "ws";
import { silentLogger, type Logger } from "../../src/audit/logger.ts";
import { CLOSE_GRACE_MS, MAX_REFUSED_IN_A_ROW } from "../../src/server/connection.ts";
import type { RunningServer } from "../../src/server/server.ts";
import { call, closeCode, connect, grantOnly, rawRequest, reasonOf, serve, upgradeLines } from "./serve.ts";

const EHR = "https://ehr.example.fr";
const OTHER = "https://other.example.fr";
const servers: RunningServer[] = [];
after(async () => {
  await Promise.all(servers.map((server) => server.close()));
});

async function started(
  limits: Parameters<typeof serve>[0]["limits"] = {},
  logger: Logger = silentLogger,
): Promise<RunningServer> {
  const server = await serve({ access: grantOnly(EHR, OTHER), limits, logger });
  servers.push(server);
  return server;
}

async function open(server: RunningServer, origin = EHR): Promise<WebSocket> {
  const opened = await connect(server, origin);
  assert.ok("socket" in opened, `${origin} must connect`);
  return opened.socket;
}

describe("upgrade request", () => {
  test("a second Host header after a good one is refused with 403, for the upgrade and for HTTP", async () => {
    const server = await started();
    const port = server.port;
    const good = upgradeLines(port, { Origin: EHR });
    assert.equal(await rawRequest(port, good), 101, "the same request with one Host upgrades");
    assert.equal(await rawRequest(port, [...good, "Host: evil.example"]), 403);
    assert.equal(await rawRequest(port, [...good, `Host: localhost:${port}`]), 403, "even twice the same");
    const health = ["GET /health HTTP/1.1", `Host: localhost:${port}`];
    assert.equal(await rawRequest(port, health), 200);
    assert.equal(await rawRequest(port, [...health, "Host: evil.example"]), 403);
  });

  test("an upgrade that does not offer passerelle.v1 is refused; offering it among others is served", async () => {
    const server = await started();
    assert.deepEqual(await connect(server, EHR, []), { refused: 400 });
    assert.deepEqual(await connect(server, EHR, ["chat"]), { refused: 400 });
    assert.deepEqual(await connect(server, EHR, ["passerelle.v2"]), { refused: 400 });
    const both = await connect(server, EHR, ["chat", "passerelle.v1"]);
    assert.ok("socket" in both);
    assert.equal(both.socket.protocol, "passerelle.v1");
    both.socket.close();
    const port = server.port;
    assert.equal(
      await rawRequest(port, upgradeLines(port, { Origin: EHR, "Sec-WebSocket-Protocol": null })),
      400,
    );
  });

  test("an origin that is not eligible still gets 403 first, whatever the subprotocol", async () => {
    const server = await started();
    assert.deepEqual(await connect(server, "https://evil.example", []), { refused: 403 });
  });
});

describe("per-origin limits", () => {
  test("connections per origin are capped (429), other origins still connect, a closed one frees a place", async () => {
    const server = await started({ maxConnectionsPerOrigin: 3 });
    const sockets = [await open(server), await open(server), await open(server)];
    assert.deepEqual(await connect(server, EHR), { refused: 429 });
    const other = await open(server, OTHER);
    const closed = closeCode(sockets[0] as WebSocket);
    sockets[0]?.close();
    await closed;
    await new Promise((resolve) => setTimeout(resolve, 50));
    sockets[0] = await open(server);
    for (const socket of [...sockets, other]) socket.close();
  });

  test("past the burst an origin gets RATE_LIMITED while another origin is served", async () => {
    const server = await started({ requestBurst: 5, requestsPerSecond: 0.5 });
    const socket = await open(server);
    for (let id = 1; id <= 5; id++)
      assert.ok((await call(socket, id, "system.ping"))["result"], `ping ${id}`);
    const limited = await call(socket, 6, "system.ping");
    assert.equal(reasonOf(limited), "RATE_LIMITED");
    assert.equal((limited["error"] as { code: number }).code, -32003);
    // It says when to come back (0.5/s: a token in about 2 s, capped at 1 s), each refusal later.
    const first = (limited["error"] as { data: { retryAfterMs: number } }).data.retryAfterMs;
    assert.ok(Number.isInteger(first) && first >= 1 && first <= 1000, `retryAfterMs ${first}`);
    assert.equal(RateLimitedData.safeParse((limited["error"] as { data: unknown }).data).success, true);
    const other = await open(server, OTHER);
    assert.ok((await call(other, 1, "system.ping"))["result"], "another origin has its own bucket");
    // The bucket is per origin, not per connection: a new connection does not refill it.
    const again = await open(server);
    assert.equal(reasonOf(await call(again, 1, "system.ping")), "RATE_LIMITED");
    for (const s of [socket, other, again]) s.close();
  });

  test("garbage frames and error answers take tokens too", async () => {
    const server = await started({ requestBurst: 5, requestsPerSecond: 0.5 });
    const socket = await open(server);
    const answers: unknown[] = [];
    socket.on("message", (data) => answers.push(JSON.parse(String(data))));
    for (let i = 0; i < 3; i++) socket.send(`garbage ${i}`);
    socket.send(JSON.stringify({ jsonrpc: "2.0", id: 90, method: "cards.format" }));
    socket.send(JSON.stringify({ jsonrpc: "2.0", id: 91, method: "system.ping", params: { x: 1 } }));
    const limited = await call(socket, 1, "system.ping");
    assert.equal(reasonOf(limited), "RATE_LIMITED", "five errors used the whole burst");
    assert.equal(answers.length, 6, "each error was answered once");
    socket.close();
  });
});

describe("refused frames in a row", () => {
  test(`${MAX_REFUSED_IN_A_ROW} refused frames in a row close the connection with 1008`, async () => {
    const server = await started();
    const socket = await open(server);
    const closed = closeCode(socket);
    for (let i = 0; i < MAX_REFUSED_IN_A_ROW; i++) socket.send(i % 2 ? "[]" : "{not json");
    assert.equal(await closed, 1008);
  });

  test("a good request between them resets the count", async () => {
    const server = await started();
    const socket = await open(server);
    let closedCode: number | null = null;
    socket.once("close", (code) => (closedCode = code));
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < MAX_REFUSED_IN_A_ROW - 1; i++) socket.send("{not json");
      assert.ok((await call(socket, round + 1, "system.ping"))["result"]);
    }
    assert.equal(closedCode, null);
    socket.close();
  });

  test("RATE_LIMITED answers count as refused: a client that keeps sending is closed", async () => {
    const server = await started({ requestBurst: 2, requestsPerSecond: 0.5 });
    const socket = await open(server);
    const closed = closeCode(socket);
    for (let id = 1; id <= 2 + MAX_REFUSED_IN_A_ROW; id++)
      socket.send(JSON.stringify({ jsonrpc: "2.0", id, method: "system.ping" }));
    assert.equal(await closed, 1008);
  });
});

describe("answers queued for a client that does not read", () => {
  test("past maxQueuedBytes the connection is closed (1013) and cut, instead of queueing", async () => {
    const closes: unknown[] = [];
    const logger = {
      ...silentLogger,
      debug: (message: string, meta?: unknown) => closes.push({ message, meta }),
    };
    const server = await started(
      {
        requestBurst: 100_000,
        requestsPerSecond: 10_000,
        maxInFlightPerConnection: 1024,
        maxQueuedBytes: 64 * 1024,
        maxConnectionsPerOrigin: 1,
      },
      logger,
    );
    const socket = await open(server);
    const closed = closeCode(socket, 30_000);
    // Stop reading: the kernel buffers fill, then what the daemon queues itself.
    const raw = (socket as unknown as { _socket: Socket })._socket;
    raw.pause();
    const name = "x".repeat(100);
    let sent = 0;
    while (sent < 60_000 && socket.readyState === socket.OPEN) {
      // Fewer than maxInFlightPerConnection at a time: nothing is refused, everything is answered.
      for (let i = 0; i < 500; i++, sent++) {
        socket.send(
          JSON.stringify({
            jsonrpc: "2.0",
            id: sent,
            method: "system.hello",
            params: { client: { name, version: "1" } },
          }),
        );
      }
      await sleep(10);
    }
    await sleep(CLOSE_GRACE_MS + 500);
    // The daemon has let go of it already (it never read its close frame): its place is free.
    const next = await connect(server, EHR);
    assert.ok("socket" in next, "the non-reading connection still holds its origin's place");
    next.socket.close();
    let received = 0;
    socket.on("message", () => (received += 1));
    raw.resume();
    const code = await closed;
    assert.deepEqual(closes, [
      { message: "connection closed", meta: { origin: EHR, code: 1013, reason: "answers not read" } },
    ]);
    assert.ok(code === 1013 || code === 1006, `closed with ${code} after ${sent} requests`);
    assert.ok(received < sent, `${received} of ${sent} answers were kept for a client that did not read`);
  });
});

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
