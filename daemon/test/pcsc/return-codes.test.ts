import { test } from "node:test";
import assert from "node:assert/strict";
import { ERROR_REASONS } from "@passerelle/protocol/errors";
import {
  RETURN_CODES,
  check,
  describeReturnCode,
  normalizeReturnCode,
  pcscError,
  recoveryOf,
  returnCodeOf,
} from "../../src/pcsc/return-codes.ts";
import { isPasserelleError } from "../../src/errors.ts";

test("every entry's retriable flag is its reason's (one truth: protocol/src/errors.ts)", () => {
  for (const [code, entry] of RETURN_CODES) {
    assert.equal(
      entry.retriable,
      ERROR_REASONS[entry.reason].retriable,
      `${entry.name} ${code.toString(16)}`,
    );
  }
});

test("names are unique and match the SCARD_ naming of their range", () => {
  const names = [...RETURN_CODES.values()].map((e) => e.name);
  assert.equal(new Set(names).size, names.length);
  for (const [code, entry] of RETURN_CODES) {
    if (code >= 0x80100000) assert.match(entry.name, /^SCARD_[EFWP]_/);
    else assert.match(entry.name, /^ERROR_/);
  }
});

test("the reasons the contract names for PC/SC failures", () => {
  const reasonOf = (code: number) => describeReturnCode(code).reason;
  assert.equal(reasonOf(0x8010001d), "PCSC_UNAVAILABLE"); // NO_SERVICE
  assert.equal(reasonOf(0x8010001e), "PCSC_UNAVAILABLE"); // SERVICE_STOPPED
  // pcsc-lite: pcscd reset the socket (killed, or polkit said no), whatever the call: not a PIN matter
  assert.equal(reasonOf(0x8010006a), "PCSC_UNAVAILABLE"); // W_SECURITY_VIOLATION
  assert.equal(describeReturnCode(0x8010006a).recovery, "context");
  assert.equal(reasonOf(0x80100009), "NO_READER"); // UNKNOWN_READER
  assert.equal(reasonOf(0x8010002e), "NO_READER"); // NO_READERS_AVAILABLE
  assert.equal(reasonOf(0x8010000c), "NO_CARD"); // NO_SMARTCARD
  assert.equal(reasonOf(0x80100069), "CARD_REMOVED"); // W_REMOVED_CARD
  assert.equal(reasonOf(0x80100068), "CARD_REMOVED"); // W_RESET_CARD
  assert.equal(reasonOf(0x8010000b), "READER_BUSY"); // SHARING_VIOLATION
  assert.equal(reasonOf(0x80100066), "CARD_ERROR"); // W_UNRESPONSIVE_CARD
  assert.equal(reasonOf(0x8010006e), "USER_CANCELLED"); // PIN pad cancel
});

test("LONG is folded to unsigned 32 bits whatever its width (Linux 64-bit, Windows/macOS 32-bit)", () => {
  assert.equal(normalizeReturnCode(0x80100069), 0x80100069);
  assert.equal(normalizeReturnCode(-2146434967), 0x80100069); // int32 on Windows
  assert.equal(normalizeReturnCode(0x80100069n), 0x80100069);
  assert.equal(normalizeReturnCode(-2146434967n), 0x80100069);
  assert.equal(normalizeReturnCode(0), 0);
});

test("pcscError carries the name and code in details, and the recovery", () => {
  const error = pcscError(-2146434967, "SCardTransmit");
  assert.equal(error.reason, "CARD_REMOVED");
  assert.equal(error.retriable, true);
  assert.deepEqual(error.details, { pcsc: "SCARD_W_REMOVED_CARD", returnCode: "0x80100069" });
  assert.match(error.message, /SCardTransmit/);
  assert.equal(returnCodeOf(error), 0x80100069);
  assert.equal(recoveryOf(error), "card");
  assert.equal(recoveryOf(pcscError(0x80100003, "SCardTransmit")), "context");
  assert.equal(recoveryOf(new Error("x")), "none");
});

test("an unknown code is PCSC_UNAVAILABLE with its hex in the name", () => {
  const entry = describeReturnCode(0x80109999);
  assert.equal(entry.reason, "PCSC_UNAVAILABLE");
  assert.equal(entry.name, "UNKNOWN_0x80109999");
});

test("check passes on success and throws the mapped error otherwise", () => {
  check(0, "SCardConnect");
  check(0n, "SCardConnect");
  assert.throws(
    () => check(0x8010000c, "SCardConnect"),
    (error) => isPasserelleError(error, "NO_CARD"),
  );
});
