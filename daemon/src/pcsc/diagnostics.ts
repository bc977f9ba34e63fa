/**
 * The PC/SC layer's diagnostics (service lost and back, a monitor error, a listener that threw) as
 * log reports, throttled: a monitor failing in a loop (every backoff step, down to 100 ms) would
 * otherwise fill the log, and a silent one leaves no trace at all. The first occurrence of a
 * message is reported at once; repeats within DIAGNOSTIC_REPEAT_INTERVAL_MS are counted and the
 * count goes with the next report of that message. No timer: nothing runs while nothing happens.
 * Diagnostics never carry card data (ReaderMonitor's contract).
 */

/** At most one report per message and per minute. */
export const DIAGNOSTIC_REPEAT_INTERVAL_MS = 60_000;

export type DiagnosticLevel = "info" | "warn" | "error";

export interface DiagnosticReport {
  readonly level: DiagnosticLevel;
  readonly message: string;
  readonly error?: unknown;
  /** Occurrences of this message left unreported since its previous report. */
  readonly repeated: number;
}

/** The service coming back is news, losing it a warning, anything else a fault in our code or the driver's. */
function levelOf(message: string): DiagnosticLevel {
  if (message === "PC/SC service available") return "info";
  if (message === "PC/SC service lost" || message === "PC/SC service unavailable") return "warn";
  return "error";
}

export function throttledDiagnostics(
  report: (entry: DiagnosticReport) => void,
  options: { intervalMs?: number; now?: () => number } = {},
): (message: string, error?: unknown) => void {
  const interval = options.intervalMs ?? DIAGNOSTIC_REPEAT_INTERVAL_MS;
  const now = options.now ?? (() => performance.now());
  const seen = new Map<string, { reportedAt: number; repeated: number }>();
  return (message, error) => {
    const at = now();
    const last = seen.get(message);
    if (last !== undefined && at - last.reportedAt < interval) {
      last.repeated += 1;
      return;
    }
    seen.set(message, { reportedAt: at, repeated: 0 });
    report({
      level: levelOf(message),
      message,
      ...(error === undefined ? {} : { error }),
      repeated: last?.repeated ?? 0,
    });
  };
}
