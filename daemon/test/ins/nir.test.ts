import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { isNirKeyValid, isNirShape, nirKey, nirStructure } from "../../src/ins/nir.ts";

// Matricules of public INSi test identities, with the keys the service returned.
const KNOWN: ReadonlyArray<readonly [string, string]> = [
  ["2751263220749", "74"],
  ["297022A020778", "78"],
  ["160012B020777", "13"],
  ["180032B020401", "23"],
  ["1090763220834", "89"],
  ["1090763220888", "35"],
];

test("the key of known matricules, Corsican and NIA included", () => {
  for (const [value, key] of KNOWN) assert.equal(nirKey(value), key, value);
});

test("2A and 2B are replaced by 19 and 18 before the modulo", () => {
  // Same digits as the 19/18 form: the key must be the same.
  assert.equal(nirKey("297022A020778"), nirKey("2970219020778"));
  assert.equal(nirKey("160012B020777"), nirKey("1600118020777"));
});

test("a key that does not verify is reported as false, not thrown", () => {
  assert.equal(isNirKeyValid("1810363220456", "60"), false);
  assert.equal(isNirKeyValid("1810363220456", "76"), true);
  assert.equal(isNirKeyValid("181036322045", "76"), false);
  assert.equal(isNirKeyValid("1810363220456", "7"), false);
});

test("shape: a letter only as the B/A of 2A/2B at position 7", () => {
  assert.equal(isNirShape("297022A020778"), true);
  assert.equal(isNirShape("297023A020778"), false);
  assert.equal(isNirShape("29702AA020778"), false);
  assert.equal(isNirShape("2970222C20778"), false);
  assert.throws(() => nirKey("12345"), RangeError);
});

test("structure of a NIR, born abroad", () => {
  assert.deepEqual(nirStructure("1850799123045"), {
    sexDigit: "1",
    birthYear: "85",
    birthMonth: "07",
    birthPlace: "99123",
    order: "045",
    bornAbroad: true,
  });
  assert.equal(nirStructure("abc"), undefined);
});

const digits = (n: number) =>
  fc.array(fc.integer({ min: 0, max: 9 }), { minLength: n, maxLength: n }).map((d) => d.join(""));
const nirArb = fc.oneof(
  digits(13),
  fc.tuple(digits(5), fc.constantFrom("2A", "2B"), digits(6)).map(([a, b, c]) => a + b + c),
);

test("property: the key is two digits in 01..97 and always verifies", () => {
  fc.assert(
    fc.property(nirArb, (value) => {
      const key = nirKey(value);
      assert.match(key, /^[0-9]{2}$/);
      assert.ok(Number(key) >= 1 && Number(key) <= 97);
      assert.ok(isNirKeyValid(value, key));
    }),
  );
});

test("property: N + key is a multiple of 97", () => {
  fc.assert(
    fc.property(digits(13), (value) => {
      // N + key ≡ 0 (mod 97): the arithmetic checked with BigInt, independently of the implementation.
      assert.equal((BigInt(value) + BigInt(nirKey(value))) % 97n, 0n);
    }),
  );
});

test("property: changing one digit changes the key", () => {
  fc.assert(
    fc.property(
      digits(13),
      fc.integer({ min: 0, max: 12 }),
      fc.integer({ min: 1, max: 9 }),
      (value, position, delta) => {
        const digit = (Number(value[position]) + delta) % 10;
        const altered = value.slice(0, position) + String(digit) + value.slice(position + 1);
        assert.notEqual(nirKey(altered), nirKey(value));
      },
    ),
  );
});
