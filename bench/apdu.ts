/**
 * APDU round trip through the daemon's PC/SC layer (Readers.withCard → CardSession → APDU
 * transport → koffi SCardTransmit on a worker thread) vs a bare koffi SCardTransmit loop, on the
 * same vpcd virtual reader of the real pcscd, in the same run, interleaved in blocks so machine
 * noise hits both alike. The card is the lab's echo card behind the vpcd bridge (TCP_QUICKACK),
 * run by `lab insert` in a child process: a synchronous FFI call here would otherwise block the
 * bridge that must answer it.
 * Target (issue 3): CardSession ≤ 1.10× the bare async loop at p50.
 *
 * Also printed, for context: the bare loop with a synchronous koffi call (blocks the event loop:
 * not usable in the daemon), and the bridge's own handling time per APDU.
 * Needs root, pcscd and vsmartcard-vpcd; holds the pcscd lab lock (test/helpers/pcscd.ts).
 */
import { acquirePcscd } from "../test/helpers/pcscd.ts";
import { createReaders } from "../daemon/src/pcsc/index.ts";
import { PcscLibrary } from "../daemon/src/pcsc/binding/koffi-backend.ts";
import { normalizeReturnCode } from "../daemon/src/pcsc/return-codes.ts";
import { createSystemBackend } from "../daemon/src/pcsc/binding/koffi-backend.ts";
import {
  SCARD_PROTOCOL_ANY,
  SCARD_SCOPE_SYSTEM,
  SCARD_SHARE_SHARED,
  SCARD_LEAVE_CARD,
} from "../daemon/src/pcsc/constants.ts";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { ratioLine, formatMs, percentile } from "./lib/stats.ts";
import { report } from "./lib/results.ts";

const READER = "Virtual PCD 00 00";
const BLOCKS = Number(process.env["BENCH_BLOCKS"] ?? 60);
const PER_BLOCK = Number(process.env["BENCH_APDUS"] ?? 60);
const WARMUP = 200;
/** READ 16 bytes from the echo card. */
const COMMAND = Uint8Array.from([0x80, 0xb0, 0x00, 0x00, 0x10]);
const RESPONSE_MAX = 258;

const ROOT = fileURLToPath(new URL("../", import.meta.url));

const lab = await acquirePcscd();
const cardProcess = spawn(
  process.execPath,
  ["--import", "tsx", "test/pcsc/fixtures/lab-cli.ts", "lab", "insert", "--slot", "0", "--card", "echo"],
  { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] },
);
let bridgeReport = "";
cardProcess.stderr.setEncoding("utf8").on("data", (chunk: string) => (bridgeReport += chunk));
try {
  await new Promise<void>((resolve, reject) => {
    cardProcess.stdout
      .setEncoding("utf8")
      .on("data", (chunk: string) => chunk.includes("inserted") && resolve());
    cardProcess.once("exit", (code) => reject(new Error(`lab insert exited ${code}`)));
  });
  const readers = await createReaders({ backend: createSystemBackend() });
  for (let i = 0; i < 200 && !readers.list().find((r) => r.id === READER)?.cardPresent; i += 1) {
    await new Promise((r) => setTimeout(r, 50));
  }

  // The bare loop: its own context and connection, the same koffi declarations as the daemon's.
  const lib = new PcscLibrary();
  const context: Array<number | bigint> = [0];
  lib.fn.establishContext(SCARD_SCOPE_SYSTEM, null, null, context);
  const card: Array<number | bigint> = [0];
  const protocol: number[] = [0];
  const rc = normalizeReturnCode(
    lib.fn.connect(context[0], READER, SCARD_SHARE_SHARED, SCARD_PROTOCOL_ANY, card, protocol),
  );
  if (rc !== 0) throw new Error(`SCardConnect ${rc.toString(16)}`);
  const pci = { dwProtocol: protocol[0], cbPciLength: 16 };
  const bareAsync = (): Promise<void> =>
    new Promise((resolve, reject) => {
      const response = Buffer.allocUnsafe(RESPONSE_MAX);
      const length = [RESPONSE_MAX];
      lib.fn.transmit.async(
        card[0],
        pci,
        COMMAND,
        COMMAND.length,
        null,
        response,
        length,
        (error: unknown, code: number) => {
          if (error || normalizeReturnCode(code) !== 0)
            reject(new Error(`SCardTransmit ${String(error ?? code)}`));
          else resolve();
        },
      );
    });
  const bareSync = (): void => {
    const response = Buffer.allocUnsafe(RESPONSE_MAX);
    const length = [RESPONSE_MAX];
    const code = lib.fn.transmit(card[0], pci, COMMAND, COMMAND.length, null, response, length);
    if (normalizeReturnCode(code) !== 0) throw new Error("SCardTransmit");
  };

  const sessionSamples: number[] = [];
  const bareSamples: number[] = [];
  const syncSamples: number[] = [];
  const perOperationSamples: number[] = [];
  const command = { cla: 0x80, ins: 0xb0, p1: 0, p2: 0, le: 16 };

  // Warm-up both paths.
  await readers.withCard(READER, async (channel) => {
    for (let i = 0; i < WARMUP; i += 1) await channel.transmit(command);
  });
  for (let i = 0; i < WARMUP; i += 1) await bareAsync();

  for (let block = 0; block < BLOCKS; block += 1) {
    // The daemon: one operation (one transaction) holding the card for a block of APDUs. Blocks
    // alternate which path goes first, so neither always follows the other.
    if (block % 2 === 1) {
      for (let i = 0; i < PER_BLOCK; i += 1) {
        const start = performance.now();
        await bareAsync();
        bareSamples.push(performance.now() - start);
      }
    }
    await readers.withCard(READER, async (channel) => {
      for (let i = 0; i < PER_BLOCK; i += 1) {
        const start = performance.now();
        await channel.transmit(command);
        sessionSamples.push(performance.now() - start);
      }
    });
    if (block % 2 === 0) {
      for (let i = 0; i < PER_BLOCK; i += 1) {
        const start = performance.now();
        await bareAsync();
        bareSamples.push(performance.now() - start);
      }
    }
    for (let i = 0; i < PER_BLOCK / 3; i += 1) {
      const start = performance.now();
      bareSync();
      syncSamples.push(performance.now() - start);
    }
    // The daemon, one withCard (queue + transaction begin/end) per APDU.
    for (let i = 0; i < PER_BLOCK / 3; i += 1) {
      const start = performance.now();
      await readers.withCard(READER, (channel) => channel.transmit(command));
      perOperationSamples.push(performance.now() - start);
    }
  }

  console.log(
    `APDU round trip, ${READER} (vpcd, echo card, READ 16 bytes), ${sessionSamples.length} APDUs per path`,
  );
  console.log(ratioLine("CardSession vs bare koffi async Transmit", sessionSamples, bareSamples, 50, 1.1));
  console.log(ratioLine("CardSession vs bare koffi async Transmit", sessionSamples, bareSamples, 99));
  console.log(ratioLine("bare async vs bare sync (event loop blocked)", bareSamples, syncSamples, 50));
  console.log(
    ratioLine("withCard per APDU (transaction each) vs bare async", perOperationSamples, bareSamples, 50),
  );
  console.log(`p50 per APDU through the daemon: ${formatMs(percentile(sessionSamples, 50))}`);
  report(
    {
      id: "apdu.p50.ratio",
      value: percentile(sessionSamples, 50) / percentile(bareSamples, 50),
      unit: "×",
      label: "APDU via CardSession vs bare async Transmit, p50",
    },
    {
      id: "apdu.p99.ratio",
      value: percentile(sessionSamples, 99) / percentile(bareSamples, 99),
      unit: "×",
      label: "APDU via CardSession vs bare async Transmit, p99",
    },
    {
      id: "apdu.p50.daemon",
      value: percentile(sessionSamples, 50),
      unit: "ms",
      label: "APDU p50 via the daemon",
    },
    {
      id: "apdu.withCard.p50.ratio",
      value: percentile(perOperationSamples, 50) / percentile(bareSamples, 50),
      unit: "×",
      label: "one withCard (transaction) per APDU vs bare async, p50",
    },
  );

  lib.fn.disconnect(card[0], SCARD_LEAVE_CARD);
  lib.fn.releaseContext(context[0]);
  await readers.close();
} finally {
  const exited = new Promise((resolve) => cardProcess.once("exit", resolve));
  cardProcess.kill("SIGTERM");
  await exited;
  const bridgeLine = bridgeReport.split("\n").find((line) => line.includes("bridge handling"));
  if (bridgeLine) console.log(bridgeLine.replace(/^lab: /, "vpcd bridge (child): "));
  await lab.release();
}
