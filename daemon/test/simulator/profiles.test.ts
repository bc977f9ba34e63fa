import { test } from "node:test";
import assert from "node:assert/strict";
import { createEmulator, hasProfile, profileNames, registerProfile } from "../../src/simulator/profiles.ts";
import { BLANK_ATR, ECHO_ATR, parseCommandBody } from "../../src/simulator/echo-card.ts";

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ""), "hex"));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString("hex").toUpperCase();

test("the built-in trivial profiles", async () => {
  assert.ok(profileNames().includes("echo"));
  assert.ok(profileNames().includes("blank"));
  const echo = await createEmulator("echo");
  assert.deepEqual(echo.atr, ECHO_ATR);
  assert.equal(toHex(await echo.transmit(hex("80100000 03 010203 00"))), "0102039000");
  assert.equal(toHex(await echo.transmit(hex("80B00004 03"))), "0405069000");
  assert.equal(toHex(await echo.transmit(hex("00DA0000"))), "6D00");
  const blank = await createEmulator("blank");
  assert.deepEqual(blank.atr, BLANK_ATR);
  assert.equal(toHex(await blank.transmit(hex("00A4000C 02 3F00"))), "9000");
});

test("echo card: chained ECHO parts are buffered until the last", async () => {
  const echo = await createEmulator("echo");
  assert.equal(toHex(await echo.transmit(hex("90100000 02 AABB"))), "9000");
  assert.equal(toHex(await echo.transmit(hex("80100000 01 CC 00"))), "AABBCC9000");
});

test("registry: names are checked, duplicates refused, unknown profiles named in the error", async () => {
  const name = `test-${process.pid}`;
  registerProfile(name, async () => createEmulator("blank"));
  assert.ok(hasProfile(name));
  assert.throws(() => registerProfile(name, () => createEmulator("blank") as never), /already registered/);
  assert.throws(() => registerProfile("Bad Name", () => createEmulator("blank") as never), /invalid/);
  await assert.rejects(createEmulator("nope"), /unknown card profile "nope".*echo/);
});

test("command body parser: short and extended forms", () => {
  assert.deepEqual(parseCommandBody(hex("00B00000")), { data: new Uint8Array(), le: undefined });
  assert.deepEqual(parseCommandBody(hex("00B0000000")), { data: new Uint8Array(), le: 256 });
  assert.deepEqual(parseCommandBody(hex("00D60000 02 AABB")), { data: hex("AABB"), le: undefined });
  assert.deepEqual(parseCommandBody(hex("00B00000 000400")), { data: new Uint8Array(), le: 1024 });
  assert.deepEqual(parseCommandBody(hex("00D60000 000002 AABB 0000")), { data: hex("AABB"), le: 65536 });
});
