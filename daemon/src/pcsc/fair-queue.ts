/**
 * One FIFO queue per key: tasks with the same key (a reader) run one at a time in arrival order;
 * tasks with different keys run in parallel. A task's failure never blocks the ones behind it.
 */
import { PasserelleError } from "../errors.ts";

/** Operations waiting on one reader beyond this are refused with READER_BUSY, not queued forever. */
export const MAX_QUEUED_PER_READER = 256;

interface Lane {
  tail: Promise<void>;
  pending: number;
}

export class FairQueue {
  readonly #lanes = new Map<string, Lane>();
  readonly #limit: number;

  constructor(limit: number = MAX_QUEUED_PER_READER) {
    this.#limit = limit;
  }

  /** Number of tasks queued or running for `key`. */
  pending(key: string): number {
    return this.#lanes.get(key)?.pending ?? 0;
  }

  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    let lane = this.#lanes.get(key);
    if (lane === undefined) {
      lane = { tail: Promise.resolve(), pending: 0 };
      this.#lanes.set(key, lane);
    }
    if (lane.pending >= this.#limit) {
      return Promise.reject(
        new PasserelleError("READER_BUSY", `more than ${this.#limit} operations waiting for this reader`),
      );
    }
    const current = lane;
    current.pending += 1;
    const result = current.tail.then(task);
    current.tail = result.then(
      () => undefined,
      () => undefined,
    );
    void current.tail.then(() => {
      current.pending -= 1;
      if (current.pending === 0 && this.#lanes.get(key) === current) this.#lanes.delete(key);
    });
    return result;
  }
}
