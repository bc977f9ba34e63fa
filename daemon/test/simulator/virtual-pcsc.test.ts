/** The virtual backend's PC/SC semantics that the daemon relies on (same as pcsc-lite's). */
import { test } from "node:test";
import assert from "node:assert/strict";
import { VirtualPcsc, VIRTUAL_READER_NAMES } from "../../src/simulator/virtual-pcsc.ts";
import { createEchoCard } from "../../src/simulator/echo-card.ts";
import {
  INFINITE,
  PNP_NOTIFICATION,
  SCARD_LEAVE_CARD,
  SCARD_PROTOCOL_ANY,
  SCARD_PROTOCOL_T1,
  SCARD_RESET_CARD,
  SCARD_SHARE_EXCLUSIVE,
  SCARD_SHARE_SHARED,
  SCARD_STATE_CHANGED,
  SCARD_STATE_EMPTY,
  SCARD_STATE_PRESENT,
  eventCounterOf,
} from "../../src/pcsc/constants.ts";
import { isPasserelleError } from "../../src/errors.ts";

const [SLOT0] = VIRTUAL_READER_NAMES;
const pcsc = (name: string) => (error: unknown) => isPasserelleError(error) && error.details["pcsc"] === name;

test("GetStatusChange: UNAWARE answers at once; a known state waits for a change; timeout; cancel", async () => {
  const lab = new VirtualPcsc();
  const context = await lab.establishContext();
  const [first] = await context.getStatusChange([{ reader: SLOT0, currentState: 0 }], INFINITE);
  assert.ok(first);
  assert.equal(first.eventState & SCARD_STATE_EMPTY, SCARD_STATE_EMPTY);
  assert.equal(first.eventState & SCARD_STATE_CHANGED, SCARD_STATE_CHANGED);
  const known = first.eventState & ~SCARD_STATE_CHANGED;
  await assert.rejects(
    context.getStatusChange([{ reader: SLOT0, currentState: known }], 10),
    pcsc("SCARD_E_TIMEOUT"),
  );
  const waiting = context.getStatusChange([{ reader: SLOT0, currentState: known }], INFINITE);
  lab.insert(SLOT0, createEchoCard());
  const [changed] = await waiting;
  assert.ok(changed);
  assert.equal(changed.eventState & SCARD_STATE_PRESENT, SCARD_STATE_PRESENT);
  assert.equal(eventCounterOf(changed.eventState), eventCounterOf(known) + 1);
  const cancelled = context.getStatusChange(
    [{ reader: SLOT0, currentState: changed.eventState & ~SCARD_STATE_CHANGED }],
    INFINITE,
  );
  context.cancel();
  await assert.rejects(cancelled, pcsc("SCARD_E_CANCELLED"));
  await context.release();
});

test("PnP notification fires when a reader is plugged", async () => {
  const lab = new VirtualPcsc();
  const context = await lab.establishContext();
  const [pnp] = await context
    .getStatusChange([{ reader: PNP_NOTIFICATION, currentState: 0 }], 0)
    .catch(() => [undefined]);
  const current = pnp?.eventState ?? 2 << 16;
  const waiting = context.getStatusChange(
    [{ reader: PNP_NOTIFICATION, currentState: current & ~SCARD_STATE_CHANGED }],
    INFINITE,
  );
  lab.addReader("Extra 00 00");
  const [after] = await waiting;
  assert.ok(after);
  assert.equal(after.eventState & SCARD_STATE_CHANGED, SCARD_STATE_CHANGED);
  assert.deepEqual(await context.listReaders(), [...VIRTUAL_READER_NAMES, "Extra 00 00"]);
});

test("connect: NO_SMARTCARD, UNKNOWN_READER, exclusive sharing, protocol from the ATR", async () => {
  const lab = new VirtualPcsc();
  const context = await lab.establishContext();
  await assert.rejects(
    context.connect(SLOT0, SCARD_SHARE_SHARED, SCARD_PROTOCOL_ANY),
    pcsc("SCARD_E_NO_SMARTCARD"),
  );
  await assert.rejects(
    context.connect("nope", SCARD_SHARE_SHARED, SCARD_PROTOCOL_ANY),
    pcsc("SCARD_E_UNKNOWN_READER"),
  );
  lab.insert(SLOT0, createEchoCard());
  const exclusive = await context.connect(SLOT0, SCARD_SHARE_EXCLUSIVE, SCARD_PROTOCOL_ANY);
  assert.equal(exclusive.protocol, SCARD_PROTOCOL_T1);
  await assert.rejects(
    context.connect(SLOT0, SCARD_SHARE_SHARED, SCARD_PROTOCOL_ANY),
    pcsc("SCARD_E_SHARING_VIOLATION"),
  );
  await exclusive.disconnect(SCARD_LEAVE_CARD);
  const shared = await context.connect(SLOT0, SCARD_SHARE_SHARED, SCARD_PROTOCOL_ANY);
  assert.deepEqual((await shared.status()).atr, createEchoCard().atr);
});

test("a reset by another handle is reported once (W_RESET_CARD); a removal for good (W_REMOVED_CARD)", async () => {
  const lab = new VirtualPcsc();
  lab.insert(SLOT0, createEchoCard());
  const context = await lab.establishContext();
  const a = await context.connect(SLOT0, SCARD_SHARE_SHARED, SCARD_PROTOCOL_ANY);
  const b = await context.connect(SLOT0, SCARD_SHARE_SHARED, SCARD_PROTOCOL_ANY);
  await b.reconnect(SCARD_SHARE_SHARED, SCARD_PROTOCOL_ANY, SCARD_RESET_CARD);
  await assert.rejects(a.transmit(Uint8Array.of(0, 0xa4, 0, 0x0c), 258), pcsc("SCARD_W_RESET_CARD"));
  assert.equal((await a.transmit(Uint8Array.of(0, 0xa4, 0, 0x0c), 258)).length, 2);
  lab.remove(SLOT0);
  await assert.rejects(a.transmit(Uint8Array.of(0, 0xa4, 0, 0x0c), 258), pcsc("SCARD_W_REMOVED_CARD"));
  lab.insert(SLOT0, createEchoCard());
  await assert.rejects(a.transmit(Uint8Array.of(0, 0xa4, 0, 0x0c), 258), pcsc("SCARD_W_REMOVED_CARD"));
});

test("a stopped service: NO_SERVICE; an old context after a restart: INVALID_HANDLE", async () => {
  const lab = new VirtualPcsc();
  const old = await lab.establishContext();
  lab.stopService();
  await assert.rejects(lab.establishContext(), (e) => isPasserelleError(e, "PCSC_UNAVAILABLE"));
  await assert.rejects(old.listReaders(), pcsc("SCARD_E_NO_SERVICE"));
  lab.startService();
  await assert.rejects(old.listReaders(), pcsc("SCARD_E_INVALID_HANDLE"));
  assert.deepEqual(await (await lab.establishContext()).listReaders(), [...VIRTUAL_READER_NAMES]);
});
