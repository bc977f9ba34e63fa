/**
 * The targets of issue 14, one line each: a figure id (bench/lib/results.ts) and its bound. Ratios
 * are measured side by side in the same run (the daemon's path vs the bare one), so they hold on
 * any machine; absolute figures (idle CPU, insert latency) are the issue's own bounds.
 */
export interface Target {
  readonly max: number;
  readonly what: string;
}

export const TARGETS: Readonly<Record<string, Target>> = {
  "ping.p50.ratio": { max: 1.5, what: "system.ping through the daemon vs a bare ws echo (p50)" },
  "apdu.p50.ratio": { max: 1.1, what: "APDU through CardSession vs bare koffi Transmit (p50)" },
  "vitale.cold.inprocess.ratio": { max: 1.1, what: "cold vitale.read vs its bare APDU loop, in process" },
  "vitale.cold.pcscd.ratio": { max: 1.1, what: "cold vitale.read vs its bare APDU loop, through pcscd" },
  "cps.cold.inprocess.ratio": { max: 1.1, what: "cold cps.read vs its bare APDU loop, in process" },
  "cps.cold.pcscd.ratio": { max: 1.1, what: "cold cps.read vs its bare APDU loop, through pcscd" },
  "insert.websocket.max.delta": {
    max: 20,
    what: "insert → card.inserted at a WebSocket client − bare loop (max)",
  },
  "insi.organisation.p50.ratio": { max: 1.2, what: "INSi call (build+send+parse) vs bare POST (p50)" },
  "load.p99.over.p50": { max: 10, what: "load (100 clients, 10 origins, card churn): p99 / p50 of results" },
  "load.unexpected.errors": {
    max: 0,
    what: "load: failures other than RATE_LIMITED and the churn's card errors, or unanswered",
  },
  "idle.cpu.per60s": { max: 50, what: "idle CPU of the Readers with two cards, per 60 s" },
};
