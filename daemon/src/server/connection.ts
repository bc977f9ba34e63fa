/**
 * One WebSocket connection: its origin, its subscriptions, its in-flight requests, and the loop
 * that turns frames into handler calls and exactly one response per request with an id.
 *
 * Bounded whatever the client does:
 * - every frame takes a token from its origin's bucket, garbage included, so error answers are
 *   rate-limited like any other; an empty bucket answers RATE_LIMITED with `data.retryAfterMs`, a
 *   different moment for each refused frame (rate-limiter.ts), so the refused do not all come back at once;
 * - MAX_REFUSED_IN_A_ROW refused frames in a row (not JSON-RPC, binary, unknown method, RATE_LIMITED)
 *   close the connection with CLOSE_CODES.tooManyRefusals: a correct client never gets there;
 * - what is queued for the client (ws `bufferedAmount`) is capped (`maxQueuedBytes`): a client that stops reading
 *   is closed with CLOSE_CODES.answersNotRead instead of growing the daemon's memory.
 * A closing connection reads no more frames, and is cut CLOSE_GRACE_MS after its close frame if the
 * peer does not answer it (a client that does not read never will).
 */
import {
  CLOSE_CODES,
  METHODS,
  NOTIFICATION_TOPIC,
  RPC_INVALID_REQUEST,
  isSelfOnly,
  isSimulationOnly,
  type AccessState,
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
  /** Bytes of answers that may wait to be sent to this client (`limits.maxQueuedBytes`). */
  readonly maxQueuedBytes: number;
}

/** Refused frames in a row after which the connection is closed (CLOSE_CODES.tooManyRefusals). */
export const MAX_REFUSED_IN_A_ROW = 50;
/** How long a closing connection may take to answer the close frame before it is cut. */
export const CLOSE_GRACE_MS = 1000;

export class Connection implements ConnectionHandle {
  readonly origin: string;
  readonly topics = new Set<"readers" | "cards">();
  private readonly socket: WebSocket;
  private readonly options: ConnectionOptions;
  private readonly abort = new AbortController();
  private inFlight = 0;
  private refusedInARow = 0;
  private closing = false;
  #showsPinRequests = false;

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

  /** True once this connection asked for the PIN requests (`pin.pending`): a PIN page. */
  get showsPinRequests(): boolean {
    return this.#showsPinRequests;
  }

  showPinRequests(): void {
    this.#showsPinRequests = true;
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

  /**
   * The origin's access changed (grant, denial, revocation): tell the client; without access the
   * connection is downgraded to the pre-access methods and its subscriptions dropped.
   */
  accessChanged(access: AccessState): void {
    if (access !== "granted") this.topics.clear();
    this.notify("access.changed", { access });
  }

  close(code: number, reason: string): void {
    if (this.closing) return;
    this.closing = true;
    this.socket.close(code, reason);
    // A peer that does not read will never answer the close frame: cut it soon, not in ws's 30 s.
    const cut = setTimeout(() => this.socket.terminate(), CLOSE_GRACE_MS);
    cut.unref();
    this.socket.once("close", () => clearTimeout(cut));
  }

  /** Closes for a limit; debug level: one line per connection, and connections are capped. */
  private limitClose(code: number, reason: string): void {
    if (this.closing) return;
    this.options.services.logger.debug("connection closed", { origin: this.origin, code, reason });
    this.close(code, reason);
    // Read nothing more from it: a flood already in the socket would cost memory to parse and drop.
    this.socket.pause();
  }

  private send(message: unknown): void {
    if (this.closing || this.socket.readyState !== this.socket.OPEN) return;
    const text = JSON.stringify(message);
    if (this.socket.bufferedAmount + text.length > this.options.maxQueuedBytes) {
      this.limitClose(CLOSE_CODES.answersNotRead, "answers not read");
      return;
    }
    this.socket.send(text);
  }

  /** A frame refused before any handler ran; too many in a row close the connection. */
  private refused(response: unknown): void {
    if (response !== null) this.send(response);
    this.refusedInARow += 1;
    if (this.refusedInARow >= MAX_REFUSED_IN_A_ROW)
      this.limitClose(CLOSE_CODES.tooManyRefusals, "too many refused frames");
  }

  /** RATE_LIMITED from the origin's bucket, naming when to come back. */
  private rateLimited(id: number): ReturnType<typeof reasonError> {
    const retryAfterMs = this.options.rateLimiter.retryAfter(this.origin);
    return reasonError(id, "RATE_LIMITED", undefined, { retryAfterMs });
  }

  private onFrame(data: unknown, isBinary: boolean): void {
    if (this.closing) return;
    const { services, handlers, rateLimiter } = this.options;
    // Every frame costs a token, whatever it holds: answering garbage is work too.
    const allowed = rateLimiter.take(this.origin);
    if (isBinary) {
      return this.refused(
        allowed
          ? {
              jsonrpc: "2.0",
              id: null,
              error: {
                code: RPC_INVALID_REQUEST,
                message: "invalid request: binary frames are not supported",
              },
            }
          : { ...this.rateLimited(0), id: null },
      );
    }
    const text = Array.isArray(data) ? Buffer.concat(data).toString("utf8") : String(data);
    const frame = parseFrame(text);
    if (!allowed) {
      const id = frame.kind === "request" ? frame.id : (frame.response?.id ?? null);
      if (id === undefined) return this.refused(null); // a notification: never answered
      return this.refused({ ...this.rateLimited(0), id });
    }
    if (frame.kind === "error") return this.refused(frame.response);
    const { id, method, params } = frame;
    const needsAccess = !METHODS[method].preAccess;
    const respond = (response: unknown) => {
      if (id === undefined) return;
      // Access revoked while the call ran: its result is not for this origin any more.
      if (needsAccess && services.access.state(this.origin) !== "granted")
        return this.send(reasonError(id, "ACCESS_DENIED"));
      this.send(response);
    };

    const selfOnlyDenied = isSelfOnly(method) && !services.isSelfOrigin(this.origin);
    if (selfOnlyDenied || (isSimulationOnly(method) && !services.lab)) {
      // The PIN page and lab methods exist only for the daemon's own page (the lab only in
      // simulation): to anyone else they do not exist at all.
      return this.refused(
        id === undefined
          ? null
          : { jsonrpc: "2.0", id, error: { code: -32601, message: `method not found: ${method}` } },
      );
    }
    if (needsAccess && services.access.state(this.origin) !== "granted") {
      // Before access, nothing about readers, cards or people leaves the daemon.
      return respond(reasonError(id ?? 0, "ACCESS_DENIED"));
    }
    if (this.inFlight >= this.options.maxInFlight) {
      return this.refused(
        id === undefined
          ? null
          : reasonError(id, "RATE_LIMITED", "too many requests in flight on this connection"),
      );
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
    this.refusedInARow = 0;
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
