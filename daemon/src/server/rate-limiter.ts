/**
 * A token bucket per origin: `burst` requests at once, refilled at `perSecond`. Lazily refilled on
 * use (no timers), so an idle daemon does no work.
 *
 * A refused frame is told when to come back (`retryAfter`, sent as RATE_LIMITED's
 * `data.retryAfterMs`): not the same moment for everyone, which would bring every refused client of
 * the origin back in one burst (the load bench's p99 tail), but the next token slot nobody was
 * promised yet — one refill interval after the previous refusal's. A promise reserves nothing (a
 * token goes to whoever comes first); it only spreads the clients that follow it. The wait named is
 * at most MAX_RETRY_AFTER_MS (the protocol's bound).
 */
import { MAX_RETRY_AFTER_MS } from "@passerelle/protocol";

export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number; promised: number }>();

  private readonly perSecond: number;
  private readonly burst: number;
  private readonly now: () => number;

  constructor(perSecond: number, burst: number, now: () => number = () => performance.now()) {
    this.perSecond = perSecond;
    this.burst = burst;
    this.now = now;
  }

  /** Takes one token for `key`; false when the bucket is empty. */
  take(key: string): boolean {
    const now = this.now();
    const bucket = this.buckets.get(key) ?? { tokens: this.burst, at: now, promised: 0 };
    bucket.tokens = Math.min(this.burst, bucket.tokens + ((now - bucket.at) / 1000) * this.perSecond);
    bucket.at = now;
    if (bucket.tokens < 1) {
      this.buckets.set(key, bucket);
      return false;
    }
    bucket.tokens -= 1;
    this.buckets.set(key, bucket);
    return true;
  }

  /**
   * After `take(key)` refused: in how many ms to come back (whole ms, at least 1, at most
   * MAX_RETRY_AFTER_MS). Each call names the next free slot, so the refused are spread out.
   */
  retryAfter(key: string): number {
    const now = this.now();
    const bucket = this.buckets.get(key);
    if (bucket === undefined) return 1;
    const interval = 1000 / this.perSecond;
    const tokenAt = now + Math.max(0, 1 - bucket.tokens) * interval;
    const slot = Math.min(Math.max(tokenAt, bucket.promised), now + MAX_RETRY_AFTER_MS);
    bucket.promised = slot + interval;
    return Math.min(MAX_RETRY_AFTER_MS, Math.max(1, Math.ceil(slot - now)));
  }
}
