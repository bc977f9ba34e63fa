/**
 * The koffi binding itself against the real pcscd: every PC/SC function the daemon declares,
 * with the return codes it must map.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { acquirePcscd, type PcscdLab } from "../helpers/pcscd.ts";
import { createSystemBackend, createReaders } from "../../daemon/src/pcsc/index.ts";
import {
  INFINITE,
  PNP_NOTIFICATION,
  SCARD_ATTR_ATR_STRING,
  SCARD_LEAVE_CARD,
  SCARD_PROTOCOL_ANY,
  SCARD_PROTOCOL_T1,
  SCARD_RESET_CARD,
  SCARD_SHARE_EXCLUSIVE,
  SCARD_SHARE_SHARED,
  SCARD_STATE_PRESENT,
  SCARD_STATE_CHANGED,
} from "../../daemon/src/pcsc/constants.ts";
import { scardCtlCode, CM_IOCTL_GET_FEATURE_REQUEST_FUNCTION } from "../../daemon/src/pcsc/binding/layout.ts";
import { createEchoCard, ECHO_ATR } from "../../daemon/src/simulator/echo-card.ts";
import type { CardEmulator } from "../../daemon/src/simulator/card-emulator.ts";
import { VpcdBridge } from "../../daemon/src/simulator/vpcd-bridge.ts";
import { isPasserelleError } from "../../daemon/src/errors.ts";
import { VPCD_READERS, nextEvent, isInserted } from "./lab.ts";

const pcsc = (name: string) => (error: unknown) => isPasserelleError(error) && error.details["pcsc"] === name;

let lab: PcscdLab;
let bridge: VpcdBridge;
let resets = 0;
before(async () => {
  lab = await acquirePcscd();
  const inner = createEchoCard();
  const card: CardEmulator = {
    atr: ECHO_ATR,
    transmit: (apdu) => inner.transmit(apdu),
    reset: () => {
      resets += 1;
      inner.reset();
    },
  };
  // Wait for pcscd to see the card, through the daemon's own monitor.
  const readers = await createReaders({ backend: createSystemBackend() });
  const seen = nextEvent(readers, isInserted(VPCD_READERS[0]), "card.inserted");
  bridge = new VpcdBridge({ emulator: card, slot: 0 });
  await bridge.start();
  await seen;
  await readers.close();
});
after(async () => {
  await bridge?.close();
  await lab?.release();
});

test("ListReaders, GetStatusChange (UNAWARE, timeout, PnP, cancel) on the real service", async () => {
  const context = await createSystemBackend().establishContext();
  try {
    const names = await context.listReaders();
    assert.deepEqual(names.slice(0, 2), [...VPCD_READERS]);
    const [slot0] = await context.getStatusChange([{ reader: VPCD_READERS[0], currentState: 0 }], 0);
    assert.ok(slot0);
    assert.equal(slot0.eventState & SCARD_STATE_PRESENT, SCARD_STATE_PRESENT);
    assert.deepEqual(slot0.atr, ECHO_ATR);
    const known = slot0.eventState & ~SCARD_STATE_CHANGED;
    await assert.rejects(
      context.getStatusChange([{ reader: VPCD_READERS[0], currentState: known }], 50),
      (e) => isPasserelleError(e, "TIMEOUT"),
    );
    const waiting = context.getStatusChange(
      [
        { reader: PNP_NOTIFICATION, currentState: 0 },
        { reader: VPCD_READERS[0], currentState: known },
      ],
      INFINITE,
    );
    setTimeout(() => context.cancel(), 100);
    await assert.rejects(waiting, pcsc("SCARD_E_CANCELLED"));
  } finally {
    await context.release();
  }
});

test("Connect, Status, GetAttrib, Transmit, Control, Reconnect, transactions, Disconnect", async () => {
  const context = await createSystemBackend().establishContext();
  try {
    const card = await context.connect(VPCD_READERS[0], SCARD_SHARE_SHARED, SCARD_PROTOCOL_ANY);
    assert.equal(card.protocol, SCARD_PROTOCOL_T1); // the echo ATR offers T=1 only
    const status = await card.status();
    assert.equal(status.reader, VPCD_READERS[0]);
    assert.deepEqual(status.atr, ECHO_ATR);
    assert.equal(status.protocol, SCARD_PROTOCOL_T1);
    // vpcd's driver serves no attributes: pcscd answers SCARD_E_UNEXPECTED, mapped to CARD_ERROR
    // (this exact outcome: a binding that read the attribute wrongly, or mapped the code
    // differently, must fail here).
    await assert.rejects(
      card.getAttrib(SCARD_ATTR_ATR_STRING),
      (error) => isPasserelleError(error, "CARD_ERROR") && error.details["pcsc"] === "SCARD_E_UNEXPECTED",
    );
    await card.beginTransaction();
    const answer = await card.transmit(Uint8Array.of(0x80, 0xb0, 0x00, 0x02, 0x04), 258);
    assert.deepEqual([...answer], [2, 3, 4, 5, 0x90, 0x00]);
    await card.endTransaction(SCARD_LEAVE_CARD);
    // vpcd implements no IFDHControl: even the feature request every PC/SC v2 reader knows is
    // refused (pcscd 1.9.9 answers SCARD_E_UNEXPECTED), mapped to CARD_ERROR.
    await assert.rejects(
      card.control(scardCtlCode(CM_IOCTL_GET_FEATURE_REQUEST_FUNCTION), new Uint8Array(), 256),
      (e) =>
        isPasserelleError(e, "CARD_ERROR") &&
        /^SCARD_E_(UNEXPECTED|UNSUPPORTED_FEATURE)$/.test(String(e.details["pcsc"])),
    );
    const before = resets;
    assert.equal(
      await card.reconnect(SCARD_SHARE_SHARED, SCARD_PROTOCOL_ANY, SCARD_RESET_CARD),
      SCARD_PROTOCOL_T1,
    );
    assert.ok(resets > before, "the emulator saw the reset");
    await card.disconnect(SCARD_LEAVE_CARD);
    await assert.rejects(context.connect("Virtual PCD 09 00", SCARD_SHARE_SHARED, SCARD_PROTOCOL_ANY), (e) =>
      isPasserelleError(e, "NO_READER"),
    );
    await assert.rejects(context.connect(VPCD_READERS[1], SCARD_SHARE_SHARED, SCARD_PROTOCOL_ANY), (e) =>
      isPasserelleError(e, "NO_CARD"),
    );
  } finally {
    await context.release();
  }
});

test("another application holding the card exclusively: READER_BUSY for withCard", async () => {
  const other = await createSystemBackend().establishContext();
  const readers = await createReaders({ backend: createSystemBackend() });
  try {
    const exclusive = await other.connect(VPCD_READERS[0], SCARD_SHARE_EXCLUSIVE, SCARD_PROTOCOL_ANY);
    await assert.rejects(
      readers.withCard(VPCD_READERS[0], async () => 0),
      (e) => isPasserelleError(e, "READER_BUSY"),
    );
    await exclusive.disconnect(SCARD_LEAVE_CARD);
    const answer = await readers.withCard(VPCD_READERS[0], (card) =>
      card.transmit({ cla: 0x80, ins: 0xb0, p1: 0, p2: 0, le: 2 }),
    );
    assert.equal(answer.sw, 0x9000);
  } finally {
    await readers.close();
    await other.release();
  }
});

// pcsc-lite makes SCardConnect wait for the lock too: both the first connection and a kept one.
for (const connected of [false, true]) {
  test(
    `another application's transaction (${connected ? "kept connection: SCardBeginTransaction" : "no connection yet: SCardConnect"} waits): READER_BUSY after the bound, then the card is ours again`,
    // Unbounded, the wait would last as long as the other application: fail instead of hanging.
    { timeout: 20_000 },
    async () => {
      const other = await createSystemBackend().establishContext();
      const readers = await createReaders({ backend: createSystemBackend(), transactionTimeoutMs: 300 });
      const read = { cla: 0x80, ins: 0xb0, p1: 0, p2: 0, le: 2 };
      try {
        if (connected)
          assert.equal((await readers.withCard(VPCD_READERS[0], (card) => card.transmit(read))).sw, 0x9000);
        const holder = await other.connect(VPCD_READERS[0], SCARD_SHARE_SHARED, SCARD_PROTOCOL_ANY);
        await holder.beginTransaction();
        let ran = false;
        await assert.rejects(
          readers.withCard(VPCD_READERS[0], async () => {
            ran = true;
          }),
          (e) => isPasserelleError(e, "READER_BUSY"),
        );
        assert.equal(ran, false);
        await holder.endTransaction(SCARD_LEAVE_CARD);
        // Our abandoned call returns now; its handle is disconnected, then we go on.
        assert.equal((await readers.withCard(VPCD_READERS[0], (card) => card.transmit(read))).sw, 0x9000);
        await holder.disconnect(SCARD_LEAVE_CARD);
      } finally {
        await readers.close();
        await other.release();
      }
    },
  );
}
