/**
 * The card leaves the reader at every step: through the real pcscd, an emulated card plugged into
 * vpcd by the bridge is pulled out (the bridge closes, as a hand pulling the card) at its k-th APDU,
 * for every k of a CPS signature (cold read, PIN, PSO HASH/CDS: what an INSi call in card mode asks of
 * the card) and of a Vitale read. Each run must end typed (CARD_REMOVED), never hang nor crash, and
 * the next insertion must work (the next run gets further, the last one, with no pull, completes).
 * Then a slot closed with requests queued on its card: every queued call ends typed, none hangs.
 * test/cps/cps-pcscd.test.ts and test/vitale/vitale-pcscd.test.ts pull the card at one chosen step.
 * Holds the pcscd lab lock for the whole file (one insertion and one removal per k).
 */
import assert from "node:assert/strict";
import { randomBytes, verify, X509Certificate } from "node:crypto";
import { test } from "node:test";
import { CpsDriver } from "../../daemon/src/cards/cps/index.ts";
import { createPublicLayoutVitaleReader, createVitaleService } from "../../daemon/src/cards/vitale/index.ts";
import { isPasserelleError } from "../../daemon/src/errors.ts";
import { createSystemBackend } from "../../daemon/src/pcsc/binding/koffi-backend.ts";
import { createReaders, type Readers } from "../../daemon/src/pcsc/index.ts";
import type { CardEmulator } from "../../daemon/src/simulator/card-emulator.ts";
import { Cps3Emulator } from "../../daemon/src/simulator/cards/cps3/emulator.ts";
import {
  createVitale2Emulator,
  LAB_BENEFICIARY_LAYOUT,
} from "../../daemon/src/simulator/cards/vitale2/index.ts";
import { VpcdBridge } from "../../daemon/src/simulator/vpcd-bridge.ts";
import { acquirePcscd, type PcscdLab } from "../helpers/pcscd.ts";
import { waitForCard } from "../helpers/vpcd-slots.ts";

const SLOT = 0;
const ORIGIN = "https://ehr.example.fr";
/** Bound on one run (an operation that neither answers nor fails typed is a hang). */
const RUN_TIMEOUT_MS = 20_000;

/** Above the default per-test bound: one insertion and one removal through pcscd per k (~1 s each). */
const EVERY_STEP_TIMEOUT_MS = 300_000;

let readers: Readers;
let bridge: VpcdBridge | undefined;

/**
 * Each test takes the lab lock for itself (not the whole file), so that other test files waiting
 * for pcscd get it between these long tests.
 */
async function withLab(body: () => Promise<void>): Promise<void> {
  const lab: PcscdLab = await acquirePcscd();
  try {
    readers = await createReaders({ backend: createSystemBackend() });
    await body();
  } finally {
    await bridge?.close();
    bridge = undefined;
    await readers?.close();
    await lab.release();
  }
}

/**
 * The emulator, pulled out of the reader when it receives its `pullAt`-th APDU (1-based): that APDU
 * is never answered, the bridge closes instead. `count` says how many APDUs it received.
 */
function pulledAt(emulator: CardEmulator, pullAt: number | undefined): CardEmulator & { count: number } {
  const card = {
    atr: emulator.atr,
    count: 0,
    reset: () => emulator.reset(),
    transmit(apdu: Uint8Array): Uint8Array | Promise<Uint8Array> {
      card.count += 1;
      if (card.count === pullAt) {
        void bridge?.close();
        return new Promise<Uint8Array>(() => undefined);
      }
      return emulator.transmit(apdu);
    },
  };
  return card;
}

async function insert(emulator: CardEmulator): Promise<string> {
  await bridge?.close();
  await waitForCard(readers, SLOT, false);
  bridge = new VpcdBridge({ emulator, slot: SLOT, reconnect: false });
  await bridge.start();
  return waitForCard(readers, SLOT, true);
}

/** Runs `operation`, failing (instead of hanging) if it neither answers nor fails in time. */
async function bounded<T>(what: string, operation: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer in ${RUN_TIMEOUT_MS} ms`)), RUN_TIMEOUT_MS);
  });
  try {
    return await Promise.race([operation, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Dry run (no pull) to count the APDUs, then one run per k pulled at APDU k. Each pulled run must
 * reject with CARD_REMOVED after exactly k APDUs; the dry run and a last clean run must succeed.
 */
async function everyStep(
  name: string,
  card: () => CardEmulator,
  run: (readerId: string) => Promise<void>,
): Promise<number> {
  const dry = pulledAt(card(), undefined);
  await bounded(`${name}: the run without a pull`, run(await insert(dry)));
  const total = dry.count;
  assert.ok(total >= 5, `${name}: only ${total} APDUs`);
  const outcomes: string[] = [];
  for (let k = 1; k <= total; k += 1) {
    const pulled = pulledAt(card(), k);
    const readerId = await insert(pulled);
    const outcome = await bounded(
      `${name}: pulled at APDU ${k}`,
      run(readerId).then(
        () => "answered",
        (error: unknown) =>
          isPasserelleError(error, "CARD_REMOVED") ? "CARD_REMOVED" : `untyped: ${String(error)}`,
      ),
    );
    outcomes.push(outcome);
    assert.equal(outcome, "CARD_REMOVED", `${name}: pulled at APDU ${k} of ${total}`);
    assert.equal(pulled.count, k, `${name}: pulled at APDU ${k}: nothing was sent after the failed one`);
    await waitForCard(readers, SLOT, false);
  }
  const clean = pulledAt(card(), undefined);
  await bounded(`${name}: the run after the pulls`, run(await insert(clean)));
  assert.equal(clean.count, total, `${name}: the card after the pulls is read in full`);
  return total;
}

test(
  "a CPS pulled at each APDU of cold read, PIN and signature: CARD_REMOVED each time, then it works",
  { timeout: EVERY_STEP_TIMEOUT_MS },
  () =>
    withLab(async () => {
      const first = new Cps3Emulator();
      // The same keys and certificates for every insertion (no key generation per k).
      const card = () => new Cps3Emulator({ certificates: first.certificates, serial: first.serial });
      const data = randomBytes(512);
      const total = await everyStep("CPS signature", card, async (readerId) => {
        // A new driver per insertion, as the daemon forgets a card on card.removed.
        const driver = new CpsDriver();
        const read = await readers.withCard(readerId, (channel) => driver.read(channel));
        assert.equal(read.pin.verified, false);
        await readers.withCard(readerId, (channel) =>
          driver.verifyPin(channel, { origin: ORIGIN, pin: "1234", pinFromPage: true }),
        );
        const signature = await readers.withCard(readerId, (channel) =>
          driver.sign(channel, data, "signature", ORIGIN),
        );
        const key = new X509Certificate(first.certificates.signature.der).publicKey;
        assert.ok(verify("sha256", data, key, signature), "the signature verifies");
      });
      console.log(`CPS: pulled at each of ${total} APDUs`);
    }),
);

test(
  "a Vitale pulled at each APDU of a read: CARD_REMOVED each time, then it reads in full",
  { timeout: EVERY_STEP_TIMEOUT_MS },
  () =>
    withLab(async () => {
      const service = () =>
        createVitaleService({ reader: createPublicLayoutVitaleReader({ layout: LAB_BENEFICIARY_LAYOUT }) });
      const total = await everyStep(
        "Vitale read",
        () => createVitale2Emulator(),
        async (readerId) => {
          const data = await readers.withCard(readerId, (channel) => service().read(channel));
          assert.equal(data.beneficiaries.length, 4);
        },
      );
      console.log(`Vitale: pulled at each of ${total} APDUs`);
    }),
);

test("a slot closed with 20 requests queued on its card: every one ends typed, none hangs", () =>
  withLab(async () => {
    const QUEUED = 20;
    let release: (() => void) | undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    const vitale = createVitale2Emulator();
    // The first APDU waits (a slow card) until the queue has formed, then the slot closes.
    let first = true;
    const slow: CardEmulator = {
      atr: vitale.atr,
      reset: () => vitale.reset(),
      async transmit(apdu) {
        if (first) {
          first = false;
          await held;
        }
        return vitale.transmit(apdu);
      },
    };
    const readerId = await insert(slow);
    const service = createVitaleService({
      reader: createPublicLayoutVitaleReader({ layout: LAB_BENEFICIARY_LAYOUT }),
    });
    const outcomes = Array.from({ length: QUEUED }, () =>
      readers
        .withCard(readerId, (channel) => service.read(channel))
        .then(
          () => "answered",
          (error: unknown) => (isPasserelleError(error) ? error.reason : `untyped: ${String(error)}`),
        ),
    );
    await bounded(
      "the first request to reach the card",
      (async () => {
        while (first) await new Promise((resolve) => setTimeout(resolve, 10));
      })(),
    );
    await bridge?.close();
    release?.();
    const reasons = await bounded("the queued requests", Promise.all(outcomes));
    // The one at the card loses it mid-APDU; those queued behind find no card (or see it leave).
    const unexpected = reasons.filter((reason) => reason !== "CARD_REMOVED" && reason !== "NO_CARD");
    assert.deepEqual(
      unexpected,
      [],
      `every queued request ends CARD_REMOVED or NO_CARD: ${reasons.join(", ")}`,
    );
    assert.equal(reasons[0], "CARD_REMOVED", "the request at the card when it left");
    await waitForCard(readers, SLOT, false);
    // The slot serves again with the next card.
    const again = await insert(createVitale2Emulator());
    const data = await bounded(
      "a read after",
      readers.withCard(again, (channel) => service.read(channel)),
    );
    assert.equal(data.beneficiaries.length, 4);
    console.log(`queued requests: ${reasons.join(" ")}`);
  }));
