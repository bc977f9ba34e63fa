/**
 * The consent requests waiting for the user: one per origin at most, a few at once on the
 * machine, a few per origin per ten minutes (anchors.md §4.2 rules 4 and 9: one pending action
 * per origin, rate limits on pairing attempts). Each has
 * - a 6-digit pairing code, shown on the daemon's consent page and by the web app, so the user can
 *   tell that the page asking is the app in front of them;
 * - a one-time token (32 random bytes, base64url) that only the consent page the daemon opened
 *   knows (it travels in the URL fragment, which browsers never send to a server nor in a
 *   Referer). It is kept only as its SHA-256: a look-up never compares the token itself.
 */
import { createHash, randomBytes, randomInt } from "node:crypto";
import { PasserelleError } from "../errors.ts";

/** How long the user has to decide. */
export const CONSENT_TIMEOUT_MS = 120_000;

export interface ConsentLimits {
  /** Consent pages one origin may open per window. */
  readonly perOrigin: number;
  /** Consent pages all origins together may open per window (many sub-domains of one attacker). */
  readonly overall: number;
  readonly windowMs: number;
  /** Consent requests pending at once on the machine. */
  readonly maxPending: number;
}

export const CONSENT_LIMITS: ConsentLimits = {
  perOrigin: 3,
  overall: 10,
  windowMs: 10 * 60_000,
  maxPending: 3,
};

export interface PendingConsent {
  readonly origin: string;
  readonly appName: string | undefined;
  readonly pairingCode: string;
  readonly expiresAt: Date;
  readonly startedAt: number;
}

interface Entry extends PendingConsent {
  readonly timer: ReturnType<typeof setTimeout>;
}

export interface ConsentOptions {
  readonly timeoutMs?: number;
  readonly limits?: ConsentLimits;
  /** A request the user did not decide in time. */
  readonly onExpire: (consent: PendingConsent) => void;
  readonly now?: () => number;
}

function tokenKey(token: string): string {
  return createHash("sha256").update(token, "utf8").digest("hex");
}

/** A 6-digit code, uniformly drawn (leading zeros kept). */
export function pairingCode(): string {
  return String(randomInt(0, 1_000_000)).padStart(6, "0");
}

export class ConsentRequests {
  readonly #pending = new Map<string, Entry>();
  /** Per origin: when its recent consent pages were opened (within the window). */
  readonly #attempts = new Map<string, number[]>();
  #overall: number[] = [];
  readonly #timeoutMs: number;
  readonly #limits: ConsentLimits;
  readonly #onExpire: (consent: PendingConsent) => void;
  readonly #now: () => number;

  constructor(options: ConsentOptions) {
    this.#timeoutMs = options.timeoutMs ?? CONSENT_TIMEOUT_MS;
    this.#limits = options.limits ?? CONSENT_LIMITS;
    this.#onExpire = options.onExpire;
    this.#now = options.now ?? Date.now;
  }

  pendingFor(origin: string): PendingConsent | undefined {
    for (const entry of this.#pending.values()) if (entry.origin === origin) return entry;
    return undefined;
  }

  /**
   * Registers a request: BUSY when this origin already has one, RATE_LIMITED past the limits.
   * Returns the token for the consent page's URL.
   */
  start(origin: string, appName: string | undefined): { token: string; consent: PendingConsent } {
    if (this.pendingFor(origin))
      throw new PasserelleError("BUSY", "a consent request is already pending for this origin");
    const now = this.#now();
    const recent = this.#recent(origin, now);
    this.#overall = this.#overall.filter((time) => now - time < this.#limits.windowMs);
    if (this.#pending.size >= this.#limits.maxPending)
      throw new PasserelleError("RATE_LIMITED", "too many consent requests are waiting for the user");
    if (recent.length >= this.#limits.perOrigin || this.#overall.length >= this.#limits.overall) {
      const oldest = Math.min(...(recent.length >= this.#limits.perOrigin ? recent : this.#overall));
      throw new PasserelleError("RATE_LIMITED", "too many consent requests: try again later", {
        retryAfterSeconds: Math.max(1, Math.ceil((oldest + this.#limits.windowMs - now) / 1000)),
      });
    }
    recent.push(now);
    this.#attempts.set(origin, recent);
    this.#overall.push(now);
    const token = randomBytes(32).toString("base64url");
    const key = tokenKey(token);
    const timer = setTimeout(() => {
      const entry = this.#pending.get(key);
      if (!entry) return;
      this.#pending.delete(key);
      this.#onExpire(entry);
    }, this.#timeoutMs);
    timer.unref();
    const entry: Entry = {
      origin,
      appName,
      pairingCode: pairingCode(),
      expiresAt: new Date(now + this.#timeoutMs),
      startedAt: now,
      timer,
    };
    this.#pending.set(key, entry);
    return { token, consent: entry };
  }

  /** The request a consent page's token names; undefined for any other token. */
  get(token: string): PendingConsent | undefined {
    return this.#pending.get(tokenKey(token));
  }

  /** Ends the request (decided, or could not be shown); the token is dead afterwards. */
  take(token: string): PendingConsent | undefined {
    const key = tokenKey(token);
    const entry = this.#pending.get(key);
    if (!entry) return undefined;
    clearTimeout(entry.timer);
    this.#pending.delete(key);
    return entry;
  }

  close(): void {
    for (const entry of this.#pending.values()) clearTimeout(entry.timer);
    this.#pending.clear();
  }

  #recent(origin: string, now: number): number[] {
    const recent = (this.#attempts.get(origin) ?? []).filter((time) => now - time < this.#limits.windowMs);
    if (recent.length === 0) this.#attempts.delete(origin);
    // Bounded: an origin's list holds at most perOrigin entries; stale origins are dropped.
    if (this.#attempts.size > 10_000) {
      for (const [key, times] of this.#attempts)
        if (times.every((time) => now - time >= this.#limits.windowMs)) this.#attempts.delete(key);
    }
    return recent;
  }
}
