import { test } from "node:test";
import assert from "node:assert/strict";
import { chooseReader, readersToChooseFrom } from "../../src/cards/choose-reader.ts";
import { NoReaders, type ReaderState } from "../../src/pcsc/readers.ts";
import { InvalidParamsError, isPasserelleError, type ErrorReason } from "../../src/errors.ts";

const hex = (text: string): Uint8Array => Uint8Array.from(Buffer.from(text.replace(/\s+/g, ""), "hex"));
const VITALE2 = hex("3B 75 13 00 00 44 09 EA 90 00");
const VITALE1 = hex("3F 65 25 00 2C 09 69 90 00");
const CPS3 = hex("3B AC 00 40 2A 00 12 25 00 64 80 00 03 10 00 90 00");
const OTHER = hex("3B 02 14 50");

function reader(id: string, atr?: Uint8Array): ReaderState {
  return atr === undefined
    ? { id, name: id, cardPresent: false, insertion: 0 }
    : { id, name: id, cardPresent: true, atr, insertion: 1 };
}

function fails(
  run: () => unknown,
  reason: ErrorReason,
  check?: (details: Readonly<Record<string, unknown>>, message: string) => void,
): void {
  assert.throws(run, (error) => {
    assert.ok(isPasserelleError(error, reason), `expected ${reason}, got ${String(error)}`);
    check?.(error.details, error.message);
    return true;
  });
}

test("the one reader with the wanted card, next to a CPS in the other slot", () => {
  const readers = [reader("Slot 00 00", CPS3), reader("Slot 00 01", VITALE2)];
  assert.equal(chooseReader(readers, "vitale"), "Slot 00 01");
  assert.equal(chooseReader(readers, "cps"), "Slot 00 00");
});

test("two Vitale cards: readerId required, both readers named in the error", () => {
  const readers = [reader("Slot 00 00", VITALE2), reader("Slot 00 01", VITALE1), reader("Other 00 00")];
  assert.throws(
    () => chooseReader(readers, "vitale"),
    (error) =>
      error instanceof InvalidParamsError &&
      error.issues.length === 1 &&
      error.issues[0]?.path === "readerId" &&
      /^required: 2 readers .*"Slot 00 00".*"Slot 00 01"/.test(error.issues[0].message),
  );
  assert.equal(chooseReader(readers, "vitale", "Slot 00 01"), "Slot 00 01");
});

test("an explicit readerId: unknown reader, empty reader", () => {
  const readers = [reader("Slot 00 00", VITALE2), reader("Slot 00 01")];
  fails(
    () => chooseReader(readers, "vitale", "Nope"),
    "NO_READER",
    (details) => assert.equal(details["readerId"], "Nope"),
  );
  fails(() => chooseReader(readers, "vitale", "Slot 00 01"), "NO_CARD");
  // the type is the driver's business once the reader is named
  assert.equal(chooseReader([reader("Slot 00 00", CPS3)], "vitale", "Slot 00 00"), "Slot 00 00");
});

test("no wanted card: an unknown card is tried, else WRONG_CARD, NO_CARD, NO_READER", () => {
  assert.equal(chooseReader([reader("A", CPS3), reader("B", OTHER)], "vitale"), "B");
  assert.throws(
    () => chooseReader([reader("A", OTHER), reader("B", OTHER)], "vitale"),
    (error) => error instanceof InvalidParamsError && error.issues[0]?.path === "readerId",
  );
  fails(() => chooseReader([reader("A", CPS3), reader("B")], "vitale"), "WRONG_CARD");
  fails(() => chooseReader([reader("A"), reader("B")], "vitale"), "NO_CARD");
  fails(() => chooseReader([], "cps"), "NO_READER");
});

test("a custom classifier is honoured", () => {
  const readers = [reader("A", OTHER)];
  assert.equal(
    chooseReader(readers, "cps", undefined, () => "cps"),
    "A",
  );
});

test("while the PC/SC service is down the card methods say PCSC_UNAVAILABLE, not NO_READER", () => {
  const down = new NoReaders();
  fails(() => chooseReader(readersToChooseFrom(down), "cps"), "PCSC_UNAVAILABLE");
  fails(() => chooseReader(readersToChooseFrom(down), "vitale", "Reader 0"), "PCSC_UNAVAILABLE");
  const up = { available: true, list: () => [reader("Reader 0", CPS3)] };
  assert.equal(chooseReader(readersToChooseFrom(up), "cps"), "Reader 0");
  fails(() => chooseReader(readersToChooseFrom({ available: true, list: () => [] }), "cps"), "NO_READER");
});
