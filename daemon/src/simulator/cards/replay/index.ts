/**
 * A trace-replay card: a virtual card that knows nothing but a recorded trace (a list of C-APDU →
 * R-APDU, from a published real-card log or from a TracingCard) and answers a command only with
 * what the trace says the card answered to exactly those bytes. Any other command is refused, so a
 * host driven against it is proven to send, byte for byte, commands that card was seen to answer.
 *
 * Matching: the exchange right after the last one answered, if its command is the same bytes (the
 * trace replayed in order); otherwise the first exchange of the trace with the same bytes — except
 * GET RESPONSE (INS C0), whose answer depends on the command before it, and so is only answered in
 * order. The same command may appear several times: answers are taken in the trace's order.
 *
 * Refusal: the trace cannot say what the card would have answered; the replay card says "not in
 * the trace" with ISO/IEC 7816-4's words (§5.6, table 6): `6E00` "class not supported" when no
 * command of the trace has that CLA, `6D00` "instruction not supported or invalid" otherwise. A
 * real card would answer the command itself (data, 6A82, 6A86…): the status is the lab's choice,
 * not a claim about the card; `refused` lists what was not in the trace.
 */
import type { CardEmulator } from "../../card-emulator.ts";
import type { TracedApdu } from "../../apdu-trace.ts";

export const SW_NOT_IN_TRACE_INS = Uint8Array.of(0x6d, 0x00);
export const SW_NOT_IN_TRACE_CLA = Uint8Array.of(0x6e, 0x00);
const INS_GET_RESPONSE = 0xc0;

const same = (a: Uint8Array, b: Uint8Array): boolean =>
  a.length === b.length && a.every((x, i) => x === b[i]);

export class ReplayCard implements CardEmulator {
  readonly atr: Uint8Array;
  readonly #trace: readonly TracedApdu[];
  readonly #classes: ReadonlySet<number>;
  /** How many times each exchange of the trace was answered. */
  readonly #uses: number[];
  #last = -1;
  /** Commands answered from the trace (their index in it), in order. */
  readonly answered: number[] = [];
  /** Commands that are not in the trace, in order. */
  readonly refused: Uint8Array[] = [];

  constructor(trace: readonly TracedApdu[], atr: Uint8Array) {
    if (trace.length === 0) throw new RangeError("a replay card needs a trace");
    this.#trace = trace;
    this.atr = Uint8Array.from(atr);
    this.#classes = new Set(trace.map((e) => e.command[0] ?? -1));
    this.#uses = trace.map(() => 0);
  }

  transmit(apdu: Uint8Array): Uint8Array {
    const index = this.#find(apdu);
    if (index === undefined) {
      this.refused.push(Uint8Array.from(apdu));
      this.#last = -1;
      return Uint8Array.from(this.#classes.has(apdu[0] ?? -1) ? SW_NOT_IN_TRACE_INS : SW_NOT_IN_TRACE_CLA);
    }
    this.#uses[index]! += 1;
    this.#last = index;
    this.answered.push(index);
    return Uint8Array.from(this.#trace[index]!.response);
  }

  /** A reset loses the place in the trace (a GET RESPONSE pending is gone, as on a card). */
  reset(): void {
    this.#last = -1;
  }

  #find(apdu: Uint8Array): number | undefined {
    const next = this.#last + 1;
    if (next < this.#trace.length && same(this.#trace[next]!.command, apdu)) return next;
    if (apdu[1] === INS_GET_RESPONSE) return undefined;
    // The least used exchange with these bytes, the earliest first: a command sent again gets the
    // trace's next answer to it, then the last one again.
    let best: number | undefined;
    for (let i = 0; i < this.#trace.length; i++) {
      if (!same(this.#trace[i]!.command, apdu)) continue;
      if (best === undefined || this.#uses[i]! < this.#uses[best]!) best = i;
    }
    return best;
  }
}

/**
 * A trace as text, one exchange per pair of lines: our `formatTrace` form (`C: 00 A4 …` / `R: 61 27`)
 * or the form of the public CPx logs (`APDU: 00 A4 …` / `SW: 61 27`, OpenSC issues #2223, #2275),
 * other lines ignored. A command without its answer is an error.
 */
export function parseTrace(text: string): TracedApdu[] {
  const out: TracedApdu[] = [];
  let command: Uint8Array | undefined;
  const bytes = (hex: string): Uint8Array => {
    const digits = hex.replace(/\s+/g, "");
    if (!/^(?:[0-9A-Fa-f]{2})+$/.test(digits)) throw new SyntaxError(`not hex bytes: ${hex.trim()}`);
    return Uint8Array.from(Buffer.from(digits, "hex"));
  };
  for (const line of text.split(/\r?\n/)) {
    const c = /(?:^|\s)(?:C|APDU):\s*([0-9A-Fa-f ]+)$/.exec(line);
    const r = /(?:^|\s)(?:R|SW):\s*([0-9A-Fa-f ]+)$/.exec(line);
    if (c) {
      if (command) throw new SyntaxError("a command without its answer");
      command = bytes(c[1]!);
    } else if (r) {
      if (!command) throw new SyntaxError("an answer without its command");
      const response = bytes(r[1]!);
      if (response.length < 2) throw new SyntaxError("an answer without its status word");
      out.push({ command, response });
      command = undefined;
    }
  }
  if (command) throw new SyntaxError("a command without its answer");
  return out;
}
