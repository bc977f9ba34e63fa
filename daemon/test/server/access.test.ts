/**
 * Before access is granted, only system.hello, system.ping and access.request are answered: the
 * server in-process with a policy that lets an origin connect without granting it (what pairing
 * will do), over a real socket.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import WebSocket from "ws";
import type { AccessPolicy } from "../../src/access/access-policy.ts";
import { silentLogger } from "../../src/audit/logger.ts";
import { createVitaleService, createPublicLayoutVitaleReader } from "../../src/cards/vitale/index.ts";
import { NoReaders } from "../../src/pcsc/readers.ts";
import { handlers } from "../../src/server/methods/index.ts";
import { PinPage } from "../../src/server/pin-prompt.ts";
import { startServer, type RunningServer } from "../../src/server/server.ts";
import { LIMIT_DEFAULTS } from "../../src/config/config.ts";

const PENDING = "https://pending.example";
const policy: AccessPolicy = {
  eligible: (origin) => origin === PENDING,
  state: () => "pending",
  request: async () => ({ access: "pending", pairingCode: "123456" }),
  pinFromPage: () => false,
  onChange: () => () => undefined,
};

let server: RunningServer;
before(async () => {
  server = await startServer({
    port: 0,
    hosts: ["127.0.0.1"],
    services: {
      version: "0.0.0-test",
      simulation: false,
      capabilities: [],
      readers: new NoReaders(),
      access: policy,
      logger: silentLogger,
      vitale: createVitaleService({ reader: createPublicLayoutVitaleReader() }),
      lab: null,
      isSelfOrigin: () => false,
      audit: { record: async () => undefined },
      pinPage: new PinPage({ url: () => null }),
      insi: null,
      insiMode: null,
    },
    handlers,
    limits: { ...LIMIT_DEFAULTS },
  });
});
after(async () => {
  await server.close();
});

function call(
  socket: WebSocket,
  id: number,
  method: string,
  params: unknown = {},
): Promise<Record<string, unknown>> {
  return new Promise((resolve) => {
    const onMessage = (data: WebSocket.RawData) => {
      const message = JSON.parse(String(data)) as Record<string, unknown>;
      if (message["id"] !== id) return;
      socket.off("message", onMessage);
      resolve(message);
    };
    socket.on("message", onMessage);
    socket.send(JSON.stringify({ jsonrpc: "2.0", id, method, params }));
  });
}

test("a connected but not granted origin gets ACCESS_DENIED for everything but hello, ping, access.request", async () => {
  const socket = new WebSocket(server.url.replace("localhost", "127.0.0.1"), ["passerelle.v1"], {
    origin: PENDING,
    headers: { Host: `localhost:${server.port}` },
  });
  await new Promise((resolve, reject) => socket.once("open", resolve).once("error", reject));
  const hello = await call(socket, 1, "system.hello", { client: { name: "t", version: "1" } });
  assert.equal((hello["result"] as { access: string }).access, "pending");
  assert.ok((await call(socket, 2, "system.ping"))["result"]);
  assert.deepEqual((await call(socket, 3, "access.request", { appName: "EHR" }))["result"], {
    access: "pending",
    pairingCode: "123456",
  });
  for (const [id, method, params] of [
    [4, "readers.list", {}],
    [5, "events.subscribe", { topics: ["cards"] }],
    [6, "vitale.read", {}],
    [7, "cps.read", {}],
    [8, "insi.searchByTraits", { birthName: "X", firstNames: ["Y"], sex: "F", birthDate: "2000-01-01" }],
  ] as const) {
    const response = await call(socket, id, method, params);
    const error = response["error"] as { code: number; data: { reason: string } };
    assert.equal(error.code, -32001, method);
    assert.equal(error.data.reason, "ACCESS_DENIED");
  }
  socket.close();
});
