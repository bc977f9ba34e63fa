/**
 * A hostile card at every step of a Vitale read (both layouts), through the daemon's real PC/SC
 * layer (PcscReaders, CardSession, the APDU transport) over the in-process virtual backend: random
 * status words, truncated data, TLV lengths past the data, garbage, endless 61xx loops, answers to
 * the wrong command, no status word. The read must end — in time — with a result the protocol
 * accepts (warnings allowed) or a typed PasserelleError; a CARD_ERROR names the step it broke.
 * An exhaustive sweep (every exchange × every fault kind) and a fast-check run (bounded: a few
 * hundred cards) drive the hostile emulator (daemon/src/simulator/cards/hostile/).
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { VitaleReadResult } from "@passerelle/protocol";
import { createReaders, type PcscReaders } from "../../../src/pcsc/index.ts";
import { VirtualPcsc, VIRTUAL_READER_NAMES } from "../../../src/simulator/virtual-pcsc.ts";
import { createHostileCard, type HostileFault } from "../../../src/simulator/cards/hostile/index.ts";
import {
  createVitale2Emulator,
  LAB_BENEFICIARY_LAYOUT,
  type Vitale2Layout,
} from "../../../src/simulator/cards/vitale2/index.ts";
import { createPublicLayoutVitaleReader } from "../../../src/cards/vitale/index.ts";
import { PasserelleError } from "../../../src/errors.ts";

const READER = VIRTUAL_READER_NAMES[0]!;
/** One read must end well within this (a hang is a failure, not a slow test). */
const READ_DEADLINE_MS = 3_000;
const ALLOWED_REASONS = new Set(["CARD_ERROR", "WRONG_CARD"]);
const reader = createPublicLayoutVitaleReader({ layout: LAB_BENEFICIARY_LAYOUT });

let pcsc: VirtualPcsc;
let readers: PcscReaders;

before(async () => {
  pcsc = new VirtualPcsc();
  readers = await createReaders({ backend: pcsc, backoffMinMs: 5, backoffMaxMs: 20, apduTimeoutMs: 1_000 });
});

after(async () => {
  await readers?.close();
});

async function insertionIs(insertion: number): Promise<void> {
  for (let i = 0; i < 400; i += 1) {
    if (readers.list().find((r) => r.id === READER)?.insertion === insertion) return;
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  throw new Error(`insertion ${insertion} never seen`);
}

type Outcome = { ok: true; warnings: number } | { ok: false; reason: string };

/** Reads a fresh hostile card; checks the outcome's shape; returns it. */
async function readHostile(
  layout: Vitale2Layout,
  plan: (exchange: number) => HostileFault | undefined,
): Promise<Outcome> {
  const card = createHostileCard(createVitale2Emulator({ layout }), plan);
  const before = readers.list().find((r) => r.id === READER)?.insertion ?? 0;
  pcsc.remove(READER);
  pcsc.insert(READER, card);
  await insertionIs(before + 1);
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`the read hung (faults ${JSON.stringify(card.played)})`)),
      READ_DEADLINE_MS,
    );
  });
  try {
    const data = await Promise.race([readers.withCard(READER, (channel) => reader.read(channel)), deadline]);
    VitaleReadResult.parse({ readerId: READER, ...data });
    return { ok: true, warnings: data.warnings?.length ?? 0 };
  } catch (error) {
    const where = `faults ${JSON.stringify(card.played, (_, v: unknown) => (v instanceof Uint8Array ? Buffer.from(v).toString("hex") : v))}`;
    assert.ok(error instanceof PasserelleError, `not a PasserelleError (${String(error)}; ${where})`);
    assert.ok(ALLOWED_REASONS.has(error.reason), `reason ${error.reason} (${error.message}; ${where})`);
    if (error.reason === "CARD_ERROR") {
      assert.equal(
        typeof error.details["step"],
        "string",
        `CARD_ERROR without a step (${error.message}; ${where})`,
      );
    }
    return { ok: false, reason: error.reason };
  } finally {
    clearTimeout(timer);
  }
}

/** One fixed instance of each fault kind, for the sweep. */
const EVERY_KIND: readonly HostileFault[] = [
  { kind: "status", sw: 0x6f00 },
  { kind: "status", sw: 0x6282 },
  { kind: "status", sw: 0x6c05 },
  { kind: "truncate", keep: 3 },
  { kind: "garbage", bytes: Uint8Array.of(0x65, 0x81) },
  { kind: "overlong", by: 60 },
  { kind: "more-data-loop", sw2: 0x10 },
  { kind: "previous" },
  { kind: "mute", bytes: new Uint8Array() },
];

async function cleanExchanges(layout: Vitale2Layout): Promise<number> {
  let count = 0;
  const outcome = await readHostile(layout, (exchange) => {
    count = exchange + 1;
    return undefined;
  });
  assert.deepEqual(outcome, { ok: true, warnings: 0 });
  return count;
}

for (const layout of ["single", "split"] as const) {
  test(`${layout} layout: every fault kind at every exchange of the read ends typed, in time`, async () => {
    const exchanges = await cleanExchanges(layout);
    assert.ok(exchanges > 10);
    const outcomes = new Map<string, number>();
    for (let at = 0; at < exchanges; at += 1) {
      for (const fault of EVERY_KIND) {
        const outcome = await readHostile(layout, (exchange) => (exchange === at ? fault : undefined));
        const key = outcome.ok ? (outcome.warnings > 0 ? "read with warnings" : "read") : outcome.reason;
        outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
      }
    }
    // the sweep did reach both kinds of ending
    assert.ok((outcomes.get("CARD_ERROR") ?? 0) > 0, JSON.stringify([...outcomes]));
    assert.ok((outcomes.get("read with warnings") ?? 0) > 0, JSON.stringify([...outcomes]));
  });
}

const faultArbitrary: fc.Arbitrary<HostileFault> = fc.oneof(
  fc.integer({ min: 0, max: 0xffff }).map((sw) => ({ kind: "status" as const, sw })),
  fc.nat(300).map((keep) => ({ kind: "truncate" as const, keep })),
  fc.uint8Array({ maxLength: 300 }).map((bytes) => ({ kind: "garbage" as const, bytes })),
  fc.integer({ min: 1, max: 255 }).map((by) => ({ kind: "overlong" as const, by })),
  fc.integer({ min: 0, max: 255 }).map((sw2) => ({ kind: "more-data-loop" as const, sw2 })),
  fc.constant({ kind: "previous" as const }),
  fc.uint8Array({ maxLength: 1 }).map((bytes) => ({ kind: "mute" as const, bytes })),
);

test("fast-check: random faults at random exchanges, both layouts (bounded run)", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.constantFrom<Vitale2Layout>("single", "split"),
      fc.array(fc.record({ at: fc.nat(40), fault: faultArbitrary }), { minLength: 1, maxLength: 5 }),
      async (layout, faults) => {
        const plan = new Map(faults.map(({ at, fault }) => [at, fault]));
        await readHostile(layout, (exchange) => plan.get(exchange));
      },
    ),
    { numRuns: 100 },
  );
});
