/**
 * The server in-process over real sockets, with chosen limits and policy, for the limit and gate
 * tests; and a raw client that writes the upgrade request itself (duplicate headers, no subprotocol).
 */
import net from "node:net";
import WebSocket from "ws";
import type { AccessPolicy } from "../../src/access/access-policy.ts";
import type { Logger } from "../../src/audit/logger.ts";
import { silentLogger } from "../../src/audit/logger.ts";
import { createPublicLayoutVitaleReader, createVitaleService } from "../../src/cards/vitale/index.ts";
import { LIMIT_DEFAULTS } from "../../src/config/config.ts";
import { NoReaders } from "../../src/pcsc/readers.ts";
import { handlers } from "../../src/server/methods/index.ts";
import { PinPage } from "../../src/server/pin-prompt.ts";
import { startServer, type RunningServer, type ServerOptions } from "../../src/server/server.ts";

/** A policy granting exactly these origins. */
export function grantOnly(...origins: string[]): AccessPolicy {
  return {
    eligible: (origin) => origins.includes(origin),
    state: (origin) => (origins.includes(origin) ? "granted" : "none"),
    request: async () => ({ access: "denied" }),
    pinFromPage: () => false,
    onChange: () => () => undefined,
  };
}

export function serve(options: {
  access: AccessPolicy;
  limits?: Partial<ServerOptions["limits"]>;
  logger?: Logger;
}): Promise<RunningServer> {
  return startServer({
    port: 0,
    hosts: ["127.0.0.1"],
    services: {
      version: "0.0.0-test",
      simulation: false,
      capabilities: [],
      readers: new NoReaders(),
      access: options.access,
      logger: options.logger ?? silentLogger,
      vitale: createVitaleService({ reader: createPublicLayoutVitaleReader() }),
      lab: null,
      isSelfOrigin: () => false,
      audit: { record: async () => undefined },
      pinPage: new PinPage({ url: () => null }),
      insi: null,
      insiMode: null,
    },
    handlers,
    limits: { ...LIMIT_DEFAULTS, ...options.limits },
  });
}

/** Opens a WebSocket from `origin`; resolves with the socket or the HTTP status of the refusal. */
export function connect(
  server: RunningServer,
  origin: string,
  protocols: string[] = ["passerelle.v1"],
): Promise<{ socket: WebSocket } | { refused: number }> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(`ws://127.0.0.1:${server.port}/v1`, protocols, {
      origin,
      headers: { Host: `localhost:${server.port}` },
    });
    socket.once("open", () => resolve({ socket }));
    socket.once("unexpected-response", (_request, response) => {
      resolve({ refused: response.statusCode ?? 0 });
      socket.terminate();
    });
    socket.once("error", reject);
  });
}

/** Writes a hand-made HTTP request and resolves with the status line's code. */
export function rawRequest(port: number, lines: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1", () => socket.write(`${lines.join("\r\n")}\r\n\r\n`));
    let text = "";
    socket.setEncoding("latin1");
    socket.on("data", (chunk: string) => {
      text += chunk;
      const match = /^HTTP\/1\.1 (\d{3})/.exec(text);
      if (match) {
        resolve(Number(match[1]));
        socket.destroy();
      }
    });
    socket.on("error", reject);
    socket.on("close", () => reject(new Error(`closed without a status: ${JSON.stringify(text)}`)));
  });
}

/** The lines of a WebSocket upgrade request for /v1 (a header can be dropped by passing null). */
export function upgradeLines(port: number, extra: Record<string, string | null> = {}): string[] {
  const headers: Record<string, string | null> = {
    Host: `localhost:${port}`,
    Upgrade: "websocket",
    Connection: "Upgrade",
    "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
    "Sec-WebSocket-Version": "13",
    "Sec-WebSocket-Protocol": "passerelle.v1",
    ...extra,
  };
  const lines = ["GET /v1 HTTP/1.1"];
  for (const [name, value] of Object.entries(headers)) if (value !== null) lines.push(`${name}: ${value}`);
  return lines;
}

/** Sends a JSON-RPC request and waits for the response with its id. */
export function call(
  socket: WebSocket,
  id: number,
  method: string,
  params: unknown = {},
): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer to ${method} #${id}`)), 5000);
    const onMessage = (data: WebSocket.RawData) => {
      const message = JSON.parse(String(data)) as Record<string, unknown>;
      if (message["id"] !== id) return;
      socket.off("message", onMessage);
      clearTimeout(timer);
      resolve(message);
    };
    socket.on("message", onMessage);
    socket.send(JSON.stringify({ jsonrpc: "2.0", id, method, params }));
  });
}

export function reasonOf(response: Record<string, unknown>): string | undefined {
  const error = response["error"] as { data?: { reason?: string } } | undefined;
  return error?.data?.reason;
}

/** The close code of the socket, or "still open" after `timeoutMs`. */
export function closeCode(socket: WebSocket, timeoutMs = 5000): Promise<number | "still open"> {
  return new Promise((resolve) => {
    if (socket.readyState === WebSocket.CLOSED) return resolve(-1);
    const timer = setTimeout(() => resolve("still open"), timeoutMs);
    socket.once("close", (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}
