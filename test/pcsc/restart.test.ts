/**
 * pcscd killed and started again under a running Readers: PCSC_UNAVAILABLE meanwhile (events and
 * withCard), then the readers and the card come back as events and the card works again.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { acquirePcscd, type PcscdLab } from "../helpers/pcscd.ts";
import { createEchoCard } from "../../daemon/src/simulator/echo-card.ts";
import { isPasserelleError } from "../../daemon/src/errors.ts";
import type { PcscReaders, ReaderEvent } from "../../daemon/src/pcsc/index.ts";
import { VPCD_READERS, insert, isInserted, nextEvent, readersListed, systemReaders } from "./lab.ts";

let lab: PcscdLab;
let readers: PcscReaders;
before(async () => {
  lab = await acquirePcscd();
  readers = await systemReaders();
  await readersListed(readers);
});
after(async () => {
  await readers?.close();
  await lab?.release();
});

for (const signal of ["SIGTERM", "SIGKILL"] as const) {
  test(`pcscd stopped with ${signal} and started again: unavailable meanwhile, then everything comes back`, async () => {
    const { bridge } = await insert(readers, 0, createEchoCard()); // the bridge reconnects on its own
    try {
      const events: ReaderEvent[] = [];
      const unsubscribe = readers.subscribe((event) => events.push(event));
      const down = nextEvent(readers, (e) => e.type === "pcsc.status" && !e.available, "pcsc.status false");
      await lab.stop(signal);
      await down;
      assert.equal(readers.available, false);
      assert.deepEqual(readers.list(), []);
      await assert.rejects(
        readers.withCard(VPCD_READERS[0], async () => 0),
        (error) => isPasserelleError(error, "PCSC_UNAVAILABLE"),
      );
      const cardBack = nextEvent(readers, isInserted(VPCD_READERS[0]), "card.inserted after the restart");
      await lab.ensureRunning();
      await cardBack;
      unsubscribe();
      assert.equal(readers.available, true);
      const types = events.map((e) => `${e.type}${"readerId" in e ? ` ${e.readerId}` : ""}`);
      assert.deepEqual(types.slice(0, 4), [
        `card.removed ${VPCD_READERS[0]}`,
        `reader.removed ${VPCD_READERS[0]}`,
        `reader.removed ${VPCD_READERS[1]}`,
        "pcsc.status",
      ]);
      const after = events.slice(4).map((e) => e.type);
      assert.deepEqual(after.slice(0, 3).sort(), ["pcsc.status", "reader.added", "reader.added"]);
      assert.equal(after.at(-1), "card.inserted");
      const answer = await readers.withCard(VPCD_READERS[0], (card) =>
        card.transmit({ cla: 0x80, ins: 0xb0, p1: 0, p2: 0, le: 8 }),
      );
      assert.deepEqual([...answer.data], [0, 1, 2, 3, 4, 5, 6, 7]);
    } finally {
      await bridge.close();
    }
  });
}
