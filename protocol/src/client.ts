/**
 * PasserelleClient: the browser SDK (also runs in Node with an injected WebSocket).
 *
 * - connects to wss://localhost:9712/v1 offering the `passerelle.v1` subprotocol — or, with no `url`
 *   given, finds this user's daemon on ports 9712–9721 (each user of a shared workstation has their
 *   own; another user's daemon refuses the upgrade): the last one found first, then all in parallel;
 * - correlates requests and responses by id, with a timeout per call;
 * - rejects with PasserelleError, which carries the protocol's stable `reason`;
 * - delivers notifications (card.inserted, access.changed, …) to listeners;
 * - sends a call again after RATE_LIMITED (a few times, within the call's timeout), when the daemon
 *   says to come back (`data.retryAfterMs`, plus jitter) or, when it does not say, after a growing
 *   jittered wait — never after the consent pages' limit, which is a wait for a person;
 * - reconnects with exponential backoff and re-subscribes its event topics;
 * - `probe()` asks GET /health first, so a page can tell "not running" from "blocked by the browser".
 *
 * It depends on nothing but the error table and types, so it bundles small for the browser.
 */
import { ERROR_REASONS, isErrorReason, type ErrorReason } from "./errors.ts";
import type {
  AccessState,
  MethodName,
  MethodParams,
  MethodResult,
  NotificationName,
  NotificationParams,
} from "./schemas.ts";

// The identity vigilance helpers (RNIV statuses, INS datamatrix) travel with the SDK bundle.
export * from "./identity/index.ts";

const SUBPROTOCOL = "passerelle.v1";

/**
 * Calls that may wait for a person: the CPS PIN (PIN pad: up to 90 s; the daemon's PIN page: 60 s)
 * and INSi calls in card mode, which may need that PIN first.
 */
const USER_INTERACTION_METHODS: ReadonlySet<string> = new Set([
  "cps.verifyPin",
  "insi.searchByTraits",
  "insi.searchWithVitale",
  "insi.verify",
  "access.request",
]);
const DEFAULT_URL = "wss://localhost:9712/v1";
/** The daemon's default port range (DEFAULT_PORT_RANGE in schemas.ts; a test keeps the two equal). */
export const DISCOVERY_PORTS: readonly number[] = Array.from({ length: 10 }, (_, i) => 9712 + i);

/** SDK-side failures that never come from the daemon. */
export type ClientReason = "DISCONNECTED" | "NOT_CONNECTED" | "PROTOCOL_MISMATCH";

export class PasserelleError extends Error {
  override readonly name = "PasserelleError";
  readonly code: number;
  readonly reason: ErrorReason | ClientReason | "RPC_ERROR";
  readonly data: Readonly<Record<string, unknown>>;

  constructor(code: number, message: string, data: Record<string, unknown> = {}) {
    super(message);
    this.code = code;
    this.data = data;
    const reason = data["reason"];
    this.reason = isErrorReason(reason) || isClientReason(reason) ? reason : "RPC_ERROR";
  }

  /** RATE_LIMITED: in how many ms the daemon says the call may be sent again (undefined: not said). */
  get retryAfterMs(): number | undefined {
    const value = this.data["retryAfterMs"];
    return typeof value === "number" && Number.isFinite(value) && value >= 0 ? value : undefined;
  }

  /** True when the same call can simply be tried again later (card re-inserted, service back…). */
  get retriable(): boolean {
    if (this.reason === "DISCONNECTED" || this.reason === "NOT_CONNECTED") return true;
    return isErrorReason(this.reason) ? ERROR_REASONS[this.reason].retriable : false;
  }
}

/** First wait after RATE_LIMITED from a daemon that does not say when to come back; doubled each time. */
const RATE_LIMITED_FIRST_WAIT_MS = 25;
const RATE_LIMITED_MAX_WAIT_MS = 1000;

/**
 * How long to wait before sending a call again after RATE_LIMITED (its `attempt`-th in a row, from
 * 0), or null when it should not be sent again by a program (the consent pages' limit,
 * `retryAfterSeconds`: a person is asked). With the daemon's `retryAfterMs`: that, plus up to a
 * quarter more at random; without it: 25 ms doubled each time up to 1 s, the second half at random.
 * The random part keeps clients refused together from all coming back together.
 */
export function rateLimitedWait(
  data: Readonly<Record<string, unknown>>,
  attempt: number,
  random: () => number = Math.random,
): number | null {
  if (data["retryAfterSeconds"] !== undefined) return null;
  const said = data["retryAfterMs"];
  if (typeof said === "number" && Number.isFinite(said) && said >= 0) {
    const base = Math.min(said, RATE_LIMITED_MAX_WAIT_MS);
    return base + random() * (base / 4);
  }
  const ceiling = Math.min(RATE_LIMITED_MAX_WAIT_MS, RATE_LIMITED_FIRST_WAIT_MS * 2 ** attempt);
  return ceiling / 2 + random() * (ceiling / 2);
}

function isClientReason(value: unknown): value is ClientReason {
  return value === "DISCONNECTED" || value === "NOT_CONNECTED" || value === "PROTOCOL_MISMATCH";
}

function clientError(reason: ClientReason, message: string): PasserelleError {
  return new PasserelleError(0, message, { reason });
}

/** The subset of the WHATWG WebSocket that the client uses (browser WebSocket and `ws` both fit). */
export interface WebSocketLike {
  readonly readyState: number;
  readonly protocol: string;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((event: unknown) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  onerror: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
}

export type WebSocketFactory = (url: string, protocol: string) => WebSocketLike;

export interface ClientOptions {
  /** Default `wss://localhost:9712/v1`, with discovery over `ports`. */
  url?: string;
  /**
   * The ports to look for this user's daemon on: the URL's port is replaced by each. Default: 9712–
   * 9721 when `url` is not given, else only the URL's own port. The first daemon that accepts the
   * upgrade is kept (another user's refuses it with 403), and tried first on the next connection.
   */
  ports?: readonly number[];
  /** Bound on one discovery round (all ports in parallel). Default 5 s. */
  discoveryTimeoutMs?: number;
  /** Default: the global WebSocket (browsers, Node ≥ 22). In Node 20 pass one built on `ws`. */
  createWebSocket?: WebSocketFactory;
  /** Default: the global fetch. Used by probe(). */
  fetch?: (
    url: string,
    init: { signal: AbortSignal; mode: "cors" | "no-cors" },
  ) => Promise<{ status: number; json(): Promise<unknown> }>;
  /** Per-call timeout unless the call gives its own. Default 30 s. */
  callTimeoutMs?: number;
  /** The same for calls that may wait for a person (PIN, consent, INSi in card mode). Default 120 s. */
  userCallTimeoutMs?: number;
  /** Reconnect after an unexpected close. Default true. */
  reconnect?: boolean;
  /** Backoff bounds for reconnection. Default 250 ms → 10 s. */
  reconnectDelayMs?: { min: number; max: number };
  /**
   * How many times a call answered RATE_LIMITED is sent again (rateLimitedWait, within the call's
   * timeout) before it rejects with RATE_LIMITED. Default 3; 0 never sends again.
   */
  rateLimitRetries?: number;
}

export type ConnectionState = "idle" | "connecting" | "open" | "reconnecting" | "closed";

/**
 * Why `probe()` got no answer, as far as the browser tells (Chrome's Local Network Access, 141+:
 * a page on a public or intranet site needs the user's permission to reach `localhost`).
 */
export type UnreachableReason =
  /** The browser let the request go (permission granted, or the page is on this computer): not running. */
  | "not-running"
  /** The browser asks the user first, and they have not said yes (the prompt is open, ignored or dismissed). */
  | "permission-prompt"
  /** The user or a policy blocked this site from reaching this computer (always so for an http page). */
  | "permission-denied"
  /** The browser tells nothing (no such permission: Firefox, Safari, Chrome before 141): not running or blocked. */
  | "unknown";

export type ProbeResult =
  /** It runs. `allowed`: this origin has access (then `daemon` tells the version). */
  | { status: "running"; allowed: boolean; daemon?: { name: string; version: string } }
  /**
   * Nothing answered. `reason` tells why when the browser can; `blockedByBrowser` is the same
   * answer in one word: true for permission-prompt and permission-denied, false for not-running.
   */
  | { status: "unreachable"; blockedByBrowser: boolean | "unknown"; reason: UnreachableReason };

interface Pending {
  resolve: (value: unknown) => void;
  reject: (error: PasserelleError) => void;
  timer: ReturnType<typeof setTimeout>;
}

type NotificationListener<N extends NotificationName> = (params: NotificationParams<N>) => void;
type StateListener = (state: ConnectionState) => void;

export class PasserelleClient {
  /** The daemon's URL: the configured one, or the last one discovery found. */
  private url: string;
  private readonly candidates: readonly string[];
  private readonly discoveryTimeoutMs: number;
  private readonly createWebSocket: WebSocketFactory;
  private readonly fetchImpl: ClientOptions["fetch"];
  private readonly callTimeoutMs: number;
  private readonly userCallTimeoutMs: number;
  private readonly shouldReconnect: boolean;
  private readonly delay: { min: number; max: number };
  private readonly rateLimitRetries: number;
  /** Waits before sending a RATE_LIMITED call again; close() ends them with DISCONNECTED. */
  private readonly retryWaits = new Map<ReturnType<typeof setTimeout>, (error: PasserelleError) => void>();

  private socket: WebSocketLike | null = null;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly listeners = new Map<string, Set<(params: never) => void>>();
  private readonly stateListeners = new Set<StateListener>();
  private readonly topics = new Set<"readers" | "cards">();
  private stateValue: ConnectionState = "idle";
  private attempts = 0;
  private reconnectTimer: ReturnType<typeof setTimeout> | null = null;
  private opening: Promise<void> | null = null;
  private closedByUser = false;

  constructor(options: ClientOptions = {}) {
    this.url = options.url ?? DEFAULT_URL;
    const ports = options.ports ?? (options.url === undefined ? DISCOVERY_PORTS : []);
    this.candidates = ports.length > 0 ? ports.map((port) => withPort(this.url, port)) : [this.url];
    this.url = this.candidates[0] ?? this.url;
    this.discoveryTimeoutMs = options.discoveryTimeoutMs ?? 5000;
    this.createWebSocket = options.createWebSocket ?? defaultWebSocketFactory;
    this.fetchImpl = options.fetch ?? (typeof fetch === "function" ? fetch.bind(globalThis) : undefined);
    this.callTimeoutMs = options.callTimeoutMs ?? 30_000;
    this.userCallTimeoutMs = options.userCallTimeoutMs ?? 120_000;
    this.shouldReconnect = options.reconnect ?? true;
    this.delay = options.reconnectDelayMs ?? { min: 250, max: 10_000 };
    this.rateLimitRetries = options.rateLimitRetries ?? 3;
  }

  get state(): ConnectionState {
    return this.stateValue;
  }

  /** The daemon's WebSocket URL: the one connected to, or the last one found, or the first candidate. */
  get daemonUrl(): string {
    return this.url;
  }

  /**
   * GET /health on the daemon's origin. `running` when it answers (also when this origin has no
   * access yet: the opaque no-cors answer still proves the daemon runs); otherwise `unreachable`,
   * with the reason the browser gives through its Local Network Access permission (see
   * UnreachableReason). In Chrome the fetch itself shows the permission prompt when the state is
   * "prompt": call probe() from a user gesture (a click) where you can.
   */
  async probe(timeoutMs = 3000): Promise<ProbeResult> {
    if (this.candidates.length === 1) return this.probeUrl(this.url, timeoutMs);
    // Discovery: every port at once. An answer readable by this origin comes from this user's
    // daemon (another user's refuses us); else any daemon that runs; else the last found port's.
    const urls = [this.url, ...this.candidates.filter((url) => url !== this.url)];
    const results = await Promise.all(urls.map((url) => this.probeUrl(url, timeoutMs)));
    const allowed = results.findIndex((result) => result.status === "running" && result.allowed);
    if (allowed >= 0) this.url = urls[allowed] ?? this.url;
    return (
      results[allowed] ?? results.find((result) => result.status === "running") ?? (results[0] as ProbeResult)
    );
  }

  private async probeUrl(url: string, timeoutMs: number): Promise<ProbeResult> {
    const fetchImpl = this.fetchImpl;
    if (!fetchImpl) throw new Error("no fetch implementation available");
    const healthUrl = new URL(url);
    healthUrl.protocol = healthUrl.protocol === "ws:" ? "http:" : "https:";
    healthUrl.pathname = "/health";
    const attempt = async (mode: "cors" | "no-cors") => {
      const controller = new AbortController();
      const timer = setTimeout(() => controller.abort(), timeoutMs);
      try {
        return await fetchImpl(healthUrl.toString(), { signal: controller.signal, mode });
      } finally {
        clearTimeout(timer);
      }
    };
    try {
      const response = await attempt("cors");
      const body = (await response.json()) as {
        status?: unknown;
        daemon?: { name: string; version: string };
      };
      if (response.status !== 200 || body.status !== "ok")
        return { status: "unreachable", blockedByBrowser: "unknown", reason: "unknown" };
      return body.daemon
        ? { status: "running", allowed: true, daemon: body.daemon }
        : { status: "running", allowed: false };
    } catch {
      // The daemon answers /health with CORS only for origins that have access. An opaque
      // (no-cors) answer still proves it runs: this origin simply has no access yet.
      try {
        await attempt("no-cors");
        return { status: "running", allowed: false };
      } catch {
        const reason = await whyUnreachable();
        return { status: "unreachable", blockedByBrowser: BLOCKED_BY_BROWSER[reason], reason };
      }
    }
  }

  /** Opens the connection; resolves once the daemon accepted the `passerelle.v1` subprotocol. */
  connect(): Promise<void> {
    this.closedByUser = false;
    if (this.socket && this.stateValue === "open") return Promise.resolve();
    // One socket at a time: a second connect() while opening shares the first one's outcome.
    if (this.opening) return this.opening;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    return this.open();
  }

  /** Closes for good: no reconnection, pending calls rejected with DISCONNECTED. */
  close(): void {
    this.closedByUser = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    this.socket?.close(1000, "client closed");
    this.socket = null;
    this.opening = null;
    this.failPending(clientError("DISCONNECTED", "the client was closed"));
    for (const [timer, fail] of this.retryWaits) {
      clearTimeout(timer);
      fail(clientError("DISCONNECTED", "the client was closed"));
    }
    this.retryWaits.clear();
    this.setState("closed");
  }

  /**
   * Calls a method; rejects with PasserelleError (its `reason` is the protocol's). A RATE_LIMITED
   * answer is sent again up to `rateLimitRetries` times (see rateLimitedWait), all within `timeoutMs`.
   */
  async call<M extends MethodName>(
    method: M,
    params?: MethodParams<M>,
    options: { timeoutMs?: number } = {},
  ): Promise<MethodResult<M>> {
    const timeoutMs =
      options.timeoutMs ??
      (USER_INTERACTION_METHODS.has(method) ? this.userCallTimeoutMs : this.callTimeoutMs);
    const deadline = Date.now() + timeoutMs;
    for (let attempt = 0; ; attempt += 1) {
      try {
        return await this.send(method, params, Math.max(1, deadline - Date.now()), timeoutMs);
      } catch (error) {
        if (!(error instanceof PasserelleError) || error.reason !== "RATE_LIMITED") throw error;
        if (attempt >= this.rateLimitRetries) throw error;
        const wait = rateLimitedWait(error.data, attempt);
        if (wait === null || Date.now() + wait >= deadline) throw error;
        await this.pause(wait);
      }
    }
  }

  /** Waits `ms` before a call is sent again; close() ends the wait with DISCONNECTED. */
  private pause(ms: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.retryWaits.delete(timer);
        resolve();
      }, ms);
      this.retryWaits.set(timer, reject);
    });
  }

  /** One request frame and its answer. */
  private send<M extends MethodName>(
    method: M,
    params: MethodParams<M> | undefined,
    timeoutMs: number,
    callTimeoutMs: number,
  ): Promise<MethodResult<M>> {
    const socket = this.socket;
    if (!socket || this.stateValue !== "open") {
      return Promise.reject(clientError("NOT_CONNECTED", "not connected to Passerelle"));
    }
    const id = this.nextId++;
    return new Promise<MethodResult<M>>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(
          new PasserelleError(ERROR_REASONS.TIMEOUT.code, `${method}: no answer in ${callTimeoutMs} ms`, {
            reason: "TIMEOUT",
          }),
        );
      }, timeoutMs);
      this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject, timer });
      socket.send(JSON.stringify({ jsonrpc: "2.0", id, method, params: params ?? {} }));
      if (method === "events.subscribe" && params && "topics" in params) {
        for (const topic of (params as { topics: Array<"readers" | "cards"> }).topics) this.topics.add(topic);
      }
    });
  }

  /**
   * Asks for access (pairing): `access.request`, then waits for the user's decision on the
   * daemon's consent page. Resolves `"granted"`, `"denied"`, or `"none"` (nobody answered in time,
   * or access was taken back meanwhile). `onPairingCode` gets the 6-digit code the consent page shows,
   * as soon as it is known: show it, so the user can check the window is about this page.
   * Rejects with the daemon's errors (CONSENT_UNAVAILABLE, BUSY, RATE_LIMITED), TIMEOUT after
   * `timeoutMs` (default 150 s: the daemon gives the user 120 s), DISCONNECTED if the connection drops.
   */
  async requestAccess(
    appName?: string,
    options: { onPairingCode?: (code: string) => void; timeoutMs?: number } = {},
  ): Promise<Exclude<AccessState, "pending">> {
    const timeoutMs = options.timeoutMs ?? 150_000;
    let asked = false;
    let settle: (access: Exclude<AccessState, "pending">) => void = () => undefined;
    let fail: (error: PasserelleError) => void = () => undefined;
    const decided = new Promise<Exclude<AccessState, "pending">>((resolve, reject) => {
      settle = resolve;
      fail = reject;
    });
    decided.catch(() => undefined); // may fail before it is awaited: handled below
    // Listen before asking: the decision may follow the answer closely.
    const offChanged = this.on("access.changed", ({ access }) => {
      if (asked && access !== "pending") settle(access);
    });
    const offState = this.onStateChange((state) => {
      if (state !== "open")
        fail(clientError("DISCONNECTED", "the connection dropped while waiting for consent"));
    });
    const timer = setTimeout(
      () =>
        fail(
          new PasserelleError(ERROR_REASONS.TIMEOUT.code, `no consent decision in ${timeoutMs} ms`, {
            reason: "TIMEOUT",
          }),
        ),
      timeoutMs,
    );
    try {
      const answer = await this.call("access.request", appName === undefined ? {} : { appName });
      if (answer.access !== "pending") return answer.access;
      asked = true;
      if (answer.pairingCode !== undefined) options.onPairingCode?.(answer.pairingCode);
      return await decided;
    } finally {
      clearTimeout(timer);
      offChanged();
      offState();
    }
  }

  /** Listens to a daemon notification; returns the function that stops listening. */
  on<N extends NotificationName>(name: N, listener: NotificationListener<N>): () => void {
    let set = this.listeners.get(name);
    if (!set) this.listeners.set(name, (set = new Set()));
    set.add(listener as (params: never) => void);
    return () => set.delete(listener as (params: never) => void);
  }

  /** Listens to connection state changes (open, reconnecting, closed…). */
  onStateChange(listener: StateListener): () => void {
    this.stateListeners.add(listener);
    return () => this.stateListeners.delete(listener);
  }

  // -------------------------------------------------------------------------------------------
  private open(): Promise<void> {
    this.setState(this.attempts > 0 ? "reconnecting" : "connecting");
    const opening =
      this.candidates.length === 1
        ? this.attach(null)
        : this.discover().then(
            (found) => {
              if (this.closedByUser) {
                found.close(1000, "client closed");
                throw clientError("DISCONNECTED", "the client was closed");
              }
              return this.attach(found);
            },
            (error: PasserelleError) => {
              // Nothing accepted: as when the one socket closes before it opened.
              if (this.closedByUser) this.setState("closed");
              else if (this.shouldReconnect && this.attempts > 0) this.scheduleReconnect();
              else this.setState("closed");
              throw error;
            },
          );
    this.opening = opening;
    const settled = () => {
      if (this.opening === opening) this.opening = null;
    };
    opening.then(settled, settled);
    return opening;
  }

  /**
   * This user's daemon among the candidate URLs: the last one found alone first (one socket), then
   * every other at once, bounded by `discoveryTimeoutMs`. Resolves with the open socket that
   * selected `passerelle.v1` (the URL becomes `this.url`); the others are closed.
   */
  private async discover(): Promise<WebSocketLike> {
    const others = this.candidates.filter((url) => url !== this.url);
    try {
      return await this.race([this.url]);
    } catch {
      return this.race(others);
    }
  }

  private race(urls: readonly string[]): Promise<WebSocketLike> {
    return new Promise((resolve, reject) => {
      let failed = 0;
      let won = false;
      const sockets: WebSocketLike[] = [];
      const lose = () => {
        failed += 1;
        if (failed === urls.length && !won) {
          clearTimeout(timer);
          reject(clientError("DISCONNECTED", `no Passerelle of this user answered on ${urls.join(", ")}`));
        }
      };
      const timer = setTimeout(() => {
        if (won) return;
        won = true; // nobody wins now: close what is still trying
        for (const socket of sockets) socket.close(1000, "discovery over");
        reject(
          clientError("DISCONNECTED", `no Passerelle of this user answered in ${this.discoveryTimeoutMs} ms`),
        );
      }, this.discoveryTimeoutMs);
      for (const url of urls) {
        let socket: WebSocketLike;
        try {
          socket = this.createWebSocket(url, SUBPROTOCOL);
        } catch {
          lose();
          continue;
        }
        sockets.push(socket);
        socket.onerror = () => undefined;
        socket.onmessage = () => undefined;
        socket.onclose = () => lose();
        socket.onopen = () => {
          if (won || socket.protocol !== SUBPROTOCOL) {
            socket.onclose = won ? () => undefined : () => lose();
            socket.close(1000, won ? "another port answered first" : "subprotocol mismatch");
            return;
          }
          won = true;
          clearTimeout(timer);
          this.url = url;
          for (const other of sockets) if (other !== socket) other.close(1000, "another port answered first");
          resolve(socket);
        };
      }
    });
  }

  /** Takes `found` (already open, from discovery) or opens a socket to `this.url`, and serves it. */
  private attach(found: WebSocketLike | null): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let opened = false;
      let socket: WebSocketLike;
      if (found) {
        socket = found;
      } else {
        try {
          socket = this.createWebSocket(this.url, SUBPROTOCOL);
        } catch (error) {
          reject(clientError("DISCONNECTED", `cannot open ${this.url}: ${String(error)}`));
          return;
        }
      }
      this.socket = socket;
      socket.onopen = () => {
        if (socket.protocol !== SUBPROTOCOL) {
          socket.close(1002, "subprotocol mismatch");
          reject(
            clientError("PROTOCOL_MISMATCH", `daemon selected "${socket.protocol}", expected ${SUBPROTOCOL}`),
          );
          return;
        }
        opened = true;
        this.attempts = 0;
        this.setState("open");
        resolve();
        if (this.topics.size > 0) {
          // After a reconnection the daemon has forgotten our subscriptions: renew them.
          this.call("events.subscribe", { topics: [...this.topics] }).catch(() => undefined);
        }
      };
      socket.onmessage = (event) => this.onMessage(event.data);
      socket.onerror = () => undefined; // onclose follows and carries the decision
      socket.onclose = (event) => {
        if (!opened) reject(clientError("DISCONNECTED", `cannot connect to ${this.url} (${event.code})`));
        // A socket already replaced (closed by close(), then connect() again) must not touch the
        // current one's calls or state when its close event arrives late.
        if (this.socket !== socket) return;
        this.socket = null;
        this.failPending(clientError("DISCONNECTED", `connection closed (${event.code})`));
        if (this.closedByUser) return this.setState("closed");
        if (this.shouldReconnect && (opened || this.attempts > 0)) this.scheduleReconnect();
        else this.setState("closed");
      };
      if (found) socket.onopen(undefined); // discovery already saw it open
    });
  }

  private scheduleReconnect(): void {
    const exponential = Math.min(this.delay.max, this.delay.min * 2 ** this.attempts);
    const wait = exponential / 2 + Math.random() * (exponential / 2);
    this.attempts += 1;
    this.setState("reconnecting");
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      this.open().catch(() => undefined); // onclose schedules the next attempt
    }, wait);
  }

  private onMessage(data: unknown): void {
    if (typeof data !== "string") return;
    let message: unknown;
    try {
      message = JSON.parse(data);
    } catch {
      return;
    }
    if (typeof message !== "object" || message === null) return;
    const m = message as {
      id?: unknown;
      method?: unknown;
      params?: unknown;
      result?: unknown;
      error?: unknown;
    };
    if (typeof m.method === "string" && m.id === undefined) {
      for (const listener of this.listeners.get(m.method) ?? []) {
        try {
          listener(m.params as never);
        } catch {
          // a listener's bug must not break the connection
        }
      }
      return;
    }
    if (typeof m.id !== "number") return;
    const pending = this.pending.get(m.id);
    if (!pending) return;
    this.pending.delete(m.id);
    clearTimeout(pending.timer);
    if (m.error && typeof m.error === "object") {
      const e = m.error as { code?: unknown; message?: unknown; data?: unknown };
      pending.reject(
        new PasserelleError(
          typeof e.code === "number" ? e.code : 0,
          typeof e.message === "string" ? e.message : "error",
          typeof e.data === "object" && e.data !== null ? (e.data as Record<string, unknown>) : {},
        ),
      );
    } else {
      pending.resolve(m.result);
    }
  }

  private failPending(error: PasserelleError): void {
    for (const [id, pending] of this.pending) {
      clearTimeout(pending.timer);
      pending.reject(error);
      this.pending.delete(id);
    }
  }

  private setState(state: ConnectionState): void {
    if (state === this.stateValue) return;
    this.stateValue = state;
    for (const listener of this.stateListeners) listener(state);
  }
}

/** `url` with its port replaced. */
function withPort(url: string, port: number): string {
  const parsed = new URL(url);
  parsed.port = String(port);
  return parsed.toString();
}

function defaultWebSocketFactory(url: string, protocol: string): WebSocketLike {
  const Impl = (globalThis as { WebSocket?: new (url: string, protocol: string) => WebSocketLike }).WebSocket;
  if (!Impl) throw new Error("no global WebSocket: pass createWebSocket (e.g. built on the `ws` package)");
  return new Impl(url, protocol);
}

const BLOCKED_BY_BROWSER: Readonly<Record<UnreachableReason, boolean | "unknown">> = {
  "not-running": false,
  "permission-prompt": true,
  "permission-denied": true,
  unknown: "unknown",
};

/** A page served from this computer: Local Network Access never applies to it. */
function pageIsLocal(): boolean {
  const hostname = (globalThis as { location?: { hostname?: string } }).location?.hostname;
  if (hostname === undefined) return false;
  return (
    hostname === "localhost" ||
    hostname.endsWith(".localhost") ||
    /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname) ||
    hostname === "[::1]"
  );
}

/**
 * After a failed /health: what the browser says of the loopback permission. Chrome 145+ names it
 * `loopback-network`, 141–144 `local-network-access` (still an alias). The state alone cannot say
 * whether this page is subject to it (a page served from this computer reports "prompt" too, and
 * an http page "denied"): a page on localhost is never blocked, so there it means not running.
 */
async function whyUnreachable(): Promise<UnreachableReason> {
  const permissions = (
    globalThis as { navigator?: { permissions?: { query(d: { name: string }): Promise<{ state: string }> } } }
  ).navigator?.permissions;
  if (!permissions) return "unknown";
  for (const name of ["loopback-network", "local-network-access"]) {
    let state: string;
    try {
      state = (await permissions.query({ name })).state;
    } catch {
      continue; // this browser does not know the permission name: try the next one
    }
    if (state === "granted" || pageIsLocal()) return "not-running";
    if (state === "denied") return "permission-denied";
    if (state === "prompt") return "permission-prompt";
    return "unknown";
  }
  return "unknown";
}
