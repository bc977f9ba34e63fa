/**
 * Bench: the CPS driver against the bare sequence of its own APDUs, on the same virtual reader
 * (createReaders → CardSession → in-process VirtualPcsc → emulated CPS3), interleaved in one run:
 * a cold `cps.read`, a signature with the signature key (host midstate + PSO HASH + PSO CDS, then the
 * signature check), and our SHA-256 midstate against node:crypto on 1 MiB. Prints, asserts nothing.
 *
 *   npx tsx bench/cps.ts [iterations]            in-process virtual PC/SC (VirtualPcsc)
 *   npx tsx bench/cps.ts --pcscd [iterations]    the real pcscd, the card plugged in through vpcd slot 0
 *                                                (holds the pcscd lab lock, test/helpers/pcscd.ts)
 */
import { createHash, randomBytes } from "node:crypto";
import { performance } from "node:perf_hooks";
import { createReaders, type Readers } from "../daemon/src/pcsc/index.ts";
import { createSystemBackend } from "../daemon/src/pcsc/binding/koffi-backend.ts";
import { VpcdBridge } from "../daemon/src/simulator/vpcd-bridge.ts";
import { acquirePcscd, type PcscdLab } from "../test/helpers/pcscd.ts";
import type { CommandApdu } from "../daemon/src/pcsc/apdu.ts";
import { VirtualPcsc, VIRTUAL_READER_NAMES } from "../daemon/src/simulator/virtual-pcsc.ts";
import { createCps3Emulator } from "../daemon/src/simulator/cards/cps3/emulator.ts";
import { CpsDriver } from "../daemon/src/cards/cps/index.ts";
import { sha256Midstate, sha256Resume } from "../daemon/src/cards/sha256-midstate.ts";
import { recording } from "./lib/recording-channel.ts";
import { report } from "./lib/results.ts";

const THROUGH_PCSCD = process.argv.includes("--pcscd");
const ITERATIONS = Number(
  process.argv.slice(2).find((arg) => /^[0-9]+$/.test(arg)) ?? (THROUGH_PCSCD ? 30 : 100),
);
const WARMUP = THROUGH_PCSCD ? 3 : 10;
const SIGNED_BYTES = 4096;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

async function interleaved(a: () => Promise<void>, b: () => Promise<void>): Promise<[number, number]> {
  const times: [number[], number[]] = [[], []];
  for (let i = 0; i < WARMUP + ITERATIONS; i += 1) {
    for (const which of i % 2 === 0 ? [0, 1] : [1, 0]) {
      const start = performance.now();
      await (which === 0 ? a : b)();
      if (i >= WARMUP) times[which]!.push(performance.now() - start);
    }
  }
  return [median(times[0]), median(times[1])];
}

async function main(): Promise<void> {
  let readers: Readers;
  let slot: string;
  let bridge: VpcdBridge | undefined;
  let lab: PcscdLab | undefined;
  if (THROUGH_PCSCD) {
    lab = await acquirePcscd();
    readers = await createReaders({ backend: createSystemBackend() });
    bridge = new VpcdBridge({ emulator: createCps3Emulator(), slot: 0 });
    await bridge.start();
    let found: string | undefined;
    for (let i = 0; i < 1000 && found === undefined; i += 1) {
      found = readers.list().find((r) => r.cardPresent && r.name.endsWith(" 00 00"))?.id;
      if (found === undefined) await new Promise((resolve) => setTimeout(resolve, 10));
    }
    if (found === undefined) throw new Error("the card never showed up in vpcd slot 0");
    slot = found;
  } else {
    const pcsc = new VirtualPcsc();
    readers = await createReaders({ backend: pcsc });
    slot = VIRTUAL_READER_NAMES[0];
    pcsc.insert(slot, createCps3Emulator());
    for (let i = 0; i < 1000 && !readers.list().find((r) => r.id === slot && r.cardPresent); i += 1) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }
  const driver = new CpsDriver();

  const readCommands: CommandApdu[] = [];
  await readers.withCard(slot, (card) => driver.read(recording(card, readCommands)));
  const warmStart = performance.now();
  const before = readCommands.length;
  await readers.withCard(slot, (card) => driver.read(recording(card, readCommands)));
  const warmMs = performance.now() - warmStart;
  const [cold, bareRead] = await interleaved(
    async () => {
      driver.forget(slot);
      await readers.withCard(slot, (card) => driver.read(card));
    },
    async () => {
      await readers.withCard(slot, async (card) => {
        for (const command of readCommands.slice(0, before)) await card.transmit(command);
      });
    },
  );

  await readers.withCard(slot, (card) =>
    driver.verifyPin(card, { origin: "bench", pin: "1234", pinFromPage: true }),
  );
  const data = randomBytes(SIGNED_BYTES);
  const signCommands: CommandApdu[] = [];
  await readers.withCard(slot, (card) =>
    driver.sign(recording(card, signCommands), data, "signature", "bench"),
  );
  const [sign, bareSign] = await interleaved(
    async () => {
      await readers.withCard(slot, (card) => driver.sign(card, data, "signature", "bench"));
    },
    async () => {
      await readers.withCard(slot, async (card) => {
        for (const command of signCommands) await card.transmit(command);
      });
    },
  );
  await readers.close();
  await bridge?.close();
  await lab?.release();

  const mib = randomBytes(1024 * 1024);
  const [ours, node] = await interleaved(
    async () => {
      const mid = sha256Midstate(mib);
      sha256Resume(mid.state, mid.hashedBytes, mid.remainder);
    },
    async () => {
      createHash("sha256").update(mib).digest();
    },
  );

  console.log(
    `cps, ${ITERATIONS} interleaved iterations, ${THROUGH_PCSCD ? "real pcscd, vpcd slot 0" : "in-process virtual reader"}`,
  );
  console.log(
    `  cold cps.read: ${before} APDUs, median ${cold.toFixed(3)} ms; bare APDU loop ${bareRead.toFixed(3)} ms; ratio ${(cold / bareRead).toFixed(3)}`,
  );
  console.log(`  warm cps.read: ${readCommands.length - before} APDUs, ${warmMs.toFixed(3)} ms`);
  console.log(
    `  signature (${SIGNED_BYTES} bytes): ${signCommands.length} APDUs, median ${sign.toFixed(3)} ms; bare APDU loop ${bareSign.toFixed(3)} ms; ratio ${(sign / bareSign).toFixed(3)}`,
  );
  const where = THROUGH_PCSCD ? "pcscd" : "inprocess";
  report(
    {
      id: `cps.cold.${where}.ratio`,
      value: cold / bareRead,
      unit: "×",
      label: `cold cps.read vs bare APDU loop (${where}), median`,
    },
    { id: `cps.cold.${where}.ms`, value: cold, unit: "ms", label: `cold cps.read (${where}), median` },
    {
      id: `cps.sign.${where}.ratio`,
      value: sign / bareSign,
      unit: "×",
      label: `signature vs bare APDU loop (${where}), median`,
    },
  );
  console.log(
    `  SHA-256 of 1 MiB: midstate+resume ${ours.toFixed(3)} ms, node:crypto ${node.toFixed(3)} ms; ratio ${(ours / node).toFixed(2)}`,
  );
}

await main();
