/**
 * The real daemon process over real TLS: the upgrade gate, JSON-RPC framing and its errors, limits.
 */
import assert from "node:assert/strict";
import https from "node:https";
import { after, before, describe, test } from "node:test";
import { RpcPeer, openSocket, rssOf, startDaemon, type DaemonProcess } from "../helpers/daemon.ts";

const ORIGIN = "https://ehr.example.fr";
let daemon: DaemonProcess;

before(async () => {
  daemon = await startDaemon({ args: ["--allow-origin", ORIGIN] });
});
after(async () => {
  await daemon.stop();
});

async function peer(): Promise<RpcPeer> {
  const opened = await openSocket(daemon, { origin: ORIGIN });
  assert.ok("socket" in opened, "the allowed origin must be able to connect");
  return new RpcPeer(opened.socket);
}

function get(path: string, headers: Record<string, string> = {}) {
  return new Promise<{ status: number; headers: Record<string, unknown>; body: string }>(
    (resolve, reject) => {
      https
        .get(
          `https://localhost:${daemon.port}${path}`,
          { ca: daemon.caPem, headers, servername: "localhost" },
          (response) => {
            let body = "";
            response.on("data", (chunk) => (body += chunk));
            response.on("end", () =>
              resolve({ status: response.statusCode ?? 0, headers: response.headers, body }),
            );
          },
        )
        .on("error", reject);
    },
  );
}

describe("upgrade gate", () => {
  test("an allowed origin connects over TLS and gets the passerelle.v1 subprotocol", async () => {
    const opened = await openSocket(daemon, { origin: ORIGIN });
    assert.ok("socket" in opened);
    assert.equal(opened.socket.protocol, "passerelle.v1");
    opened.socket.close();
  });

  for (const [label, options] of [
    ["a missing Origin", { origin: null }],
    ["a malformed Origin", { origin: "not an origin" }],
    ["an Origin with a path", { origin: "https://ehr.example.fr/app" }],
    ["a foreign Origin", { origin: "https://evil.example" }],
    ["a look-alike Origin", { origin: "https://ehr.example.fr.evil.example" }],
    ["the right origin on another scheme", { origin: "http://ehr.example.fr" }],
    ["a foreign Host (DNS rebinding)", { host: "evil.example:9712" }],
    ["a Host on the wrong port", { host: "localhost:1" }],
  ] as const) {
    test(`${label} gets 403 and no WebSocket`, async () => {
      const opened = await openSocket(daemon, options);
      assert.deepEqual(opened, { refused: 403 });
    });
  }

  test("a client that does not offer passerelle.v1, or offers another, is refused (400)", async () => {
    assert.deepEqual(await openSocket(daemon, { origin: ORIGIN, protocol: null }), { refused: 400 });
    assert.deepEqual(await openSocket(daemon, { origin: ORIGIN, protocol: "passerelle.v2" }), {
      refused: 400,
    });
  });
});

describe("GET /health", () => {
  test("answers anyone with status ok and no details, no CORS header", async () => {
    const response = await get("/health", { Origin: "https://evil.example" });
    assert.equal(response.status, 200);
    assert.deepEqual(JSON.parse(response.body), { status: "ok" });
    assert.equal(response.headers["access-control-allow-origin"], undefined);
  });

  test("gives an allowed origin the version, with its exact origin in ACAO (never *)", async () => {
    const response = await get("/health", { Origin: ORIGIN });
    const body = JSON.parse(response.body) as { status: string; daemon: { name: string; version: string } };
    assert.equal(body.status, "ok");
    assert.equal(body.daemon.name, "passerelle");
    assert.match(body.daemon.version, /^\d+\.\d+\.\d+/);
    assert.equal(response.headers["access-control-allow-origin"], ORIGIN);
  });

  test("refuses a foreign Host", async () => {
    const response = await get("/health", { Host: "evil.example" });
    assert.equal(response.status, 403);
  });

  test("serves the daemon's page with a strict CSP", async () => {
    const response = await get("/");
    assert.equal(response.status, 200);
    assert.match(String(response.headers["content-security-policy"]), /default-src 'self'/);
    assert.match(String(response.headers["content-security-policy"]), /frame-ancestors 'none'/);
    assert.equal((await get("/../package.json")).status, 404);
  });
});

describe("JSON-RPC", () => {
  test("system.hello and system.ping", async () => {
    const rpc = await peer();
    const hello = await rpc.call("system.hello", { client: { name: "test", version: "1" } });
    const result = hello["result"] as Record<string, unknown>;
    assert.equal((result["daemon"] as { name: string }).name, "passerelle");
    assert.match(String(result["protocol"]), /^1\.\d+$/);
    assert.equal(result["access"], "granted");
    const ping = await rpc.call("system.ping", {});
    assert.ok(!Number.isNaN(Date.parse(String((ping["result"] as { time: string }).time))));
    rpc.close();
  });

  test("a non-JSON frame gets -32700 and the connection stays open", async () => {
    const rpc = await peer();
    const response = await rpc.sendRaw("{not json", null);
    assert.equal((response["error"] as { code: number }).code, -32700);
    assert.equal(response["id"], null);
    const ping = await rpc.call("system.ping", {});
    assert.ok(ping["result"]);
    rpc.close();
  });

  for (const [label, frame] of [
    ["a number", "42"],
    ["an object without jsonrpc", '{"id":1,"method":"system.ping"}'],
    ["a wrong jsonrpc version", '{"jsonrpc":"1.0","id":1,"method":"system.ping"}'],
    ["a method that is not a string", '{"jsonrpc":"2.0","id":1,"method":7}'],
    ["params that are an array", '{"jsonrpc":"2.0","id":1,"method":"system.ping","params":[]}'],
    ["a batch", '[{"jsonrpc":"2.0","id":1,"method":"system.ping"}]'],
  ] as const) {
    test(`${label} gets -32600`, async () => {
      const rpc = await peer();
      const id = frame.includes('"id":1') && !frame.startsWith("[") ? 1 : null;
      const response = await rpc.sendRaw(frame, id);
      assert.equal((response["error"] as { code: number }).code, -32600);
      rpc.close();
    });
  }

  test("an unknown method gets -32601", async () => {
    const rpc = await peer();
    const response = await rpc.call("cards.format", {});
    assert.equal((response["error"] as { code: number }).code, -32601);
    rpc.close();
  });

  test("wrong params get -32602 with data.issues naming each bad field", async () => {
    const rpc = await peer();
    const response = await rpc.call("insi.searchByTraits", {
      birthName: "",
      firstNames: "JEAN",
      sex: "X",
      birthDate: "1980-1-1",
      extra: true,
    });
    const error = response["error"] as {
      code: number;
      data: { issues: Array<{ path: string; message: string }> };
    };
    assert.equal(error.code, -32602);
    const paths = error.data.issues.map((issue) => issue.path).sort();
    assert.deepEqual(paths, ["birthDate", "birthName", "extra", "firstNames", "sex"]);
    rpc.close();
  });

  test("a notification (no id) gets no answer", async () => {
    const rpc = await peer();
    rpc.socket.send(JSON.stringify({ jsonrpc: "2.0", method: "system.ping" }));
    const ping = await rpc.call("system.ping", {});
    assert.equal(ping["id"], 1, "the first response on the wire is the ping's");
    rpc.close();
  });

  test("a frame over 64 KiB closes the connection with 1009", async () => {
    const rpc = await peer();
    const closed = new Promise<number>((resolve) => rpc.socket.once("close", (code) => resolve(code)));
    rpc.socket.send(
      JSON.stringify({ jsonrpc: "2.0", id: 1, method: "system.ping", params: { pad: "x".repeat(70_000) } }),
    );
    assert.equal(await closed, 1009);
  });

  test("garbage frames: answered one by one, then the connection is closed (1008), memory back", async () => {
    const rpc = await peer();
    await rpc.call("system.ping", {});
    const pid = daemon.child.pid as number;
    const before = rssOf(pid);
    const closed = new Promise<number>((resolve) => rpc.socket.once("close", (code) => resolve(code)));
    for (let i = 0; i < 1000; i++) {
      const kind = i % 4;
      rpc.socket.send(
        kind === 0
          ? `garbage ${i} {{{`
          : kind === 1
            ? "[]"
            : kind === 2
              ? '{"jsonrpc":"2.0"}'
              : Buffer.alloc(100, i),
      );
    }
    assert.equal(await closed, 1008, "too many refused frames in a row");
    await new Promise((r) => setTimeout(r, 500));
    const grown = rssOf(pid) - before;
    assert.ok(grown < 10 * 1024 * 1024, `RSS grew by ${grown} bytes`);
    const next = await peer();
    assert.ok((await next.call("system.ping", {}))["result"], "the daemon still serves the origin");
    next.close();
  });
});
