/**
 * Bench: a cold `vitale.read` of a 4-beneficiary card against the bare sequence of the same APDUs
 * sent by a plain loop, on the same virtual reader (createReaders → CardSession → in-process
 * VirtualPcsc → emulated Vitale 2), in the same run, interleaved. Prints, asserts nothing.
 *
 *   npx tsx bench/vitale.ts [iterations]            in-process virtual PC/SC (VirtualPcsc)
 *   npx tsx bench/vitale.ts --pcscd [iterations]    the real pcscd, card plugged in through vpcd slot 1
 *                                                   (holds the pcscd lab lock, test/helpers/pcscd.ts)
 *
 * Target (issue 5): cold read within 1.10× of the bare loop; warm read 0 APDUs.
 */
import { performance } from "node:perf_hooks";
import { createReaders, type Readers } from "../daemon/src/pcsc/index.ts";
import { createSystemBackend } from "../daemon/src/pcsc/binding/koffi-backend.ts";
import { VpcdBridge } from "../daemon/src/simulator/vpcd-bridge.ts";
import type { CardEmulator } from "../daemon/src/simulator/card-emulator.ts";
import type { CommandApdu } from "../daemon/src/pcsc/apdu.ts";
import { VirtualPcsc, VIRTUAL_READER_NAMES } from "../daemon/src/simulator/virtual-pcsc.ts";
import {
  createVitale2Emulator,
  FAMILY_OF_4,
  LAB_BENEFICIARY_LAYOUT,
} from "../daemon/src/simulator/cards/vitale2/index.ts";
import { createPublicLayoutVitaleReader, createVitaleService } from "../daemon/src/cards/vitale/index.ts";
import { recording } from "./lib/recording-channel.ts";
import { acquirePcscd, type PcscdLab } from "../test/helpers/pcscd.ts";
import { report } from "./lib/results.ts";

const args = process.argv.slice(2);
const THROUGH_PCSCD = args.includes("--pcscd");
const ITERATIONS = Number(args.find((arg) => /^[0-9]+$/.test(arg)) ?? (THROUGH_PCSCD ? 100 : 300));
const WARMUP = THROUGH_PCSCD ? 5 : 30;
const VPCD_SLOT = 1;

async function waitFor(find: () => string | undefined): Promise<string> {
  for (let i = 0; i < 1000; i += 1) {
    const found = find();
    if (found !== undefined) return found;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error("the card never showed up in the reader");
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

async function main(): Promise<void> {
  const emulator = createVitale2Emulator({ beneficiaries: FAMILY_OF_4 });
  let exchanges = 0;
  const counting: CardEmulator = {
    atr: emulator.atr,
    transmit(apdu) {
      exchanges += 1;
      return emulator.transmit(apdu);
    },
    reset: () => emulator.reset(),
  };
  let readers: Readers;
  let slot: string;
  let bridge: VpcdBridge | undefined;
  let lab: PcscdLab | undefined;
  if (THROUGH_PCSCD) {
    lab = await acquirePcscd();
    readers = await createReaders({ backend: createSystemBackend() });
    bridge = new VpcdBridge({ emulator: counting, slot: VPCD_SLOT });
    await bridge.start();
    slot = await waitFor(
      () => readers.list().find((r) => r.cardPresent && r.name.endsWith(` 00 0${VPCD_SLOT}`))?.id,
    );
  } else {
    const pcsc = new VirtualPcsc();
    readers = await createReaders({ backend: pcsc });
    slot = VIRTUAL_READER_NAMES[1];
    pcsc.insert(slot, counting);
    await waitFor(() => readers.list().find((r) => r.id === slot && r.cardPresent)?.id);
  }
  const SLOT = slot;
  const service = createVitaleService({
    reader: createPublicLayoutVitaleReader({ layout: LAB_BENEFICIARY_LAYOUT }),
  });

  // The driver's own command sequence, recorded once.
  const commands: CommandApdu[] = [];
  exchanges = 0;
  const first = await readers.withCard(SLOT, (card) => service.read(recording(card, commands)));
  const coldExchanges = exchanges;

  exchanges = 0;
  const warmStart = performance.now();
  await readers.withCard(SLOT, (card) => service.read(card));
  const warmMs = performance.now() - warmStart;
  const warmExchanges = exchanges;

  const driverTimes: number[] = [];
  const loopTimes: number[] = [];
  for (let i = 0; i < WARMUP + ITERATIONS; i += 1) {
    // Interleave, alternating which goes first, so drift hits both sides alike.
    const runs: Array<() => Promise<number>> = [
      async () => {
        service.forget();
        const start = performance.now();
        await readers.withCard(SLOT, (card) => service.read(card));
        return performance.now() - start;
      },
      async () => {
        const start = performance.now();
        await readers.withCard(SLOT, async (card) => {
          for (const command of commands) await card.transmit(command);
        });
        return performance.now() - start;
      },
    ];
    const order = i % 2 === 0 ? [0, 1] : [1, 0];
    for (const which of order) {
      const elapsed = await runs[which]!();
      if (i < WARMUP) continue;
      (which === 0 ? driverTimes : loopTimes).push(elapsed);
    }
  }
  await readers.close();
  await bridge?.close();
  await lab?.release();

  const driver = median(driverTimes);
  const loop = median(loopTimes);
  console.log(
    `vitale.read, ${first.beneficiaries.length} beneficiaries, ${ITERATIONS} interleaved iterations`,
  );
  console.log(`  APDUs (driver commands)            : ${commands.length}`);
  console.log(`  APDUs reaching the card (T=0 61/6C): ${coldExchanges}`);
  console.log(`  cold read, median                  : ${driver.toFixed(3)} ms`);
  console.log(`  bare loop of the same APDUs, median: ${loop.toFixed(3)} ms`);
  console.log(`  ratio cold / bare                  : ${(driver / loop).toFixed(3)} (target ≤ 1.10)`);
  console.log(`  warm read                          : ${warmExchanges} APDUs, ${warmMs.toFixed(3)} ms`);
  const where = THROUGH_PCSCD ? "pcscd" : "inprocess";
  report(
    {
      id: `vitale.cold.${where}.ratio`,
      value: driver / loop,
      unit: "×",
      label: `cold vitale.read vs bare APDU loop (${where}), median`,
    },
    {
      id: `vitale.cold.${where}.ms`,
      value: driver,
      unit: "ms",
      label: `cold vitale.read (${where}), median`,
    },
  );
}

await main();
