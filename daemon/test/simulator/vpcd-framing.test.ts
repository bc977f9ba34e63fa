import { test } from "node:test";
import assert from "node:assert/strict";
import { VpcdDecoder, encodeFrame } from "../../src/simulator/vpcd-framing.ts";

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ""), "hex"));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString("hex").toUpperCase();

test("frames: 2-byte big-endian length, then the payload", () => {
  assert.equal(toHex(encodeFrame(hex("9000"))), "00029000");
  assert.equal(toHex(encodeFrame(new Uint8Array())), "0000");
  const atr = hex("3BAC00402A001225006480000310009000");
  assert.equal(toHex(encodeFrame(atr).subarray(0, 2)), "0011");
  assert.equal(encodeFrame(new Uint8Array(0xffff)).length, 0x10001);
  assert.throws(() => encodeFrame(new Uint8Array(0x10000)), RangeError);
});

test("control bytes and APDUs, several frames in one chunk", () => {
  const decoder = new VpcdDecoder();
  const messages = decoder.push(hex("0001 01  0001 04  0005 00A4000C00  0001 02  0001 00"));
  assert.deepEqual(messages, [
    { kind: "control", code: 1 },
    { kind: "control", code: 4 },
    { kind: "apdu", apdu: hex("00A4000C00") },
    { kind: "control", code: 2 },
    { kind: "control", code: 0 },
  ]);
  assert.equal(decoder.pending, 0);
});

test("a frame split across chunks, even inside its length (vpcd sends length and APDU apart)", () => {
  const decoder = new VpcdDecoder();
  assert.deepEqual(decoder.push(hex("00")), []);
  assert.deepEqual(decoder.push(hex("07")), []);
  assert.deepEqual(decoder.push(hex("00A404")), []);
  assert.equal(decoder.pending, 5);
  assert.deepEqual(decoder.push(hex("0C023F00 0001")), [{ kind: "apdu", apdu: hex("00A4040C023F00") }]);
  assert.deepEqual(decoder.push(hex("04")), [{ kind: "control", code: 4 }]);
});

test("an extended APDU longer than 255 bytes", () => {
  const apdu = new Uint8Array(3000).fill(0x5a);
  const decoder = new VpcdDecoder();
  const frame = encodeFrame(apdu);
  assert.deepEqual(decoder.push(frame.subarray(0, 1000)), []);
  assert.deepEqual(decoder.push(frame.subarray(1000)), [{ kind: "apdu", apdu }]);
});

test("a zero-length frame is reported empty, not as an APDU", () => {
  assert.deepEqual(new VpcdDecoder().push(hex("0000")), [{ kind: "empty" }]);
});
