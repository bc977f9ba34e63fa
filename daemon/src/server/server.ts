/**
 * The HTTPS (or, with --plaintext, HTTP) server on 127.0.0.1 and ::1, the WebSocket endpoint /v1
 * behind the upgrade gate, GET /health and the daemon's own page.
 */
import http from "node:http";
import https from "node:https";
import type { Socket } from "node:net";
import type { Duplex } from "node:stream";
import path from "node:path";
import { SUBPROTOCOL, WS_PATH, type NotificationName, type NotificationParams } from "@passerelle/protocol";
import { WebSocketServer } from "ws";
import type { ReaderEvent } from "../pcsc/readers.ts";
import type { WebFiles } from "../runtime/index.ts";
import { Connection } from "./connection.ts";
import { checkHttpRequest, checkUpgrade, countHeader, offersSubprotocol } from "./gate.ts";
import type { Handlers, Services } from "./methods/index.ts";
import { RateLimiter } from "./rate-limiter.ts";
import { RefusalLog } from "./refusal-log.ts";
import { peerUser, peerUserSupported } from "./peer-user.ts";
import { cardInfo, readerView } from "./views.ts";

export interface ServerOptions {
  port: number;
  /** With it, the ports `port`…`lastPort` are tried in turn and the first free one is taken. */
  lastPort?: number;
  /** PEM material for HTTPS/WSS; absent: plaintext HTTP/WS (development and tests only). */
  tls?: { certPem: string; keyPem: string };
  services: Services;
  handlers: Handlers;
  limits: {
    maxFrameBytes: number;
    requestsPerSecond: number;
    requestBurst: number;
    maxInFlightPerConnection: number;
    maxConnectionsPerOrigin: number;
    /** Bytes of answers that may wait to be sent to one client. */
    maxQueuedBytes: number;
  };
  /** The daemon's own page (index.html and its assets) and the browser SDK bundle (/sdk/passerelle-client.js). */
  webFiles?: WebFiles;
  /** Addresses to listen on. Default 127.0.0.1 and ::1 (::1 skipped when the host has no IPv6). */
  hosts?: string[];
  /**
   * Serve only peers owned by this local user (uid). Default: the daemon's own uid where the owner
   * of a peer socket can be told (Linux); null: no check.
   */
  peerUid?: number | null;
}

export interface RunningServer {
  readonly port: number;
  /** ws(s)://localhost:<port>/v1 */
  readonly url: string;
  /** The daemon's own origins (its page), e.g. https://localhost:9712. */
  readonly selfOrigins: string[];
  /** Sends a notification to the connections of the daemon's own pages; returns how many. */
  notifySelf<N extends NotificationName>(name: N, params: NotificationParams<N>): number;
  /**
   * Sends `pin.requested` to the PIN pages: the connections of the daemon's own origin that asked for
   * the PIN requests (`pin.pending`). Returns how many: 0 means no page shows the request (another
   * connection of that origin — a lab script, the consent page — does not count).
   */
  notifyPinPages(): number;
  /** Closes every connection with 1001 (going away) and stops listening. */
  close(): Promise<void>;
}

export class PortInUseError extends Error {
  override readonly name = "PortInUseError";
  /** The ports that were tried, all taken. */
  readonly ports: number[];
  constructor(message: string, ports: number[]) {
    super(message);
    this.ports = ports;
  }
}

/** Where the browser bundle of the SDK is served. */
export const SDK_PATH = "/sdk/passerelle-client.js";

/** Handshake and idle limits: a client that never finishes its handshake is dropped. */
const HEADERS_TIMEOUT_MS = 10_000;
const REQUEST_TIMEOUT_MS = 30_000;

const STATIC_TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".json": "application/json",
};

export function selfOriginsFor(port: number, secure: boolean): string[] {
  const scheme = secure ? "https" : "http";
  return [`${scheme}://localhost:${port}`, `${scheme}://127.0.0.1:${port}`, `${scheme}://[::1]:${port}`];
}

function securityHeaders(port: number): Record<string, string> {
  const ws = `ws://localhost:${port} wss://localhost:${port} ws://127.0.0.1:${port} wss://127.0.0.1:${port}`;
  return {
    "Content-Security-Policy": `default-src 'self'; connect-src 'self' ${ws}; img-src 'self' data:; style-src 'self'; script-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'none'`,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
  };
}

export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const { services, handlers, limits } = options;
  const secure = options.tls !== undefined;
  // Port 0 (tests): the first listener picks a free port, the second reuses it.
  let port = options.port;
  const rateLimiter = new RateLimiter(limits.requestsPerSecond, limits.requestBurst);
  const connections = new Set<Connection>();
  const perOrigin = new Map<string, number>();
  const refusals = new RefusalLog(services.logger);
  const peerUid =
    options.peerUid !== undefined
      ? options.peerUid
      : peerUserSupported() && process.getuid
        ? process.getuid()
        : null;
  if (peerUid === null)
    services.logger.warn("per-user isolation unavailable: any local user's client is served");
  // One look-up per TCP connection (keep-alive requests share it).
  const peerChecks = new WeakMap<Socket, Promise<boolean>>();
  const samePeerUser = (socket: Socket): Promise<boolean> => {
    if (peerUid === null) return Promise.resolve(true);
    let check = peerChecks.get(socket);
    if (!check) {
      const { remoteAddress, remotePort, localAddress, localPort } = socket;
      check =
        remoteAddress && remotePort && localAddress && localPort
          ? peerUser({ remoteAddress, remotePort, localAddress, localPort }).then(
              // Not found (the peer is gone, or a socket we cannot see): refused, never guessed.
              (owner) => owner !== "unsupported" && owner !== "not found" && owner.uid === peerUid,
              () => false,
            )
          : Promise.resolve(false);
      peerChecks.set(socket, check);
    }
    return check;
  };

  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: limits.maxFrameBytes,
    perMessageDeflate: false, // compression bombs and CPU for frames this small: not worth it
    handleProtocols: (offered) => (offered.has(SUBPROTOCOL) ? SUBPROTOCOL : false),
  });

  const onRequest = (request: http.IncomingMessage, response: http.ServerResponse) => {
    void handleHttp(request, response).catch(() => {
      if (!response.headersSent) response.writeHead(500).end();
    });
  };

  async function handleHttp(request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
    if (!(await samePeerUser(request.socket))) {
      // Another local user's browser or program: not even the daemon's page or /health.
      response.writeHead(403, { "Content-Type": "text/plain" }).end("forbidden\n");
      return;
    }
    const decision = checkHttpRequest({
      remoteAddress: request.socket.remoteAddress,
      host: request.headers.host,
      hostHeaders: countHeader(request.rawHeaders, "host"),
      origin: request.headers.origin,
      port,
    });
    if (!decision.ok) {
      response.writeHead(403, { "Content-Type": "text/plain" }).end("forbidden\n");
      return;
    }
    const url = new URL(request.url ?? "/", "http://localhost");
    if (request.method !== "GET" && request.method !== "HEAD") {
      response.writeHead(405, { Allow: "GET, HEAD" }).end();
      return;
    }
    if (url.pathname === "/health") {
      const body: Record<string, unknown> = { status: "ok" };
      const headers: Record<string, string> = {
        "Content-Type": "application/json",
        "Cache-Control": "no-store",
      };
      const origin = decision.origin;
      if (origin && services.access.state(origin) === "granted") {
        // Details and CORS only for an origin that has access: never `*` (anchors.md §4.2).
        body["daemon"] = { name: "passerelle", version: services.version };
        if (services.simulation) body["simulation"] = true;
        headers["Access-Control-Allow-Origin"] = origin;
        headers["Vary"] = "Origin";
      }
      response.writeHead(200, headers).end(JSON.stringify(body));
      return;
    }
    if (url.pathname === SDK_PATH) return serveSdk(decision.origin, response);
    await serveStatic(url.pathname, response);
  }

  async function serveSdk(origin: string | null, response: http.ServerResponse): Promise<void> {
    const sdk = await options.webFiles?.sdk();
    if (!sdk) {
      response.writeHead(404, { "Content-Type": "text/plain" }).end("SDK bundle not built (npm run build)\n");
      return;
    }
    // A module script from another origin needs CORS: granted origins may load the SDK from here,
    // and so may origins that may ask for access (the SDK is public code: no data, no version).
    const headers: Record<string, string> = {
      "Content-Type": "text/javascript; charset=utf-8",
      "X-Content-Type-Options": "nosniff",
      "Cache-Control": "no-cache",
      "Cross-Origin-Resource-Policy": "cross-origin",
    };
    if (origin && services.access.eligible(origin)) {
      headers["Access-Control-Allow-Origin"] = origin;
      headers["Vary"] = "Origin";
    }
    response.writeHead(200, headers).end(sdk);
  }

  async function serveStatic(pathname: string, response: http.ServerResponse): Promise<void> {
    const headers = securityHeaders(port);
    const files = options.webFiles;
    const relative = pathname === "/" ? "index.html" : pathname.slice(1);
    const extension = path.extname(relative);
    if (
      !files ||
      !/^[a-z0-9][a-z0-9._/-]*$/i.test(relative) ||
      relative.includes("..") ||
      !STATIC_TYPES[extension]
    ) {
      response.writeHead(404, { ...headers, "Content-Type": "text/plain" }).end("not found\n");
      return;
    }
    const content = await files.page(relative);
    if (!content) {
      response.writeHead(404, { ...headers, "Content-Type": "text/plain" }).end("not found\n");
      return;
    }
    response.writeHead(200, { ...headers, "Content-Type": STATIC_TYPES[extension] }).end(content);
  }

  const refuse = (socket: Duplex, status: number, text: string) => {
    // Nothing but a bare HTTP status: no WebSocket, no data.
    socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    socket.destroy();
  };

  const onUpgrade = (request: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on("error", () => undefined);
    void samePeerUser(request.socket).then((same) => {
      if (same) return upgrade(request, socket, head);
      refusals.note(request.headers.origin, "another local user");
      refuse(socket, 403, "Forbidden");
    });
  };

  const upgrade = (request: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    if (socket.destroyed) return;
    const decision = checkUpgrade(
      {
        remoteAddress: request.socket.remoteAddress,
        host: request.headers.host,
        hostHeaders: countHeader(request.rawHeaders, "host"),
        origin: request.headers.origin,
        port,
      },
      (origin) => services.access.eligible(origin),
    );
    if (!decision.ok || decision.origin === null) {
      // Aggregated: one line per origin per minute, however often a page retries.
      refusals.note(request.headers.origin, decision.ok ? "no origin" : decision.why);
      return refuse(socket, 403, "Forbidden");
    }
    const origin = decision.origin;
    if (new URL(request.url ?? "/", "http://localhost").pathname !== WS_PATH)
      return refuse(socket, 404, "Not Found");
    // Not a v1 client (no subprotocol, or another one): refused rather than served unversioned.
    if (!offersSubprotocol(request.headers["sec-websocket-protocol"], SUBPROTOCOL)) {
      refusals.note(origin, `subprotocol ${SUBPROTOCOL} not offered`);
      return refuse(socket, 400, "Bad Request");
    }
    if ((perOrigin.get(origin) ?? 0) >= limits.maxConnectionsPerOrigin) {
      refusals.note(origin, "too many connections for this origin");
      return refuse(socket, 429, "Too Many Requests");
    }
    wss.handleUpgrade(request, socket, head, (ws) => {
      const connection = new Connection(ws, {
        origin,
        services,
        handlers,
        rateLimiter,
        maxInFlight: limits.maxInFlightPerConnection,
        maxQueuedBytes: limits.maxQueuedBytes,
      });
      connections.add(connection);
      perOrigin.set(origin, (perOrigin.get(origin) ?? 0) + 1);
      ws.on("close", () => {
        connections.delete(connection);
        const left = (perOrigin.get(origin) ?? 1) - 1;
        if (left > 0) perOrigin.set(origin, left);
        else perOrigin.delete(origin);
      });
    });
  };

  const broadcast = <N extends NotificationName>(name: N, params: NotificationParams<N>) => {
    for (const connection of connections) connection.notify(name, params);
  };
  const unsubscribeReaders = services.readers.subscribe((event: ReaderEvent) => {
    switch (event.type) {
      case "reader.added":
        return broadcast("reader.added", { reader: readerView(event.reader) });
      case "reader.removed":
        return broadcast("reader.removed", { readerId: event.readerId });
      case "card.inserted":
        return broadcast("card.inserted", { readerId: event.readerId, card: cardInfo(event.atr) });
      case "card.removed":
        return broadcast("card.removed", { readerId: event.readerId });
      case "pcsc.status":
        return broadcast("pcsc.status", { available: event.available });
    }
  });
  const unsubscribeAccess = services.access.onChange((origin, access) => {
    for (const connection of connections) if (connection.origin === origin) connection.accessChanged(access);
  });

  const servers: http.Server[] = [];
  const hosts = options.hosts ?? ["127.0.0.1", "::1"];
  const closeAll = () => Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
  /** Listens on every host at `candidate`; false when one of them has it taken (nothing left open). */
  const listenAll = async (candidate: number): Promise<boolean> => {
    port = candidate;
    for (const host of hosts) {
      const server = options.tls
        ? https.createServer(
            { cert: options.tls.certPem, key: options.tls.keyPem, minVersion: "TLSv1.2" },
            onRequest,
          )
        : http.createServer(onRequest);
      server.headersTimeout = HEADERS_TIMEOUT_MS;
      server.requestTimeout = REQUEST_TIMEOUT_MS;
      server.on("upgrade", onUpgrade);
      server.on("clientError", (_error, socket) => socket.destroy());
      try {
        await listen(server, port, host);
        servers.push(server);
        const address = server.address();
        if (port === 0 && address && typeof address === "object") port = address.port;
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === "EADDRINUSE") {
          await closeAll();
          return false;
        }
        // A host without IPv6 cannot bind ::1: serve IPv4 only, say so.
        if (host === "::1" && (code === "EADDRNOTAVAIL" || code === "EAFNOSUPPORT")) {
          services.logger.warn("IPv6 loopback unavailable, listening on 127.0.0.1 only");
          continue;
        }
        await closeAll();
        throw error;
      }
    }
    return true;
  };
  const candidates: number[] = [];
  for (let candidate = options.port; candidate <= (options.lastPort ?? options.port); candidate++)
    candidates.push(candidate);
  let listening = false;
  try {
    for (const candidate of candidates) if ((listening = await listenAll(candidate))) break;
  } catch (error) {
    unsubscribeReaders();
    unsubscribeAccess();
    refusals.stop();
    throw error;
  }
  if (!listening) {
    unsubscribeReaders();
    unsubscribeAccess();
    refusals.stop();
    const which =
      candidates.length === 1
        ? `port ${candidates[0]} is`
        : `ports ${candidates[0]}-${candidates.at(-1)} are`;
    throw new PortInUseError(`${which} already in use`, candidates);
  }

  return {
    port,
    selfOrigins: selfOriginsFor(port, secure),
    url: `${secure ? "wss" : "ws"}://localhost:${port}${WS_PATH}`,
    notifySelf: (name, params) => {
      let told = 0;
      for (const connection of connections) {
        if (!services.isSelfOrigin(connection.origin)) continue;
        connection.notify(name, params);
        told += 1;
      }
      return told;
    },
    notifyPinPages: () => {
      let told = 0;
      for (const connection of connections) {
        if (!connection.showsPinRequests || !services.isSelfOrigin(connection.origin)) continue;
        connection.notify("pin.requested", {});
        told += 1;
      }
      return told;
    },
    close: async () => {
      unsubscribeReaders();
      unsubscribeAccess();
      refusals.stop();
      for (const connection of connections) connection.close(1001, "daemon stopping");
      await Promise.all(
        servers.map(
          (server) =>
            new Promise<void>((resolve) => {
              server.close(() => resolve());
              server.closeAllConnections();
            }),
        ),
      );
      wss.close();
    },
  };
}

function listen(server: http.Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error) => {
      server.off("listening", onListening);
      reject(error);
    };
    const onListening = () => {
      server.off("error", onError);
      resolve();
    };
    server.once("error", onError);
    server.once("listening", onListening);
    server.listen({ port, host, exclusive: true });
  });
}
