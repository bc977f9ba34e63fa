/**
 * The per-OS PC/SC ABI: struct sizes and member offsets for all three OSes, computed by koffi on
 * this machine (64-bit), against the values the OS headers give.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import koffi, { type TypeObject } from "koffi";
import { LAYOUTS, layoutFor, scardCtlCode, structsFor } from "../../src/pcsc/binding/layout.ts";

const offsets = (type: TypeObject) =>
  Object.fromEntries(Object.entries(type.members ?? {}).map(([name, member]) => [name, member.offset]));

test("Linux (pcsc-lite, LP64): 8-byte DWORD, rgbAtr[33], natural alignment → 80 bytes", () => {
  const { readerState, ioRequest } = structsFor(LAYOUTS.linux);
  assert.equal(koffi.sizeof(readerState), 80);
  assert.deepEqual(offsets(readerState), {
    szReader: 0,
    pvUserData: 8,
    dwCurrentState: 16,
    dwEventState: 24,
    cbAtr: 32,
    rgbAtr: 40,
  });
  assert.equal(koffi.sizeof(ioRequest), 16);
  assert.equal(koffi.sizeof(LAYOUTS.linux.handle), 8);
});

test("Windows x64: 32-bit DWORD, rgbAtr[36], pointer-sized handles → 64 bytes", () => {
  const { readerState, ioRequest } = structsFor(LAYOUTS.win32);
  assert.equal(koffi.sizeof(readerState), 64);
  assert.deepEqual(offsets(readerState), {
    szReader: 0,
    pvUserData: 8,
    dwCurrentState: 16,
    dwEventState: 20,
    cbAtr: 24,
    rgbAtr: 28,
  });
  assert.equal(koffi.sizeof(ioRequest), 8);
  assert.equal(koffi.sizeof(LAYOUTS.win32.handle), 8);
  assert.equal(LAYOUTS.win32.wide, true);
  assert.equal(LAYOUTS.win32.symbols.getStatusChange, "SCardGetStatusChangeW");
});

test("macOS: uint32 DWORD, int32 handles, packed structs → 61 bytes, no padding", () => {
  const { readerState, ioRequest } = structsFor(LAYOUTS.darwin);
  assert.equal(koffi.sizeof(readerState), 8 + 8 + 4 + 4 + 4 + 33);
  assert.equal(koffi.alignof(readerState), 1);
  assert.deepEqual(offsets(readerState), {
    szReader: 0,
    pvUserData: 8,
    dwCurrentState: 16,
    dwEventState: 20,
    cbAtr: 24,
    rgbAtr: 28,
  });
  assert.equal(koffi.sizeof(ioRequest), 8);
  assert.equal(koffi.sizeof(LAYOUTS.darwin.handle), 4);
});

test("layoutFor picks by platform; BSDs get the pcsc-lite layout", () => {
  assert.equal(layoutFor("linux"), LAYOUTS.linux);
  assert.equal(layoutFor("win32"), LAYOUTS.win32);
  assert.equal(layoutFor("darwin"), LAYOUTS.darwin);
  assert.equal(layoutFor("freebsd").library, "libpcsclite.so.1");
});

test("SCARD_CTL_CODE per OS (CM_IOCTL_GET_FEATURE_REQUEST = function 3400)", () => {
  assert.equal(scardCtlCode(3400, "linux"), 0x42000d48);
  assert.equal(scardCtlCode(3400, "darwin"), 0x42000d48);
  assert.equal(scardCtlCode(3400, "win32"), 0x00313520);
});
