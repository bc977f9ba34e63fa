/**
 * Refused upgrades, logged without letting a hostile page fill the disk: the first refusal of an
 * origin is logged at once (naming the origin and why), the ones that follow within the minute are
 * counted and logged as one line when the minute ends. So at most one line per origin per minute,
 * however hard a tab or a local program retries. The number of origins tracked at once is bounded
 * too: past it, refusals are counted under one "(other origins)" line.
 */
import type { Logger } from "../audit/logger.ts";

/** One line per origin per this window. */
export const REFUSAL_LOG_WINDOW_MS = 60_000;
/** Distinct origins tracked in one window; more are counted together. */
export const REFUSAL_LOG_MAX_ORIGINS = 64;
/** A malformed Origin is logged cut to this length (it is attacker-chosen text). */
const MAX_LOGGED_ORIGIN = 120;
const OTHERS = "(other origins)";

interface Window {
  since: number;
  /** Refusals not logged yet (after the first one of the window). */
  count: number;
  why: Set<string>;
}

export class RefusalLog {
  readonly #windows = new Map<string, Window>();
  readonly #logger: Logger;
  readonly #windowMs: number;
  readonly #now: () => number;
  #timer: ReturnType<typeof setInterval> | null = null;

  constructor(logger: Logger, options: { windowMs?: number; now?: () => number } = {}) {
    this.#logger = logger;
    this.#windowMs = options.windowMs ?? REFUSAL_LOG_WINDOW_MS;
    this.#now = options.now ?? (() => performance.now());
  }

  /** Notes one refused upgrade; `origin` is the header as sent (absent: none). */
  note(origin: string | undefined, why: string): void {
    this.flush();
    let key = origin === undefined ? "(no Origin)" : printable(origin);
    if (!this.#windows.has(key) && this.#windows.size >= REFUSAL_LOG_MAX_ORIGINS) key = OTHERS;
    const window = this.#windows.get(key);
    if (window) {
      window.count += 1;
      window.why.add(why);
      return;
    }
    this.#windows.set(key, { since: this.#now(), count: 0, why: new Set([why]) });
    this.#logger.info("upgrade refused", { origin: key, why });
    this.#startTimer();
  }

  /** Logs and closes the windows that are over (called on each note and by a timer). */
  flush(): void {
    const now = this.#now();
    for (const [key, window] of this.#windows) {
      if (now - window.since < this.#windowMs) continue;
      if (window.count === 0) {
        this.#windows.delete(key);
        continue;
      }
      this.#logger.info("upgrade refused (repeated)", {
        origin: key,
        why: [...window.why].join(", "),
        count: window.count,
        seconds: Math.round((now - window.since) / 1000),
      });
      // Still refused: a new window starts, whose first refusal is not logged at once.
      this.#windows.set(key, { since: now, count: 0, why: new Set() });
    }
    if (this.#windows.size === 0) this.stop();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }

  #startTimer(): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => this.flush(), this.#windowMs);
    this.#timer.unref();
  }
}

function printable(origin: string): string {
  // JSON.stringify escapes control characters; the length is bounded.
  const text = /^[\x21-\x7e]*$/.test(origin) ? origin : JSON.stringify(origin);
  return text.length > MAX_LOGGED_ORIGIN ? `${text.slice(0, MAX_LOGGED_ORIGIN)}…` : text;
}
