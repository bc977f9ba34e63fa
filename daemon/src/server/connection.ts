/**
 * One WebSocket connection: its origin, its subscriptions, its in-flight requests, and the loop
 * that turns frames into handler calls and exactly one response per request with an id.
 */
import {
  METHODS,
  NOTIFICATION_TOPIC,
  RPC_INVALID_REQUEST,
  isSelfOnly,
  isSimulationOnly,
  type NotificationName,
  type NotificationParams,
} from "@passerelle/protocol";
import type { WebSocket } from "ws";
import type { RateLimiter } from "./rate-limiter.ts";
import type { CallContext, ConnectionHandle, Handler, Handlers, Services } from "./methods/index.ts";
import {
  errorFromThrown,
  errorResponseFor,
  parseFrame,
  reasonError,
  resultResponse,
  validateParams,
} from "./rpc.ts";

export interface ConnectionOptions {
  readonly origin: string;
  readonly services: Services;
  readonly handlers: Handlers;
  readonly rateLimiter: RateLimiter;
  readonly maxInFlight: number;
}

export class Connection implements ConnectionHandle {
  readonly origin: string;
  readonly topics = new Set<"readers" | "cards">();
  private readonly socket: WebSocket;
  private readonly options: ConnectionOptions;
  private readonly abort = new AbortController();
  private inFlight = 0;

  constructor(socket: WebSocket, options: ConnectionOptions) {
    this.socket = socket;
    this.options = options;
    this.origin = options.origin;
    socket.on("message", (data, isBinary) => this.onFrame(data, isBinary));
    socket.on("close", () => this.abort.abort());
    socket.on("error", () => undefined); // 'close' follows; ws already closed with the right code (1009…)
  }

  get closed(): AbortSignal {
    return this.abort.signal;
  }

  subscribe(topics: ReadonlyArray<"readers" | "cards">): void {
    for (const topic of topics) this.topics.add(topic);
  }

  /** Sends a notification if this connection may see it (granted, and subscribed to its topic). */
  notify<N extends NotificationName>(name: N, params: NotificationParams<N>): void {
    const topic = NOTIFICATION_TOPIC[name];
    if (topic !== null) {
      if (!this.topics.has(topic)) return;
      if (this.options.services.access.state(this.origin) !== "granted") return;
    }
    this.send({ jsonrpc: "2.0", method: name, params });
  }

  close(code: number, reason: string): void {
    this.socket.close(code, reason);
  }

  private send(message: unknown): void {
    if (this.socket.readyState !== this.socket.OPEN) return;
    this.socket.send(JSON.stringify(message));
  }

  private onFrame(data: unknown, isBinary: boolean): void {
    if (isBinary) {
      this.send({
        jsonrpc: "2.0",
        id: null,
        error: { code: RPC_INVALID_REQUEST, message: "invalid request: binary frames are not supported" },
      });
      return;
    }
    const text = Array.isArray(data) ? Buffer.concat(data).toString("utf8") : String(data);
    const frame = parseFrame(text);
    if (frame.kind === "error") {
      if (frame.response) this.send(frame.response);
      return;
    }
    const { id, method, params } = frame;
    const { services, handlers, rateLimiter } = this.options;
    const respond = (response: unknown) => {
      if (id !== undefined) this.send(response);
    };

    const selfOnlyDenied = isSelfOnly(method) && !services.isSelfOrigin(this.origin);
    if (selfOnlyDenied || (isSimulationOnly(method) && !services.lab)) {
      // The PIN page and lab methods exist only for the daemon's own page (the lab only in
      // simulation): to anyone else they do not exist at all.
      return respond({
        jsonrpc: "2.0",
        id: id ?? null,
        error: { code: -32601, message: `method not found: ${method}` },
      });
    }
    if (!METHODS[method].preAccess && services.access.state(this.origin) !== "granted") {
      // Before access, nothing about readers, cards or people leaves the daemon.
      return respond(reasonError(id ?? 0, "ACCESS_DENIED"));
    }
    if (!rateLimiter.take(this.origin)) return respond(reasonError(id ?? 0, "RATE_LIMITED"));
    if (this.inFlight >= this.options.maxInFlight) {
      return respond(reasonError(id ?? 0, "RATE_LIMITED", "too many requests in flight on this connection"));
    }
    const validated = validateParams(method, params);
    if (!validated.ok) return respond(errorResponseFor(id ?? 0, validated.error));
    const handler = handlers[method] as Handler<typeof method> | undefined;
    if (!handler) {
      return respond({
        jsonrpc: "2.0",
        id: id ?? null,
        error: { code: -32601, message: `method not available in this build: ${method}` },
      });
    }
    const context: CallContext = { origin: this.origin, connection: this, services };
    this.inFlight += 1;
    handler(validated.value as never, context)
      .then((result) => respond(resultResponse(id ?? 0, result)))
      .catch((thrown: unknown) => {
        const { error, internal } = errorFromThrown(thrown);
        if (internal) services.logger.error("method failed", { method, error: thrown });
        respond(errorResponseFor(id ?? 0, error));
      })
      .finally(() => {
        this.inFlight -= 1;
      });
  }
}
