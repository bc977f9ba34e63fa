/**
 * The daemon's own PIN page, server side: a CPS PIN typed on a page served by the daemon, on its
 * own origin, so a web app never sees it (anchors.md §4.2 rule 7).
 *
 * `ask()` registers a pending request (one per origin: a second one gets BUSY), opens the page for
 * the user, and waits for the page to submit or cancel (or the timeout). The page (daemon/web/pin.html)
 * talks to the daemon over its own WebSocket with pin.pending / pin.submit / pin.cancel, methods that
 * exist only for the daemon's own origin. The PIN string is handed to the card driver and dropped.
 */
import { randomUUID } from "node:crypto";
import type { PinPrompt } from "../cards/cps/index.ts";
import { PasserelleError, isPasserelleError } from "../errors.ts";

/** How long the user has to type the PIN. */
export const PIN_PAGE_TIMEOUT_MS = 60_000;
/** How long `pin.submit` waits for the card's answer to the PIN before saying only "accepted". */
export const PIN_OUTCOME_WAIT_MS = 15_000;

/** What `pin.submit` answers: the card's verdict when it came in time (a wrong PIN is an error). */
export interface PinSubmitted {
  readonly accepted: true;
  readonly verified?: true;
  readonly triesRemaining?: number;
}
type Outcome = Parameters<NonNullable<PinPrompt["answered"]>>[0];

export interface PendingPin {
  readonly requestId: string;
  readonly origin: string;
  readonly readerId: string;
  readonly triesRemaining: number;
}

interface Pending extends PendingPin {
  resolve(pin: string): void;
  reject(error: PasserelleError): void;
  timer: ReturnType<typeof setTimeout>;
  /** Stops listening to the web app's connection. */
  detach(): void;
}

export interface PinPageOptions {
  /**
   * Opens the PIN page for the user (a browser window); false when it could not (no desktop
   * session). Absent: the user opens /pin.html.
   */
  open?: (url: string) => boolean;
  /** True for the daemon's own origins: their requests show on the page that made them, nothing opens. */
  isSelfOrigin?: (origin: string) => boolean;
  /** The page's URL, known once the server listens. */
  url: () => string | null;
  timeoutMs?: number;
  /**
   * Told when the pending list changes (the page listens for `pin.requested`); returns how many PIN
   * pages heard it — connections that asked for the PIN requests, not any connection of the daemon's
   * origin (undefined: unknown).
   */
  onChange?: () => number | void;
}

export class PinPage {
  readonly #pending = new Map<string, Pending>();
  /** Per origin: the submitted PIN whose card answer the page is waiting for. */
  readonly #awaiting = new Map<string, (outcome: Outcome) => void>();
  readonly #options: PinPageOptions;

  constructor(options: PinPageOptions) {
    this.#options = options;
  }

  /** The PinPrompt the CPS driver calls. */
  ask(
    request: { origin: string; readerId: string; triesRemaining: number },
    signal?: AbortSignal,
  ): Promise<string> {
    // The web app may have gone while this call waited for the card: nobody to type for.
    if (signal?.aborted) {
      return Promise.reject(new PasserelleError("USER_CANCELLED", "the web page went away"));
    }
    if (this.hasPending(request.origin)) {
      return Promise.reject(new PasserelleError("BUSY", "a PIN request is already pending for this origin"));
    }
    return new Promise<string>((resolve, reject) => {
      const requestId = randomUUID();
      const onAbort = () =>
        this.#settle(requestId, new PasserelleError("USER_CANCELLED", "the web page went away"));
      const timer = setTimeout(
        () => this.#settle(requestId, new PasserelleError("TIMEOUT", "the PIN was not entered in time")),
        this.#options.timeoutMs ?? PIN_PAGE_TIMEOUT_MS,
      );
      const detach = () => signal?.removeEventListener("abort", onAbort);
      this.#pending.set(requestId, { ...request, requestId, resolve, reject, timer, detach });
      signal?.addEventListener("abort", onAbort, { once: true });
      const pagesTold = this.#options.onChange?.();
      if (this.#options.isSelfOrigin?.(request.origin)) return; // shown on the page that asked
      const url = this.#options.url();
      const opened = url !== null && this.#options.open !== undefined && this.#options.open(url);
      // Shown nowhere (no window could open, no PIN page is connected): say so at once rather than
      // let the web app wait for a PIN nobody is asked for. It tells its user to open `pinPage`.
      if (!opened && pagesTold === 0) {
        this.#settle(
          requestId,
          new PasserelleError(
            "PIN_REQUIRED",
            "this origin has not given the CPS PIN and no PIN page is open: open pinPage, then try again",
            url ? { pinPage: url } : {},
          ),
        );
      }
    });
  }

  /** The PinPrompt for one call of `origin`: asks here, and hears the card's answer for `pin.submit`. */
  promptFor(origin: string, signal?: AbortSignal): PinPrompt {
    return {
      ask: (request) => this.ask(request, signal),
      answered: (outcome) => {
        const waiting = this.#awaiting.get(origin);
        this.#awaiting.delete(origin);
        waiting?.(outcome);
      },
    };
  }

  /** True while this origin has a PIN request waiting for the user. */
  hasPending(origin: string): boolean {
    for (const pending of this.#pending.values()) if (pending.origin === origin) return true;
    return false;
  }

  list(): PendingPin[] {
    return [...this.#pending.values()].map(({ requestId, origin, readerId, triesRemaining }) => ({
      requestId,
      origin,
      readerId,
      triesRemaining,
    }));
  }

  /**
   * Hands the PIN to the waiting operation and answers with what the card said: verified (and the
   * tries counter), or the card's error (PIN_INCORRECT with the tries left, PIN_BLOCKED…) thrown as is.
   * Without an answer within PIN_OUTCOME_WAIT_MS, only `accepted`.
   */
  submit(requestId: string, pin: string): Promise<PinSubmitted> {
    const pending = this.#take(requestId); // throws at once for a request no longer pending
    const outcome = new Promise<Outcome | null>((resolve) => {
      const done = (answer: Outcome) => {
        clearTimeout(timer);
        resolve(answer);
      };
      const timer = setTimeout(() => {
        if (this.#awaiting.get(pending.origin) === done) this.#awaiting.delete(pending.origin);
        resolve(null);
      }, PIN_OUTCOME_WAIT_MS);
      timer.unref();
      this.#awaiting.set(pending.origin, done);
    });
    pending.resolve(pin);
    return outcome.then((answer) => {
      if (answer === null || ("error" in answer && !isPasserelleError(answer.error)))
        return { accepted: true };
      if ("error" in answer) throw answer.error;
      return { accepted: true, verified: true, triesRemaining: answer.triesRemaining };
    });
  }

  cancel(requestId: string): void {
    this.#settle(requestId, new PasserelleError("USER_CANCELLED", "the user cancelled the PIN entry"));
  }

  /** Withdraws every pending request of an origin (its access was revoked): nobody types a PIN for it. */
  cancelFor(origin: string): void {
    for (const pending of [...this.#pending.values()])
      if (pending.origin === origin)
        this.#settle(
          pending.requestId,
          new PasserelleError("ACCESS_DENIED", "this origin's access was revoked"),
        );
  }

  #take(requestId: string): Pending {
    const pending = this.#pending.get(requestId);
    if (!pending) throw new PasserelleError("TIMEOUT", "this PIN request is no longer pending");
    this.#pending.delete(requestId);
    clearTimeout(pending.timer);
    pending.detach();
    this.#options.onChange?.();
    return pending;
  }

  #settle(requestId: string, error: PasserelleError): void {
    if (!this.#pending.has(requestId)) return;
    this.#take(requestId).reject(error);
  }
}
