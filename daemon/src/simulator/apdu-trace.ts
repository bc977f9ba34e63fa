/**
 * Recording what a host sends to a lab card: a CardEmulator wrapped so that every C-APDU and its
 * R-APDU are kept (bounded), to compare two hosts' dialects on the same emulated card (ours and the
 * ANS Cryptolib's) or to write a trace file (`lab insert --trace FILE`).
 *
 * A command's *form* is what a card sees of its shape: CLA, INS, P1, P2, the ISO/IEC 7816-3 case
 * (1 no data no Le, 2 Le only, 3 data only, 4 data and Le) and whether an Le byte is there. Data
 * bytes are not part of the form. VERIFY's data is the PIN block: `redact` keeps it out of a trace.
 */
import type { CardEmulator } from "./card-emulator.ts";

export interface TracedApdu {
  readonly command: Uint8Array;
  readonly response: Uint8Array;
}

export interface CommandForm {
  readonly cla: number;
  readonly ins: number;
  readonly p1: number;
  readonly p2: number;
  /** ISO/IEC 7816-3 §12.1.3 case; 0 when the bytes are not a well-formed APDU. */
  readonly case: 0 | 1 | 2 | 3 | 4;
  readonly extended: boolean;
}

/** Keeps at most this many exchanges (a long `--simulate` session must not grow without bound). */
export const TRACE_LIMIT = 10_000;
const INS_VERIFY = 0x20;

/** The form of a raw C-APDU. */
export function commandForm(apdu: Uint8Array): CommandForm {
  const [cla = 0, ins = 0, p1 = 0, p2 = 0] = apdu;
  const base = { cla, ins, p1, p2, extended: false };
  const n = apdu.length - 4;
  if (n < 0) return { ...base, case: 0 };
  if (n === 0) return { ...base, case: 1 };
  if (n === 1) return { ...base, case: 2 };
  const first = apdu[4]!;
  if (first !== 0) {
    if (n === 1 + first) return { ...base, case: 3 };
    if (n === 2 + first) return { ...base, case: 4 };
    return { ...base, case: 0 };
  }
  if (n === 3) return { ...base, case: 2, extended: true };
  const lc = (apdu[5]! << 8) | apdu[6]!;
  if (lc > 0 && n === 3 + lc) return { ...base, case: 3, extended: true };
  if (lc > 0 && n === 5 + lc) return { ...base, case: 4, extended: true };
  return { ...base, case: 0 };
}

const hex2 = (n: number): string => n.toString(16).toUpperCase().padStart(2, "0");

/** `00 A4 09 04 case 3` style key: equal keys are the same form. Le present ⇔ case 2 or 4. */
export function formKey(form: CommandForm): string {
  const header = [form.cla, form.ins, form.p1, form.p2].map(hex2).join(" ");
  return `${header} case ${form.case}${form.extended ? " ext" : ""}`;
}

/** The command with VERIFY's PIN block (and any other data of INS 20) replaced by zeros. */
export function redact(apdu: Uint8Array): Uint8Array {
  const out = Uint8Array.from(apdu);
  if (out[1] === INS_VERIFY && out.length > 5) out.fill(0, 5, 5 + Math.min(out[4]!, out.length - 5));
  return out;
}

export class TracingCard implements CardEmulator {
  readonly #inner: CardEmulator;
  readonly #trace: TracedApdu[] = [];
  #recording = true;

  constructor(inner: CardEmulator) {
    this.#inner = inner;
  }

  get atr(): Uint8Array {
    return this.#inner.atr;
  }

  /** What was exchanged since the last clear(), oldest first (VERIFY data redacted). */
  get trace(): readonly TracedApdu[] {
    return this.#trace;
  }

  /** The forms sent since the last clear(), in order. */
  forms(): CommandForm[] {
    return this.#trace.map((entry) => commandForm(entry.command));
  }

  clear(): void {
    this.#trace.length = 0;
  }

  /** Stop (false) or resume (true) recording, e.g. around a test's own setup. */
  record(on: boolean): void {
    this.#recording = on;
  }

  async transmit(apdu: Uint8Array): Promise<Uint8Array> {
    const command = redact(apdu);
    const response = await this.#inner.transmit(apdu);
    if (this.#recording) {
      this.#trace.push({ command, response: Uint8Array.from(response) });
      if (this.#trace.length > TRACE_LIMIT) this.#trace.splice(0, this.#trace.length - TRACE_LIMIT);
    }
    return response;
  }

  reset(): void {
    this.#inner.reset();
  }
}

/** One line per exchange: `C: 00 A4 … / R: 61 27` (hex, space-separated), for trace files. */
export function formatTrace(trace: readonly TracedApdu[]): string {
  const spaced = (bytes: Uint8Array): string => Array.from(bytes, hex2).join(" ");
  return trace.map((e) => `C: ${spaced(e.command)}\nR: ${spaced(e.response)}\n`).join("");
}
