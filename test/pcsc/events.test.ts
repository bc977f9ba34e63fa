/**
 * Reader and card events through the real pcscd: insert → card.inserted with the right ATR and
 * type, remove → card.removed, the `lab insert` CLI, and a card already present at start.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { acquirePcscd, type PcscdLab } from "../helpers/pcscd.ts";
import { recognizeCard } from "../../daemon/src/cards/recognize.ts";
import { createBlankCard } from "../../daemon/src/simulator/echo-card.ts";
import { VpcdBridge } from "../../daemon/src/simulator/vpcd-bridge.ts";
import { REPO_ROOT } from "../helpers/daemon.ts";
import {
  VPCD_READERS,
  echoWithAtr,
  hex,
  insert,
  isInserted,
  isRemoved,
  nextEvent,
  pull,
  readersListed,
  systemReaders,
} from "./lab.ts";

const CPS3_ATR = hex("3BAC00402A001225006480000310009000");
const VITALE2_ATR = hex("3B751300004709EA9000");

let lab: PcscdLab;
before(async () => {
  lab = await acquirePcscd();
});
after(async () => {
  await lab?.release();
});

test("insert gives card.inserted with the ATR and the card type; remove gives card.removed", async () => {
  const readers = await systemReaders();
  try {
    assert.equal(readers.available, true);
    await readersListed(readers);
    const cps = await insert(readers, 0, echoWithAtr(CPS3_ATR));
    assert.deepEqual(cps.event.atr, CPS3_ATR);
    assert.equal(recognizeCard(cps.event.atr).type, "cps");
    const vitale = await insert(readers, 1, echoWithAtr(VITALE2_ATR));
    assert.deepEqual(vitale.event.atr, VITALE2_ATR);
    assert.equal(recognizeCard(vitale.event.atr).type, "vitale");
    assert.deepEqual(
      readers.list().map((r) => [r.id, r.cardPresent]),
      [
        [VPCD_READERS[0], true],
        [VPCD_READERS[1], true],
      ],
    );
    await pull(readers, 0, cps.bridge);
    assert.equal(readers.list().find((r) => r.id === VPCD_READERS[0])?.cardPresent, false);
    await pull(readers, 1, vitale.bridge);
    // Insertion numbers grow per reader.
    const again = await insert(readers, 0, createBlankCard());
    assert.equal(again.event.insertion, cps.event.insertion + 1);
    await pull(readers, 0, again.bridge);
  } finally {
    await readers.close();
  }
});

test("a card already in the reader when the daemon starts is in the first list", async () => {
  const bridge = new VpcdBridge({ emulator: echoWithAtr(CPS3_ATR), slot: 1 });
  await bridge.start();
  const probe = await systemReaders();
  try {
    // pcscd notices a vpcd card by polling: wait for it with a first Readers, then start a fresh one.
    if (!probe.list().find((r) => r.id === VPCD_READERS[1])?.cardPresent) {
      await nextEvent(probe, isInserted(VPCD_READERS[1]), "card.inserted");
    }
  } finally {
    await probe.close();
  }
  const readers = await systemReaders();
  try {
    const slot1 = readers.list().find((r) => r.id === VPCD_READERS[1]);
    assert.equal(slot1?.cardPresent, true);
    assert.deepEqual(slot1?.atr, CPS3_ATR);
    await pull(readers, 1, bridge);
  } finally {
    await bridge.close();
    await readers.close();
  }
});

test("`passerelle lab insert --slot 1 --card echo` inserts until killed", async () => {
  const readers = await systemReaders();
  try {
    await readersListed(readers);
    const inserted = nextEvent(readers, isInserted(VPCD_READERS[1]), "card.inserted from the CLI");
    const child = spawn(
      process.execPath,
      ["--import", "tsx", "test/pcsc/fixtures/lab-cli.ts", "lab", "insert", "--slot", "1", "--card", "echo"],
      { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "pipe"] },
    );
    let stdout = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const event = await inserted;
    assert.equal(recognizeCard(event.atr).id, "unknown");
    const answer = await readers.withCard(VPCD_READERS[1], (card) =>
      card.transmit({ cla: 0x80, ins: 0x10, p1: 0, p2: 0, data: hex("C0FFEE"), le: 3 }),
    );
    assert.deepEqual([...answer.data], [0xc0, 0xff, 0xee]);
    assert.match(stdout, /^inserted echo slot 1 port 35964$/m);
    const removed = nextEvent(readers, isRemoved(VPCD_READERS[1]), "card.removed after the CLI ended");
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    child.kill("SIGTERM");
    assert.equal(await exited, 0);
    await removed;
    assert.match(stderr, /APDUs, bridge handling mean/);
  } finally {
    await readers.close();
  }
});

test("an unknown profile: the CLI exits 2 and names the known ones", async () => {
  const child = spawn(
    process.execPath,
    ["--import", "tsx", "test/pcsc/fixtures/lab-cli.ts", "lab", "insert", "--slot", "0", "--card", "nope"],
    { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "pipe"] },
  );
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
  assert.equal(code, 2);
  assert.match(stderr, /unknown card profile "nope".*echo/);
});
