/**
 * The Readers implementation (ReaderMonitor + per-reader queue + CardSession) over the in-process
 * virtual backend. The same scenarios run against the real pcscd in test/pcsc/.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { createReaders, type PcscReaders, type ReaderEvent } from "../../src/pcsc/index.ts";
import { VirtualPcsc, VIRTUAL_READER_NAMES } from "../../src/simulator/virtual-pcsc.ts";
import { createEchoCard, createBlankCard, ECHO_ATR } from "../../src/simulator/echo-card.ts";
import type { CardEmulator } from "../../src/simulator/card-emulator.ts";
import { isPasserelleError } from "../../src/errors.ts";
import {
  SCARD_LEAVE_CARD,
  SCARD_SHARE_SHARED,
  SCARD_PROTOCOL_ANY,
  SCARD_STATE_INUSE,
  type Disposition,
} from "../../src/pcsc/constants.ts";
import type { PcscBackend, PcscCard, PcscContext } from "../../src/pcsc/backend.ts";
import { pcscError } from "../../src/pcsc/return-codes.ts";

const [SLOT0, SLOT1] = VIRTUAL_READER_NAMES;
const READ = (offset: number, le: number) => ({
  cla: 0x80,
  ins: 0xb0,
  p1: offset >> 8,
  p2: offset & 0xff,
  le,
});

function waitFor(readers: PcscReaders, predicate: (event: ReaderEvent) => boolean): Promise<ReaderEvent> {
  return new Promise((resolve) => {
    const unsubscribe = readers.subscribe((event) => {
      if (predicate(event)) {
        unsubscribe();
        resolve(event);
      }
    });
  });
}

function recorder(readers: PcscReaders): ReaderEvent[] {
  const events: ReaderEvent[] = [];
  readers.subscribe((event) => events.push(event));
  return events;
}

/** Wraps an emulator to count APDUs and run a hook before answering. */
function instrumented(
  inner: CardEmulator,
  before?: (count: number) => void | Promise<void>,
): CardEmulator & { count: number } {
  const card = {
    atr: inner.atr,
    count: 0,
    async transmit(apdu: Uint8Array) {
      card.count += 1;
      await before?.(card.count);
      return inner.transmit(apdu);
    },
    reset: () => inner.reset(),
  };
  return card;
}

async function setup(cards: { slot0?: CardEmulator; slot1?: CardEmulator } = {}) {
  const lab = new VirtualPcsc();
  if (cards.slot0) lab.insert(SLOT0, cards.slot0);
  if (cards.slot1) lab.insert(SLOT1, cards.slot1);
  const readers = await createReaders({
    backend: lab,
    backoffMinMs: 5,
    backoffMaxMs: 20,
    apduTimeoutMs: 200,
  });
  return { lab, readers };
}

test("the first view lists readers and the card already inserted, with its ATR", async () => {
  const { readers } = await setup({ slot0: createEchoCard() });
  try {
    assert.equal(readers.available, true);
    const list = readers.list();
    assert.deepEqual(
      list.map((r) => [r.id, r.cardPresent, r.insertion]),
      [
        [SLOT0, true, 1],
        [SLOT1, false, 0],
      ],
    );
    assert.deepEqual(list[0]?.atr, ECHO_ATR);
  } finally {
    await readers.close();
  }
});

test("insert and remove give card.inserted (ATR, insertion) and card.removed", async () => {
  const { lab, readers } = await setup();
  try {
    const inserted = waitFor(readers, (e) => e.type === "card.inserted");
    lab.insert(SLOT1, createEchoCard());
    assert.deepEqual(await inserted, { type: "card.inserted", readerId: SLOT1, atr: ECHO_ATR, insertion: 1 });
    const removed = waitFor(readers, (e) => e.type === "card.removed");
    lab.remove(SLOT1);
    assert.deepEqual(await removed, { type: "card.removed", readerId: SLOT1 });
    const again = waitFor(readers, (e) => e.type === "card.inserted");
    lab.insert(SLOT1, createBlankCard());
    assert.equal(((await again) as { insertion: number }).insertion, 2);
  } finally {
    await readers.close();
  }
});

test("a card swapped between two wake-ups is reported removed then inserted", async () => {
  const { lab, readers } = await setup({ slot0: createEchoCard() });
  try {
    const events = recorder(readers);
    const inserted = waitFor(readers, (e) => e.type === "card.inserted");
    lab.remove(SLOT0);
    lab.insert(SLOT0, createBlankCard());
    await inserted;
    assert.deepEqual(
      events.map((e) => e.type),
      ["card.removed", "card.inserted"],
    );
    assert.equal(readers.list()[0]?.insertion, 2);
  } finally {
    await readers.close();
  }
});

test("reader hot-plug through the PnP notification", async () => {
  const { lab, readers } = await setup();
  try {
    const added = waitFor(readers, (e) => e.type === "reader.added");
    lab.addReader("Lab Dual Reader 01 00");
    assert.equal(((await added) as { reader: { id: string } }).reader.id, "Lab Dual Reader 01 00");
    lab.insert("Lab Dual Reader 01 00", createEchoCard());
    await waitFor(readers, (e) => e.type === "card.inserted");
    const events = recorder(readers);
    const removed = waitFor(readers, (e) => e.type === "reader.removed");
    lab.removeReader("Lab Dual Reader 01 00");
    await removed;
    assert.deepEqual(
      events.map((e) => e.type),
      ["card.removed", "reader.removed"],
    );
    await assert.rejects(
      readers.withCard("Lab Dual Reader 01 00", async () => 0),
      (e) => isPasserelleError(e, "NO_READER"),
    );
  } finally {
    await readers.close();
  }
});

test("withCard: NO_READER, NO_CARD, and the card's answers through the APDU layer", async () => {
  const { readers } = await setup({ slot0: createEchoCard() });
  try {
    await assert.rejects(
      readers.withCard("nope", async () => 0),
      (e) => isPasserelleError(e, "NO_READER"),
    );
    await assert.rejects(
      readers.withCard(SLOT1, async () => 0),
      (e) => isPasserelleError(e, "NO_CARD"),
    );
    const result = await readers.withCard(SLOT0, async (card) => {
      assert.equal(card.readerId, SLOT0);
      assert.equal(card.insertion, 1);
      const big = await card.transmit({ cla: 0x80, ins: 0xc4, p1: 0, p2: 0, le: 1000 }); // 61xx chain
      const strict = await card.transmit({ cla: 0x80, ins: 0x6c, p1: 0, p2: 0, le: 256 }); // 6Cxx
      const data = Uint8Array.from({ length: 700 }, (_, i) => i % 251);
      const echoed = await card.transmit({ cla: 0x80, ins: 0x10, p1: 0, p2: 0, data, le: 65536 });
      return { big, strict, echoed, data };
    });
    assert.equal(result.big.data.length, 1000);
    assert.equal(result.strict.data.length, 16);
    assert.deepEqual(result.echoed.data, result.data);
  } finally {
    await readers.close();
  }
});

test("removal during a multi-APDU read: CARD_REMOVED, then the next insertion works", async () => {
  const lab = new VirtualPcsc();
  const readers = await createReaders({ backend: lab, apduTimeoutMs: 1000 });
  try {
    const card = instrumented(createEchoCard(), (count) => {
      if (count === 3) lab.remove(SLOT0); // pulled while the card "computes" the third answer
    });
    lab.insert(SLOT0, card);
    await waitFor(readers, (e) => e.type === "card.inserted");
    let reads = 0;
    await assert.rejects(
      readers.withCard(SLOT0, async (channel) => {
        for (let offset = 0; offset < 10; offset += 1) {
          await channel.transmit(READ(offset * 16, 16));
          reads += 1;
        }
      }),
      (e) => isPasserelleError(e, "CARD_REMOVED"),
    );
    assert.equal(reads, 2);
    const inserted = waitFor(readers, (e) => e.type === "card.inserted");
    if (readers.list()[0]?.cardPresent) await waitFor(readers, (e) => e.type === "card.removed");
    lab.insert(SLOT0, createEchoCard());
    assert.equal(((await inserted) as { insertion: number }).insertion, 2);
    const answer = await readers.withCard(SLOT0, (channel) => channel.transmit(READ(0, 4)));
    assert.deepEqual([...answer.data], [0, 1, 2, 3]);
  } finally {
    await readers.close();
  }
});

test("service stopped: PCSC_UNAVAILABLE and everything reported gone; restarted: readers and card come back", async () => {
  const { lab, readers } = await setup({ slot0: createEchoCard() });
  try {
    const events = recorder(readers);
    const down = waitFor(readers, (e) => e.type === "pcsc.status" && !e.available);
    lab.stopService();
    await down;
    assert.equal(readers.available, false);
    assert.deepEqual(readers.list(), []);
    await assert.rejects(
      readers.withCard(SLOT0, async () => 0),
      (e) => isPasserelleError(e, "PCSC_UNAVAILABLE"),
    );
    assert.deepEqual(
      events.map((e) => e.type),
      ["card.removed", "reader.removed", "reader.removed", "pcsc.status"],
    );
    events.length = 0;
    const back = waitFor(readers, (e) => e.type === "card.inserted");
    lab.startService();
    await back;
    assert.deepEqual(
      events.map((e) => e.type),
      ["reader.added", "reader.added", "pcsc.status", "card.inserted"],
    );
    const answer = await readers.withCard(SLOT0, (channel) => channel.transmit(READ(0, 2)));
    assert.equal(answer.sw, 0x9000);
  } finally {
    await readers.close();
  }
});

test("service stopped mid-operation: PCSC_UNAVAILABLE (not CARD_REMOVED), its context dropped; after the restart the next operation works", async () => {
  const lab = new VirtualPcsc();
  // Every context the readers open, and the ones SCardConnect was called on.
  const contexts: PcscContext[] = [];
  const connectedOn: number[] = [];
  const backend: PcscBackend = {
    kind: "virtual",
    async establishContext() {
      const inner = await lab.establishContext();
      const index = contexts.length;
      const context: PcscContext = {
        listReaders: () => inner.listReaders(),
        getStatusChange: (queries, timeoutMs) => inner.getStatusChange(queries, timeoutMs),
        cancel: () => inner.cancel(),
        release: () => inner.release(),
        connect: (reader, share, protocols) => {
          connectedOn.push(index);
          return inner.connect(reader, share, protocols);
        },
      };
      contexts.push(context);
      return context;
    },
  };
  const card = instrumented(createEchoCard(), (count) => {
    if (count === 2) lab.stopService(); // pcscd stops while the card "computes" the second answer
  });
  lab.insert(SLOT0, card);
  const readers = await createReaders({ backend, backoffMinMs: 5, backoffMaxMs: 20, apduTimeoutMs: 1000 });
  try {
    let reads = 0;
    await assert.rejects(
      readers.withCard(SLOT0, async (channel) => {
        for (let offset = 0; offset < 4; offset += 1) {
          await channel.transmit(READ(offset, 1));
          reads += 1;
        }
      }),
      (e) => isPasserelleError(e, "PCSC_UNAVAILABLE") && e.details["pcsc"] === "SCARD_E_NO_SERVICE",
    );
    assert.equal(reads, 1);
    const contextsBeforeRestart = contexts.length;
    const back = waitFor(readers, (e) => e.type === "card.inserted");
    lab.startService();
    await back;
    const connectsBefore = connectedOn.length;
    const answer = await readers.withCard(SLOT0, (channel) => channel.transmit(READ(0, 2)));
    assert.equal(answer.sw, 0x9000);
    // The dead context was dropped with the failure: the next operation connects once, on a new one.
    assert.deepEqual(
      connectedOn.slice(connectsBefore).map((index) => index >= contextsBeforeRestart),
      [true],
    );
  } finally {
    await readers.close();
  }
});

test("a connection that fails halfway (after SCardConnect) does not leak its card handle", async () => {
  const lab = new VirtualPcsc();
  lab.insert(SLOT0, createEchoCard());
  let failNext = 1;
  const disconnected: PcscCard[] = [];
  const connected: PcscCard[] = [];
  // Readers' slot contexts: the first status read right after an SCardConnect fails, once.
  const backend: PcscBackend = {
    kind: "virtual",
    async establishContext() {
      const inner = await lab.establishContext();
      let justConnected = false;
      return {
        listReaders: () => inner.listReaders(),
        getStatusChange: (queries, timeoutMs) => {
          if (justConnected && failNext > 0) {
            failNext -= 1;
            justConnected = false;
            return Promise.reject(pcscError(0x80100017, "SCardGetStatusChange")); // READER_UNAVAILABLE
          }
          return inner.getStatusChange(queries, timeoutMs);
        },
        cancel: () => inner.cancel(),
        release: () => inner.release(),
        async connect(reader, share, protocols) {
          const handle = await inner.connect(reader, share, protocols);
          justConnected = true;
          const recorded: PcscCard = {
            protocol: handle.protocol,
            reconnect: (...args) => handle.reconnect(...args),
            disconnect: (disposition: Disposition) => {
              disconnected.push(recorded);
              return handle.disconnect(disposition);
            },
            beginTransaction: () => handle.beginTransaction(),
            endTransaction: (disposition) => handle.endTransaction(disposition),
            transmit: (command, max) => handle.transmit(command, max),
            control: (code, data, max) => handle.control(code, data, max),
            status: () => handle.status(),
            getAttrib: (id) => handle.getAttrib(id),
          };
          connected.push(recorded);
          return recorded;
        },
      };
    },
  };
  const readers = await createReaders({ backend, apduTimeoutMs: 1000 });
  try {
    // The stale-connection retry connects again and the operation goes through.
    const answer = await readers.withCard(SLOT0, (channel) => channel.transmit(READ(0, 2)));
    assert.equal(answer.sw, 0x9000);
    assert.equal(failNext, 0);
    assert.equal(connected.length, 2);
    assert.ok(disconnected.includes(connected[0] as PcscCard), "the half-made connection was disconnected");
  } finally {
    await readers.close();
  }
  // Nothing of ours is left on the card.
  assert.equal(lab.stateOf(SLOT0).eventState & SCARD_STATE_INUSE, 0);
});

test("50 concurrent reads on one card: all succeed, one at a time, in order", async () => {
  let inside = 0;
  let maxInside = 0;
  const { readers } = await setup({ slot0: createEchoCard() });
  try {
    const order: number[] = [];
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        readers.withCard(SLOT0, async (card) => {
          inside += 1;
          maxInside = Math.max(maxInside, inside);
          order.push(i);
          const first = await card.transmit(READ(i, 8));
          const second = await card.transmit(READ(i + 8, 8));
          inside -= 1;
          return [...first.data, ...second.data];
        }),
      ),
    );
    assert.equal(maxInside, 1);
    assert.deepEqual(
      order,
      Array.from({ length: 50 }, (_, i) => i),
    );
    results.forEach((data, i) =>
      assert.deepEqual(
        data,
        Array.from({ length: 16 }, (_, j) => (i + j) & 0xff),
      ),
    );
  } finally {
    await readers.close();
  }
});

test("two readers run in parallel, each talking to its own card", async () => {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const slow = instrumented(createEchoCard(), () => gate);
  const { readers } = await setup({ slot0: slow, slot1: createBlankCard() });
  try {
    const first = readers.withCard(SLOT0, (card) => card.transmit(READ(0, 4)));
    // Slot 1 answers while slot 0's card is still "computing".
    const second = await readers.withCard(SLOT1, (card) =>
      card.transmit({ cla: 0, ins: 0xa4, p1: 0, p2: 0x0c }),
    );
    assert.equal(second.sw, 0x9000);
    assert.equal(slow.count, 1);
    release();
    assert.deepEqual([...(await first).data], [0, 1, 2, 3]);
    // No cross-talk: the blank card does not know READ.
    const blank = await readers.withCard(SLOT1, (card) => card.transmit(READ(0, 4)));
    assert.equal(blank.sw, 0x6d00);
  } finally {
    await readers.close();
  }
});

test("a card answering garbage gives CARD_ERROR, no crash, and the reader stays usable", async () => {
  const answers = ["", "90", "0102030405069000", "01020304A5A5"];
  for (const garbage of answers) {
    const card: CardEmulator = {
      atr: ECHO_ATR,
      reset() {},
      transmit: (apdu) =>
        apdu[1] === 0xb0 ? Uint8Array.from(Buffer.from(garbage, "hex")) : Uint8Array.of(0x90, 0x00),
    };
    const { readers } = await setup({ slot0: card });
    try {
      await assert.rejects(
        readers.withCard(SLOT0, (channel) => channel.transmit(READ(0, 4))),
        (e) => isPasserelleError(e, "CARD_ERROR"),
        `garbage ${garbage}`,
      );
      const ok = await readers.withCard(SLOT0, (channel) =>
        channel.transmit({ cla: 0, ins: 0xa4, p1: 0, p2: 0x0c }),
      );
      assert.equal(ok.sw, 0x9000);
    } finally {
      await readers.close();
    }
  }
});

test("an APDU without answer times out (TIMEOUT); the card is reset and the next operation works", async () => {
  let hang = true;
  let release!: () => void;
  const resets: number[] = [];
  const inner = createEchoCard();
  const card: CardEmulator = {
    atr: ECHO_ATR,
    reset: () => {
      resets.push(Date.now());
      inner.reset();
    },
    transmit: async (apdu) => {
      if (hang) {
        hang = false;
        await new Promise<void>((resolve) => (release = resolve));
      }
      return inner.transmit(apdu);
    },
  };
  const { readers } = await setup({ slot0: card });
  try {
    const resetsBefore = resets.length;
    await assert.rejects(
      readers.withCard(SLOT0, (channel) => channel.transmit(READ(0, 4))),
      (e) => isPasserelleError(e, "TIMEOUT"),
    );
    release();
    const answer = await readers.withCard(SLOT0, (channel) => channel.transmit(READ(0, 4)));
    assert.deepEqual([...answer.data], [0, 1, 2, 3]);
    assert.ok(resets.length > resetsBefore, "the card was reset after the timeout");
  } finally {
    await readers.close();
  }
});

test("another application's transaction: our operation waits a bounded time (READER_BUSY), never interleaves", async () => {
  const lab = new VirtualPcsc();
  const card = instrumented(createEchoCard());
  lab.insert(SLOT0, card);
  const readers = await createReaders({ backend: lab, apduTimeoutMs: 200, transactionTimeoutMs: 50 });
  const other = await lab.establishContext();
  try {
    const handle = await other.connect(SLOT0, SCARD_SHARE_SHARED, SCARD_PROTOCOL_ANY);
    await handle.beginTransaction();
    let ran = false;
    const ours = readers.withCard(SLOT0, (channel) => {
      ran = true;
      return channel.transmit(READ(0, 1));
    });
    // Without a bound the wait never ends: fail instead of hanging the test run.
    const stuck = new Promise<"stuck">((resolve) => setTimeout(() => resolve("stuck"), 5_000).unref());
    const outcome = await Promise.race([
      ours.then(
        () => "answered",
        (e: unknown) => e,
      ),
      stuck,
    ]);
    assert.ok(isPasserelleError(outcome, "READER_BUSY"), `got ${String(outcome)}`);
    assert.equal(ran, false);
    assert.equal(card.count, 0, "no APDU while the other application holds the card");
    // Still held: the next operation is refused too, without touching the card.
    await assert.rejects(
      readers.withCard(SLOT0, async () => 0),
      (e) => isPasserelleError(e, "READER_BUSY"),
    );
    await handle.endTransaction(SCARD_LEAVE_CARD);
    // The abandoned SCardBeginTransaction got the card when the other application let go; its
    // handle was then disconnected, so the transaction is free again for the next operation.
    assert.equal((await readers.withCard(SLOT0, (channel) => channel.transmit(READ(0, 1)))).sw, 0x9000);
    await handle.disconnect(SCARD_LEAVE_CARD);
  } finally {
    await other.release();
    await readers.close();
  }
});

test("control: CARD_ERROR on a reader without the feature; a virtual PIN pad answers", async () => {
  const lab = new VirtualPcsc([SLOT0]);
  lab.addReader("Lab PIN Pad 00 00", {
    control: (code) => Uint8Array.of(0x06, 0x04, 0x42, 0x33, 0x00, 0x06 + (code & 0)),
  });
  lab.insert(SLOT0, createEchoCard());
  lab.insert("Lab PIN Pad 00 00", createEchoCard());
  const readers = await createReaders({ backend: lab });
  try {
    await assert.rejects(
      readers.withCard(SLOT0, (card) => card.control(0x42000d48, new Uint8Array())),
      (e) => isPasserelleError(e, "CARD_ERROR") && e.details["pcsc"] === "SCARD_E_UNSUPPORTED_FEATURE",
    );
    const features = await readers.withCard("Lab PIN Pad 00 00", (card) =>
      card.control(0x42000d48, new Uint8Array()),
    );
    assert.deepEqual([...features], [0x06, 0x04, 0x42, 0x33, 0x00, 0x06]);
  } finally {
    await readers.close();
  }
});

test("a PIN pad entry slower than the APDU timeout: the VERIFY result comes back (control has its own bound)", async () => {
  const lab = new VirtualPcsc([]);
  // The pad answers (SW of the VERIFY it sent) after the user took longer than one APDU timeout.
  lab.addReader("Lab PIN Pad 00 00", {
    control: () => new Promise((resolve) => setTimeout(() => resolve(Uint8Array.of(0x90, 0x00)), 100)),
  });
  lab.insert("Lab PIN Pad 00 00", createEchoCard());
  const readers = await createReaders({ backend: lab, apduTimeoutMs: 20 });
  try {
    const answer = await readers.withCard("Lab PIN Pad 00 00", (card) =>
      card.control(0x42330006, Uint8Array.of(0x1e, 0x1e)),
    );
    assert.deepEqual([...answer], [0x90, 0x00]);
  } finally {
    await readers.close();
  }
});

test("a channel used after its operation ended is refused", async () => {
  const { readers } = await setup({ slot0: createEchoCard() });
  try {
    const leaked = await readers.withCard(SLOT0, async (card) => card);
    await assert.rejects(leaked.transmit(READ(0, 1)), /used after its operation ended/);
  } finally {
    await readers.close();
  }
});
