/**
 * Card sessions through the real pcscd: removal during a multi-APDU read, garbage answers, two
 * slots at once, 50 concurrent reads on one card.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { acquirePcscd, type PcscdLab } from "../helpers/pcscd.ts";
import type { CardEmulator } from "../../daemon/src/simulator/card-emulator.ts";
import { createBlankCard, createEchoCard, ECHO_ATR } from "../../daemon/src/simulator/echo-card.ts";
import type { VpcdBridge } from "../../daemon/src/simulator/vpcd-bridge.ts";
import { isPasserelleError } from "../../daemon/src/errors.ts";
import { createReaders, createSystemBackend, type PcscReaders } from "../../daemon/src/pcsc/index.ts";
import { VPCD_READERS, insert, isRemoved, nextEvent, pull, readersListed, systemReaders } from "./lab.ts";

const READ = (offset: number, le: number) => ({
  cla: 0x80,
  ins: 0xb0,
  p1: offset >> 8,
  p2: offset & 0xff,
  le,
});
const expected = (offset: number, length: number) => Array.from({ length }, (_, i) => (offset + i) & 0xff);

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

test("card pulled during a multi-APDU read: CARD_REMOVED; the next insertion works", async () => {
  const pulled: { bridge?: VpcdBridge } = {};
  const inner = createEchoCard();
  let count = 0;
  const card: CardEmulator = {
    atr: ECHO_ATR,
    reset: () => inner.reset(),
    transmit(apdu) {
      if (apdu[1] === 0xb0) count += 1;
      if (count === 3) {
        // Pulled while computing the third answer: the socket closes, no answer ever comes.
        void pulled.bridge?.close();
        return new Promise<Uint8Array>(() => undefined);
      }
      return inner.transmit(apdu);
    },
  };
  const inserted = await insert(readers, 0, card);
  pulled.bridge = inserted.bridge;
  const removed = nextEvent(readers, isRemoved(VPCD_READERS[0]), "card.removed");
  let reads = 0;
  await assert.rejects(
    readers.withCard(VPCD_READERS[0], async (channel) => {
      for (let i = 0; i < 10; i += 1) {
        const answer = await channel.transmit(READ(i * 32, 32));
        assert.deepEqual([...answer.data], expected(i * 32, 32));
        reads += 1;
      }
    }),
    (error) => isPasserelleError(error, "CARD_REMOVED"),
  );
  assert.equal(reads, 2);
  await removed;
  const again = await insert(readers, 0, createEchoCard());
  assert.equal(again.event.insertion, inserted.event.insertion + 1);
  const answer = await readers.withCard(VPCD_READERS[0], (channel) => channel.transmit(READ(7, 9)));
  assert.deepEqual([...answer.data], expected(7, 9));
  await pull(readers, 0, again.bridge);
});

test("garbage answers (one byte, more data than Le, no valid SW) are CARD_ERROR; the card stays usable", async () => {
  // An empty answer cannot be tested through vpcd: vpcd ignores a zero-length frame and keeps
  // waiting, which is a mute card (next test).
  for (const garbage of ["90", "0102030405069000", "C0FFEE"]) {
    const inner = createBlankCard();
    const card: CardEmulator = {
      atr: ECHO_ATR,
      reset: () => inner.reset(),
      transmit: (apdu) =>
        apdu[1] === 0xb0 ? Uint8Array.from(Buffer.from(garbage, "hex")) : inner.transmit(apdu),
    };
    const { bridge } = await insert(readers, 1, card);
    try {
      await assert.rejects(
        readers.withCard(VPCD_READERS[1], (channel) => channel.transmit(READ(0, 4))),
        (error) => isPasserelleError(error, "CARD_ERROR"),
        `garbage "${garbage}"`,
      );
      const ok = await readers.withCard(VPCD_READERS[1], (channel) =>
        channel.transmit({ cla: 0, ins: 0xa4, p1: 0, p2: 0x0c, data: Uint8Array.of(0x3f, 0) }),
      );
      assert.equal(ok.sw, 0x9000, `after garbage "${garbage}"`);
    } finally {
      await pull(readers, 1, bridge);
    }
  }
});

test("a mute card: TIMEOUT after the APDU timeout, no crash; pulled and reinserted, it works", async () => {
  const quick = await createReaders({ backend: createSystemBackend(), apduTimeoutMs: 1_000 });
  try {
    const inner = createEchoCard();
    const mute: CardEmulator = {
      atr: ECHO_ATR,
      reset: () => inner.reset(),
      transmit: (apdu) => (apdu[1] === 0xb0 ? new Uint8Array() : inner.transmit(apdu)),
    };
    const { bridge } = await insert(quick, 1, mute);
    await assert.rejects(
      quick.withCard(VPCD_READERS[1], (channel) => channel.transmit(READ(0, 4))),
      (error) => isPasserelleError(error, "TIMEOUT"),
    );
    await pull(quick, 1, bridge);
    const again = await insert(quick, 1, createEchoCard());
    const answer = await quick.withCard(VPCD_READERS[1], (channel) => channel.transmit(READ(0, 4)));
    assert.deepEqual([...answer.data], expected(0, 4));
    await pull(quick, 1, again.bridge);
  } finally {
    await quick.close();
  }
});

test("two slots used at the same time: both served, each by its own card", async () => {
  const slot0 = await insert(readers, 0, createEchoCard());
  const slot1 = await insert(readers, 1, createBlankCard());
  try {
    const rounds = 20;
    const [echoes, blanks] = await Promise.all([
      Promise.all(
        Array.from({ length: rounds }, (_, i) =>
          readers.withCard(VPCD_READERS[0], (card) => card.transmit(READ(i, 16))),
        ),
      ),
      Promise.all(
        Array.from({ length: rounds }, () =>
          readers.withCard(VPCD_READERS[1], (card) => card.transmit(READ(0, 16))),
        ),
      ),
    ]);
    echoes.forEach((answer, i) => {
      assert.equal(answer.sw, 0x9000);
      assert.deepEqual([...answer.data], expected(i, 16));
    });
    // The blank card knows no READ: any 9000 here would be slot 0's card answering.
    for (const answer of blanks) assert.equal(answer.sw, 0x6d00);
  } finally {
    await pull(readers, 0, slot0.bridge);
    await pull(readers, 1, slot1.bridge);
  }
});

test("50 concurrent reads on one card: all succeed, serialized in arrival order", async () => {
  const { bridge } = await insert(readers, 0, createEchoCard());
  try {
    let inside = 0;
    let maxInside = 0;
    const order: number[] = [];
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        readers.withCard(VPCD_READERS[0], async (card) => {
          inside += 1;
          maxInside = Math.max(maxInside, inside);
          order.push(i);
          const first = await card.transmit(READ(i, 100));
          const second = await card.transmit({ cla: 0x80, ins: 0xc4, p1: 0, p2: 0, le: 600 }); // 61xx chain
          inside -= 1;
          return { first, second };
        }),
      ),
    );
    assert.equal(maxInside, 1);
    assert.deepEqual(
      order,
      Array.from({ length: 50 }, (_, i) => i),
    );
    results.forEach(({ first, second }, i) => {
      assert.deepEqual([...first.data], expected(i, 100));
      assert.deepEqual([...second.data], expected(0, 600));
    });
  } finally {
    await pull(readers, 0, bridge);
  }
});

test("NO_CARD in an empty slot, NO_READER for a reader that does not exist", async () => {
  await assert.rejects(
    readers.withCard(VPCD_READERS[1], async () => 0),
    (error) => isPasserelleError(error, "NO_CARD"),
  );
  await assert.rejects(
    readers.withCard("Virtual PCD 09 00", async () => 0),
    (error) => isPasserelleError(error, "NO_READER"),
  );
});
