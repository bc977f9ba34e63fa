/**
 * A hostile CPS3 at every step of a cold read (the CPS4 engineer's hostile test, same faults, for the
 * elder): fast-check picks the raw exchange (by its rank in the read) and what the card answers
 * instead — a random status word, the right answer cut short, random bytes with 9000, an FCI
 * announcing a size past the data, a 61xx loop, an answer meant for another command, an answer with
 * no status word. The read goes through the daemon's own APDU transport with its T=0 rule. It must
 * end, with a protocol-valid result or a typed error: CARD_ERROR naming the step, or WRONG_CARD;
 * never a crash, a hang or another error. Bounded runs: it is in CI.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { exchange } from "../../../src/pcsc/apdu-transport.ts";
import type { CardChannel, CommandApdu, ResponseApdu } from "../../../src/pcsc/apdu.ts";
import { Cps3Emulator } from "../../../src/simulator/cards/cps3/index.ts";
import { createTestPki, generateRsaKeyPair } from "../../../src/simulator/pki/test-pki.ts";
import { CpsDriver } from "../../../src/cards/cps/index.ts";
import { isPasserelleError, PasserelleError } from "../../../src/errors.ts";
import { CpsReadResult } from "@passerelle/protocol";

const pki = createTestPki();
const keys = { authentication: generateRsaKeyPair(), signature: generateRsaKeyPair() };
const serial = Uint8Array.of(1, 2, 3, 4, 5);
const emulator = new Cps3Emulator({ pki, keys, serial });
const certificates = emulator.certificates;
const RUN_TIMEOUT_MS = 5_000;

type Fault =
  | { kind: "status"; sw: number }
  | { kind: "truncate"; keep: number }
  | { kind: "garbage"; bytes: Uint8Array }
  | { kind: "fciTooLong" }
  | { kind: "loop" }
  | { kind: "replay" }
  | { kind: "noStatus"; bytes: Uint8Array };

/** The emulated CPS4, except that the `at`-th raw C-APDU gets `fault` as its answer. */
function hostileChannel(at: number, fault: Fault): CardChannel & { exchanges: number } {
  const card = new Cps3Emulator({ pki, keys, serial, certificates });
  let previous: Uint8Array = Uint8Array.of(0x90, 0x00);
  let looping = false;
  const raw = async (command: Uint8Array): Promise<Uint8Array> => {
    const index = channel.exchanges++;
    const honest = card.transmit(command);
    if (looping && command[1] === 0xc0) return Uint8Array.of(0x61, 0x10);
    if (index !== at) {
      previous = honest;
      return honest;
    }
    switch (fault.kind) {
      case "status":
        return Uint8Array.of(fault.sw >> 8, fault.sw & 0xff);
      case "truncate": {
        const data = honest.subarray(0, honest.length - 2);
        return Uint8Array.from([...data.subarray(0, Math.min(fault.keep, data.length)), 0x90, 0x00]);
      }
      case "garbage":
        return Uint8Array.from([...fault.bytes, 0x90, 0x00]);
      case "fciTooLong":
        return Uint8Array.from([0x6f, 0x04, 0x80, 0x02, 0x7f, 0xff, 0x90, 0x00]);
      case "loop":
        looping = true;
        return Uint8Array.of(0x61, 0x10);
      case "replay":
        return previous;
      case "noStatus":
        return fault.bytes.subarray(0, 1);
    }
  };
  const channel = {
    readerId: "Hostile CPS3 00 00",
    atr: card.atr,
    insertion: 1,
    exchanges: 0,
    transmit: (command: CommandApdu): Promise<ResponseApdu> =>
      exchange(command, raw, { extendedLength: false, t0: true }),
    control: async (): Promise<Uint8Array> => {
      throw new PasserelleError("CARD_ERROR", "no SCardControl");
    },
  };
  return channel;
}

const fault: fc.Arbitrary<Fault> = fc.oneof(
  fc
    .tuple(fc.integer({ min: 0x61, max: 0x6f }), fc.integer({ min: 0, max: 0xff }))
    .map(([sw1, sw2]) => ({ kind: "status" as const, sw: (sw1 << 8) | sw2 })),
  fc.integer({ min: 0x9001, max: 0x9fff }).map((sw) => ({ kind: "status" as const, sw })),
  fc.integer({ min: 0, max: 300 }).map((keep) => ({ kind: "truncate" as const, keep })),
  fc.uint8Array({ minLength: 0, maxLength: 300 }).map((bytes) => ({ kind: "garbage" as const, bytes })),
  fc.constant({ kind: "fciTooLong" as const }),
  fc.constant({ kind: "loop" as const }),
  fc.constant({ kind: "replay" as const }),
  fc.uint8Array({ minLength: 1, maxLength: 1 }).map((bytes) => ({ kind: "noStatus" as const, bytes })),
);

async function clean(): Promise<{ result: unknown; exchanges: number }> {
  const channel = hostileChannel(-1, { kind: "replay" });
  const result = await new CpsDriver().read(channel);
  return { result, exchanges: channel.exchanges };
}

type Outcome = { result: unknown } | { error: unknown } | { hang: true };

async function readWith(at: number, hostile: Fault): Promise<Outcome> {
  const channel = hostileChannel(at, hostile);
  let timer: NodeJS.Timeout | undefined;
  const outcome = await Promise.race<Outcome>([
    new CpsDriver().read(channel).then(
      (result) => ({ result }),
      (error: unknown) => ({ error }),
    ),
    new Promise<Outcome>((resolve) => {
      timer = setTimeout(() => resolve({ hang: true }), RUN_TIMEOUT_MS);
    }),
  ]);
  clearTimeout(timer);
  return outcome;
}

/** A typed error: CARD_ERROR naming its step (returned), or WRONG_CARD. */
function typedStep(error: unknown): string | undefined {
  assert.ok(error instanceof PasserelleError, `a typed error, not ${String(error)}`);
  assert.ok(
    isPasserelleError(error, "CARD_ERROR") || isPasserelleError(error, "WRONG_CARD"),
    `${error.reason}: ${error.message}`,
  );
  if (error.reason !== "CARD_ERROR") return undefined;
  const step = error.details["step"];
  assert.equal(typeof step, "string", `CARD_ERROR names its step: ${error.message}`);
  return step as string;
}

test("a hostile CPS3 at any step of a cold read: it ends, with a protocol-valid result or a typed error naming the step", async () => {
  const reference = await clean();
  assert.ok(reference.exchanges > 20, `a cold read is ${reference.exchanges} exchanges`);
  const steps = new Set<string>();
  await fc.assert(
    fc.asyncProperty(fc.integer({ min: 0, max: reference.exchanges - 1 }), fault, async (at, hostile) => {
      const outcome = await readWith(at, hostile);
      assert.ok(!("hang" in outcome), "the read ended");
      if ("result" in outcome) {
        // Bytes replaced in place are a card holding other data: what comes back is still well formed.
        assert.ok(
          CpsReadResult.safeParse({ readerId: "r", generation: "cps3", ...(outcome.result as object) })
            .success,
        );
        return;
      }
      const step = typedStep(outcome.error);
      if (step) steps.add(step);
    }),
    { numRuns: 300 },
  );
  // The faults reached many steps, not one.
  assert.ok(steps.size >= 8, `steps named: ${[...steps].join(", ")}`);
});

test("an error status at any step before the counter is never a silent success", async () => {
  const reference = await clean();
  // 61xx and 6Cxx are procedure bytes the transport follows; 9000 is success: any other status word.
  const errorStatus = fc
    .tuple(
      fc.integer({ min: 0x62, max: 0x6f }).filter((sw1) => sw1 !== 0x6c),
      fc.integer({ min: 0, max: 0xff }),
    )
    .map(([sw1, sw2]) => (sw1 << 8) | sw2);
  await fc.assert(
    // The last three exchanges are the counter (SELECT of EF.SN.ICC leaves the MF current; GET DATA,
    // GET RESPONSE): a counter that cannot be read leaves triesRemaining unknown, on purpose.
    fc.asyncProperty(fc.integer({ min: 0, max: reference.exchanges - 3 }), errorStatus, async (at, sw) => {
      const outcome = await readWith(at, { kind: "status", sw });
      assert.ok("error" in outcome, `status ${sw.toString(16)} at exchange ${at} was ignored`);
      typedStep(outcome.error);
    }),
    { numRuns: 200 },
  );
});
