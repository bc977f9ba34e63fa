/**
 * Bench: the CPS4 through the real pcscd (the emulated ChipDoc in vpcd slot 1), our driver against
 * the ANS Cryptolib for the same results, interleaved: a cold read (holder and both certificates), a
 * VERIFY, a signature with the signature key. For each: the exchanges the card saw (GET RESPONSE
 * included) and the time — ours end to end (CardSession, one transaction); Cryptolib's as the span
 * between the first and the last APDU the card saw (its process start and C_Initialize left out), and
 * its whole pkcs11-tool run. Cryptolib runs from a cleared cache for the cold read and a warm one
 * (its own file cache) for VERIFY and signature, as an application would. Prints, asserts nothing.
 * Takes the pcscd lab lock (test/helpers/pcscd.ts). Without the Cryptolib module only ours is shown.
 *
 *   npx tsx bench/cps4-pcscd.ts [iterations]
 */
import { performance } from "node:perf_hooks";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { randomBytes } from "node:crypto";
import { acquirePcscd } from "../test/helpers/pcscd.ts";
import { cryptolibJudge } from "../test/helpers/cryptolib.ts";
import { waitForCard } from "../test/helpers/vpcd-slots.ts";
import { createReaders } from "../daemon/src/pcsc/index.ts";
import { createSystemBackend } from "../daemon/src/pcsc/binding/koffi-backend.ts";
import { VpcdBridge } from "../daemon/src/simulator/vpcd-bridge.ts";
import type { CardEmulator } from "../daemon/src/simulator/card-emulator.ts";
import { Cps4Emulator } from "../daemon/src/simulator/cards/cps4/index.ts";
import { forgetCps, readCps, signWithCps, verifyCpsPin } from "../daemon/src/cards/cpx/index.ts";

const ITERATIONS = Number(process.argv.slice(2).find((arg) => /^[0-9]+$/.test(arg)) ?? 5);
const SLOT = 1;
const ORIGIN = "https://bench.example";

/** Counts what reaches the card and when (first and last APDU of an operation). */
class Timed implements CardEmulator {
  readonly #inner: CardEmulator;
  count = 0;
  first = 0;
  last = 0;
  constructor(inner: CardEmulator) {
    this.#inner = inner;
  }
  get atr(): Uint8Array {
    return this.#inner.atr;
  }
  transmit(apdu: Uint8Array): Uint8Array | Promise<Uint8Array> {
    const now = performance.now();
    if (this.count === 0) this.first = now;
    this.count += 1;
    const answer = this.#inner.transmit(apdu);
    this.last = performance.now();
    return answer;
  }
  reset(): void {
    this.#inner.reset();
  }
  clear(): void {
    this.count = 0;
  }
}

const median = (values: number[]): number =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? NaN;
const ms = (value: number): string => (Number.isFinite(value) ? `${value.toFixed(1)} ms` : "—");

interface Sample {
  apdus: number[];
  time: number[];
  span: number[];
}
const sample = (): Sample => ({ apdus: [], time: [], span: [] });

async function main(): Promise<void> {
  const lab = await acquirePcscd();
  const readers = await createReaders({ backend: createSystemBackend() });
  const dir = mkdtempSync(path.join(tmpdir(), "passerelle-bench-cps4-"));
  const card = new Timed(new Cps4Emulator());
  const bridge = new VpcdBridge({ emulator: card, slot: SLOT, reconnect: false });
  const found = cryptolibJudge();
  const judge = "skip" in found ? undefined : found;
  try {
    await waitForCard(readers, SLOT, false);
    await bridge.start();
    const readerId = await waitForCard(readers, SLOT, true);
    const ours = { read: sample(), verify: sample(), sign: sample() };
    const theirs = { read: sample(), verify: sample(), sign: sample() };
    let slot = "";
    if (judge) {
      const listed = await judge.pkcs11(["-L"]);
      const block = listed.out.split(/\n(?=Slot )/).find((b) => /token label\s*:\s*CPS/i.test(b));
      slot = String(Number.parseInt(/\(0x([0-9a-f]+)\)/i.exec(block ?? "")?.[1] ?? "0", 16));
    }
    const message = path.join(dir, "message");
    writeFileSync(message, randomBytes(4096));

    const measureOurs = async (into: Sample, run: () => Promise<unknown>): Promise<void> => {
      card.clear();
      const start = performance.now();
      await run();
      into.time.push(performance.now() - start);
      into.apdus.push(card.count);
    };
    const measureTheirs = async (into: Sample, args: string[], cold: boolean): Promise<void> => {
      if (!judge) return;
      if (cold) judge.clearCache();
      card.clear();
      const start = performance.now();
      const { code, out } = await judge.pkcs11(["--slot", slot, ...args]);
      if (code !== 0) throw new Error(`Cryptolib ${args.join(" ")}: ${out}`);
      into.time.push(performance.now() - start);
      into.apdus.push(card.count);
      into.span.push(card.count > 0 ? card.last - card.first : 0);
    };

    for (let i = 0; i < ITERATIONS; i += 1) {
      await measureOurs(ours.read, async () => {
        forgetCps(readerId);
        await readers.withCard(readerId, (c) => readCps(c));
      });
      // The same result from Cryptolib: the token's objects (both certificates' subjects) from cold.
      await measureTheirs(theirs.read, ["--list-objects"], true);
      await measureOurs(ours.verify, () =>
        readers.withCard(readerId, (c) =>
          verifyCpsPin(c, { origin: ORIGIN, pin: "1234", pinFromPage: true, usePinPad: false }),
        ),
      );
      await measureTheirs(theirs.verify, ["--login", "--pin", "1234", "--list-objects"], false);
      await measureOurs(ours.sign, () =>
        readers.withCard(readerId, (c) => signWithCps(c, randomBytes(4096), "signature", ORIGIN)),
      );
      await measureTheirs(
        theirs.sign,
        [
          ...["--login", "--pin", "1234", "--sign", "--id", "02", "-m", "SHA256-RSA-PKCS"],
          ...["--input-file", message, "--output-file", path.join(dir, "signature")],
        ],
        false,
      );
    }
    console.log(`CPS4 through pcscd (vpcd slot ${SLOT}), medians of ${ITERATIONS}:`);
    console.log(`cold read: ours ${median(ours.read.apdus)} APDUs in ${ms(median(ours.read.time))}`);
    console.log(`VERIFY: ours ${median(ours.verify.apdus)} APDUs in ${ms(median(ours.verify.time))}`);
    console.log(`signature: ours ${median(ours.sign.apdus)} APDUs in ${ms(median(ours.sign.time))}`);
    if (!judge) {
      console.log(`Cryptolib: not run (${"skip" in found ? found.skip : ""})`);
      return;
    }
    console.log(
      "| operation | APDUs ours | APDUs Cryptolib | time ours | Cryptolib, first to last APDU | Cryptolib, whole pkcs11-tool run |",
    );
    console.log("|---|---|---|---|---|---|");
    for (const [name, label] of [
      ["read", "cold read (holder, 2 certificates)"],
      ["verify", "VERIFY (Cryptolib: warm cache, login)"],
      ["sign", "signature key, SHA-256 (Cryptolib: warm cache, login + sign)"],
    ] as const) {
      const o = ours[name];
      const t = theirs[name];
      console.log(
        `| ${label} | ${median(o.apdus)} | ${median(t.apdus)} | ${ms(median(o.time))} | ${ms(median(t.span))} | ${ms(median(t.time))} |`,
      );
    }
    console.log(
      `ratio APDUs Cryptolib / ours: read ${(median(theirs.read.apdus) / median(ours.read.apdus)).toFixed(2)}×, ` +
        `VERIFY ${(median(theirs.verify.apdus) / median(ours.verify.apdus)).toFixed(2)}×, ` +
        `signature ${(median(theirs.sign.apdus) / median(ours.sign.apdus)).toFixed(2)}×`,
    );
  } finally {
    await bridge.close();
    await readers.close();
    await lab.release();
    judge?.clearCache();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
