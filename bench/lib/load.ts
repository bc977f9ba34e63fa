/**
 * The load generator of bench/load.ts, bench/soak.ts and their CI variant (test/faults/load.test.ts):
 * WebSocket clients spread over several origins, each calling readers.list, vitale.read and
 * cps.read in a loop, while a client on the daemon's own origin pulls the Vitale out and pushes it
 * back (the lab methods of a --simulate daemon) at a fixed interval. Every call is bounded: one
 * that gets no answer in time is counted as unanswered (a hang), never waited for forever.
 *
 * Which failures are expected is decided here, once: RATE_LIMITED (the documented per-origin
 * limit, docs/protocol.md), and NO_CARD / CARD_REMOVED / WRONG_CARD (no Vitale, only the CPS) from
 * vitale.read only, when the churn has just pulled that card out. Anything else is "unexpected" and named in the result.
 */
import { performance } from "node:perf_hooks";
import { rateLimitedWait } from "@passerelle/protocol";
import WebSocket from "ws";

/** Longest back-off after RATE_LIMITED in a row ("doubling"). */
const MAX_BACKOFF_MS = 1_000;

/**
 * How a client waits after RATE_LIMITED:
 * - "sdk": as the SDK does (`rateLimitedWait`): the daemon's `retryAfterMs` plus jitter;
 * - "doubling": what this generator did before the daemon said when to come back — a first wait
 *   (`rateLimitedBackoffMs`) doubled on each RATE_LIMITED in a row up to 1 s, the same for every
 *   client, so clients refused together come back together. Kept to measure the two side by side.
 */
export type BackoffPolicy = "sdk" | "doubling";

/** How long the churn leaves the slot empty before pushing the card back. */
export const CHURN_GAP_MS = 200;

export const LOAD_METHODS = ["readers.list", "vitale.read", "cps.read"] as const;
export type LoadMethod = (typeof LOAD_METHODS)[number];

export interface LoadOptions {
  /** ws:// URL of the daemon. */
  readonly url: string;
  readonly origins: readonly string[];
  /** Clients, spread over the origins in turn. */
  readonly clients: number;
  /** Run for this long, or `rounds` loops of the three methods per client (whichever is given). */
  readonly seconds?: number;
  readonly rounds?: number;
  /** The daemon's own origin (http://localhost:port): the lab controls for the churn. */
  readonly selfOrigin?: string;
  /** Pull the Vitale out and push it back this often (needs selfOrigin and a --simulate daemon). */
  readonly churnEveryMs?: number;
  /** The lab slot the Vitale is in (the simulation's default: 1). */
  readonly churnSlot?: number;
  /** Bound on one call. */
  readonly callTimeoutMs?: number;
  /**
   * First back-off after RATE_LIMITED, doubled on each one in a row up to 1 s, as a correct client
   * does (docs/protocol.md: one that keeps sending after RATE_LIMITED is closed with 1008).
   */
  readonly rateLimitedBackoffMs?: number;
  /** Default "sdk". */
  readonly backoff?: BackoffPolicy;
  /** Called once a second with the counts so far (the soak samples memory there). */
  readonly onTick?: (progress: LoadProgress) => void | Promise<void>;
}

export interface LoadProgress {
  readonly elapsedMs: number;
  readonly calls: number;
  readonly errors: number;
  readonly unexpected: number;
  readonly churns: number;
}

export interface LoadResult {
  readonly durationMs: number;
  /** Calls sent (every one either answered or counted unanswered). */
  readonly calls: number;
  readonly answered: number;
  readonly unanswered: number;
  /** Latency of every call answered with a result, ms. */
  readonly okLatencies: number[];
  /** Latencies by method (results only). */
  readonly latenciesByMethod: Record<LoadMethod, number[]>;
  /** "method reason" → count, for every error answer. */
  readonly errors: Record<string, number>;
  /** Failures nobody documents for this situation: "method reason" → count (and unanswered calls). */
  readonly unexpected: Record<string, number>;
  readonly churns: number;
  readonly connectFailures: number;
}

interface Pending {
  resolve: (answer: Record<string, unknown> | undefined) => void;
  timer: NodeJS.Timeout;
}

/** One JSON-RPC client over one WebSocket, with bounded calls and no unbounded buffers. */
class LoadClient {
  readonly #socket: WebSocket;
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;
  /** The close code and reason if the socket closed before we closed it. */
  closedBy: string | undefined;
  #closing = false;

  private constructor(socket: WebSocket) {
    this.#socket = socket;
    socket.on("message", (data) => {
      let message: Record<string, unknown>;
      try {
        message = JSON.parse(String(data)) as Record<string, unknown>;
      } catch {
        return;
      }
      const pending = typeof message["id"] === "number" ? this.#pending.get(message["id"]) : undefined;
      if (pending === undefined) return; // notifications: not subscribed, none expected
      this.#pending.delete(message["id"] as number);
      clearTimeout(pending.timer);
      pending.resolve(message);
    });
    socket.on("close", (code, reason) => {
      if (!this.#closing) this.closedBy = `${code} ${String(reason)}`.trim();
      for (const [id, pending] of this.#pending) {
        clearTimeout(pending.timer);
        this.#pending.delete(id);
        pending.resolve(undefined);
      }
    });
  }

  static open(url: string, origin: string, timeoutMs: number): Promise<LoadClient> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(url, ["passerelle.v1"], { headers: { Origin: origin } });
      const timer = setTimeout(() => {
        socket.terminate();
        reject(new Error(`no WebSocket open for ${origin} in ${timeoutMs} ms`));
      }, timeoutMs);
      socket.once("open", () => {
        clearTimeout(timer);
        resolve(new LoadClient(socket));
      });
      socket.once("unexpected-response", (_request, response) => {
        clearTimeout(timer);
        socket.terminate();
        reject(new Error(`upgrade refused for ${origin}: HTTP ${response.statusCode}`));
      });
      socket.once("error", (error) => {
        clearTimeout(timer);
        reject(error);
      });
    });
  }

  /** The answer, or undefined if none came within `timeoutMs` (or the socket closed). */
  call(method: string, params: unknown, timeoutMs: number): Promise<Record<string, unknown> | undefined> {
    if (this.#socket.readyState !== WebSocket.OPEN) return Promise.resolve(undefined);
    const id = this.#nextId++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        resolve(undefined);
      }, timeoutMs);
      this.#pending.set(id, { resolve, timer });
      this.#socket.send(JSON.stringify({ jsonrpc: "2.0", id, method, params }));
    });
  }

  /** Resolves with how the socket closed (waits at most 2 s for its close event). */
  async closeReason(): Promise<string> {
    if (this.#socket.readyState !== WebSocket.CLOSED)
      await Promise.race([
        new Promise((resolve) => this.#socket.once("close", resolve)),
        new Promise((resolve) => setTimeout(resolve, 2_000)),
      ]);
    return this.closedBy ?? `still ${["connecting", "open", "closing", "closed"][this.#socket.readyState]}`;
  }

  get open(): boolean {
    return this.#socket.readyState === WebSocket.OPEN;
  }

  close(): Promise<void> {
    this.#closing = true;
    if (this.#socket.readyState === WebSocket.CLOSED) return Promise.resolve();
    return new Promise((resolve) => {
      this.#socket.once("close", () => resolve());
      this.#socket.close();
    });
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function reasonOf(answer: Record<string, unknown>): string | undefined {
  const error = answer["error"] as { data?: { reason?: unknown }; code?: unknown } | undefined;
  if (error === undefined) return undefined;
  return typeof error.data?.reason === "string" ? error.data.reason : `code ${String(error.code)}`;
}

/** After the card is pushed back, how long a read may still see it out (events reach the readers view). */
const CHURN_GRACE_MS = 500;

/**
 * Whether this failure is one the protocol documents for this situation (see the file comment).
 * `cardOut`: whether the call overlapped a time the churn had the Vitale out of its reader.
 */
export function expectedFailure(method: string, reason: string, cardOut: boolean): boolean {
  if (reason === "RATE_LIMITED") return true;
  // WRONG_CARD: no Vitale in any reader but the CPS is in one (cards/choose-reader.ts says so).
  return (
    method === "vitale.read" &&
    (reason === "NO_CARD" || reason === "CARD_REMOVED" || reason === "WRONG_CARD") &&
    cardOut
  );
}

export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const callTimeoutMs = options.callTimeoutMs ?? 10_000;
  const backoffMs = options.rateLimitedBackoffMs ?? 20;
  const policy = options.backoff ?? "sdk";
  const errors: Record<string, number> = {};
  const unexpected: Record<string, number> = {};
  const okLatencies: number[] = [];
  const latenciesByMethod = Object.fromEntries(LOAD_METHODS.map((m) => [m, [] as number[]])) as Record<
    LoadMethod,
    number[]
  >;
  let calls = 0;
  let answered = 0;
  let unanswered = 0;
  let errorCount = 0;
  let unexpectedCount = 0;
  let churns = 0;
  let connectFailures = 0;
  /** The times the churn had the card out: [pulled, pushed back + grace] (end Infinity while out). */
  const outWindows: Array<{ from: number; to: number }> = [];
  const overlapsCardOut = (from: number, to: number) =>
    outWindows.some((window) => window.from <= to && window.to >= from);
  const count = (table: Record<string, number>, key: string) => (table[key] = (table[key] ?? 0) + 1);

  const clients: LoadClient[] = [];
  for (let i = 0; i < options.clients; i += 1) {
    const origin = options.origins[i % options.origins.length] as string;
    try {
      clients.push(await LoadClient.open(options.url, origin, callTimeoutMs));
    } catch {
      connectFailures += 1;
      count(unexpected, `connect ${origin}`);
      unexpectedCount += 1;
    }
  }
  const self =
    options.selfOrigin !== undefined && options.churnEveryMs !== undefined
      ? await LoadClient.open(options.url, options.selfOrigin, callTimeoutMs)
      : undefined;

  const started = performance.now();
  const deadline = options.seconds === undefined ? Infinity : started + options.seconds * 1000;
  const rounds = options.rounds ?? Infinity;
  let running = true;

  const loop = async (client: LoadClient) => {
    let backoff = backoffMs;
    let refusedInARow = 0;
    for (let round = 0; round < rounds && running && performance.now() < deadline; round += 1) {
      for (const method of LOAD_METHODS) {
        calls += 1;
        const sent = performance.now();
        const answer = await client.call(method, {}, callTimeoutMs);
        const latency = performance.now() - sent;
        if (answer === undefined) {
          unanswered += 1;
          unexpectedCount += 1;
          count(unexpected, `${method} unanswered`);
          // Closed by the daemon: say how, once, and stop this client (nothing more can be sent).
          if (!client.open) {
            count(unexpected, `connection closed by the daemon: ${await client.closeReason()}`);
            return;
          }
          continue;
        }
        answered += 1;
        const reason = reasonOf(answer);
        if (reason !== "RATE_LIMITED") {
          backoff = backoffMs;
          refusedInARow = 0;
        }
        if (reason === undefined) {
          okLatencies.push(latency);
          latenciesByMethod[method].push(latency);
          continue;
        }
        errorCount += 1;
        count(errors, `${method} ${reason}`);
        if (!expectedFailure(method, reason, overlapsCardOut(sent, performance.now()))) {
          unexpectedCount += 1;
          count(unexpected, `${method} ${reason}`);
        }
        if (reason === "RATE_LIMITED" && policy === "doubling") {
          await sleep(backoff);
          backoff = Math.min(MAX_BACKOFF_MS, backoff * 2);
        } else if (reason === "RATE_LIMITED") {
          const data = (answer["error"] as { data?: Record<string, unknown> }).data ?? {};
          await sleep(rateLimitedWait(data, refusedInARow) ?? MAX_BACKOFF_MS);
          refusedInARow += 1;
        }
      }
    }
  };

  const churn = async () => {
    if (self === undefined || options.churnEveryMs === undefined) return;
    const slot = options.churnSlot ?? 1;
    while (running && performance.now() < deadline) {
      await sleep(Math.min(options.churnEveryMs, deadline - performance.now()));
      if (!running || performance.now() >= deadline) break;
      const window = { from: performance.now(), to: Infinity };
      outWindows.push(window);
      if (outWindows.length > 8) outWindows.shift();
      const removed = await self.call("lab.removeCard", { slot }, callTimeoutMs);
      await sleep(CHURN_GAP_MS);
      const inserted = await self.call("lab.insertCard", { slot, card: "vitale" }, callTimeoutMs);
      window.to = performance.now() + CHURN_GRACE_MS;
      for (const [what, answer] of [
        ["lab.removeCard", removed],
        ["lab.insertCard", inserted],
      ] as const) {
        if (answer === undefined || answer["error"] !== undefined) {
          unexpectedCount += 1;
          count(unexpected, `${what} ${answer === undefined ? "unanswered" : reasonOf(answer)}`);
        }
      }
      churns += 1;
    }
  };

  const ticker = setInterval(() => {
    void options.onTick?.({
      elapsedMs: performance.now() - started,
      calls,
      errors: errorCount,
      unexpected: unexpectedCount,
      churns,
    });
  }, 1_000);
  try {
    const loops = clients.map((client) => loop(client));
    const churning = churn();
    await Promise.all(loops);
    running = false;
    await churning;
  } finally {
    running = false;
    clearInterval(ticker);
    await Promise.all([...clients, ...(self ? [self] : [])].map((client) => client.close()));
  }
  return {
    durationMs: performance.now() - started,
    calls,
    answered,
    unanswered,
    okLatencies,
    latenciesByMethod,
    errors,
    unexpected,
    churns,
    connectFailures,
  };
}

/** n origins of the load: https://ehr-1.load.example … */
export function loadOrigins(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `https://ehr-${i + 1}.load.example`);
}
