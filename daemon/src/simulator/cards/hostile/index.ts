/**
 * A hostile card for robustness tests: wraps any emulated card and, at the exchanges a plan names,
 * answers what a broken or malicious card would — a random status word, truncated data, a TLV
 * length running past the data, garbage, an endless `61xx` (more data) loop, the answer to the
 * previous command, or no status word at all. Drivers must turn every one of them into a typed
 * PasserelleError (or a read with warnings), never a crash or a hang.
 *
 * Generic over CardEmulator: the Vitale tests drive it with fast-check
 * (daemon/test/cards/vitale/hostile.test.ts); the CPS drivers can use it the same way.
 */
import type { CardEmulator } from "../../card-emulator.ts";

export type HostileFault =
  /** Only this status word, no data. */
  | { readonly kind: "status"; readonly sw: number }
  /** The real answer's data cut to `keep` bytes, its status word kept. */
  | { readonly kind: "truncate"; readonly keep: number }
  /** These bytes instead of the real data, with 9000. */
  | { readonly kind: "garbage"; readonly bytes: Uint8Array }
  /** The real data with its second byte (the first TLV length) raised by `by`: a length past the data. */
  | { readonly kind: "overlong"; readonly by: number }
  /** `61 xx` now and to every GET RESPONSE that follows, for ever. */
  | { readonly kind: "more-data-loop"; readonly sw2: number }
  /** The answer the card gave to the previous command (an answer to the wrong command). */
  | { readonly kind: "previous" }
  /** 0 or 1 byte: no status word. */
  | { readonly kind: "mute"; readonly bytes: Uint8Array };

export interface HostileCard extends CardEmulator {
  /** Exchanges answered so far (the index the plan is asked about; 0-based). */
  readonly exchanges: number;
  /** The faults actually played, with their exchange index (to explain a failing run). */
  readonly played: ReadonlyArray<{ readonly exchange: number; readonly fault: HostileFault }>;
}

const GET_RESPONSE = 0xc0;

function withSw(data: Uint8Array, sw1: number, sw2: number): Uint8Array {
  const out = new Uint8Array(data.length + 2);
  out.set(data, 0);
  out[data.length] = sw1;
  out[data.length + 1] = sw2;
  return out;
}

/** `plan(exchange)` gives the fault for that exchange, or undefined to let the real card answer. */
export function createHostileCard(
  inner: CardEmulator,
  plan: (exchange: number) => HostileFault | undefined,
): HostileCard {
  let exchanges = 0;
  let previous: Uint8Array = Uint8Array.of(0x90, 0x00);
  let looping: number | undefined;
  const played: Array<{ exchange: number; fault: HostileFault }> = [];

  async function answer(apdu: Uint8Array, index: number): Promise<Uint8Array> {
    if (looping !== undefined && apdu[1] === GET_RESPONSE) return Uint8Array.of(0x61, looping);
    looping = undefined;
    const fault = plan(index);
    if (fault === undefined) return inner.transmit(apdu);
    played.push({ exchange: index, fault });
    switch (fault.kind) {
      case "status":
        return Uint8Array.of((fault.sw >> 8) & 0xff, fault.sw & 0xff);
      case "garbage":
        return withSw(fault.bytes, 0x90, 0x00);
      case "more-data-loop":
        looping = fault.sw2 & 0xff;
        return Uint8Array.of(0x61, looping);
      case "previous":
        return previous.slice();
      case "mute":
        return fault.bytes.slice(0, 1);
      case "truncate":
      case "overlong": {
        const real = await inner.transmit(apdu);
        if (real.length < 2) return real;
        const data = real.subarray(0, real.length - 2);
        const sw1 = real[real.length - 2] ?? 0x6f;
        const sw2 = real[real.length - 1] ?? 0x00;
        if (fault.kind === "truncate")
          return withSw(data.subarray(0, Math.min(fault.keep, data.length)), sw1, sw2);
        const bent = data.slice();
        if (bent.length >= 2) bent[1] = ((bent[1] ?? 0) + fault.by) & 0xff;
        return withSw(bent, sw1, sw2);
      }
    }
  }

  return {
    get atr() {
      return inner.atr;
    },
    get exchanges() {
      return exchanges;
    },
    played,
    async transmit(apdu) {
      const index = exchanges;
      exchanges += 1;
      const out = await answer(apdu, index);
      previous = out;
      return out;
    },
    reset() {
      looping = undefined;
      inner.reset();
    },
  };
}
