import { test } from "node:test";
import assert from "node:assert/strict";
import {
  chainCommand,
  decodeResponse,
  encodeCommand,
  getResponseCommand,
  parseAtr,
} from "../../src/pcsc/apdu-codec.ts";
import { isPasserelleError } from "../../src/errors.ts";

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ""), "hex"));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString("hex").toUpperCase();

test("short encodings of the four ISO cases", () => {
  assert.equal(toHex(encodeCommand({ cla: 0x00, ins: 0xa4, p1: 0x04, p2: 0x0c })), "00A4040C");
  assert.equal(toHex(encodeCommand({ cla: 0x00, ins: 0xb0, p1: 0, p2: 0, le: 256 })), "00B0000000");
  assert.equal(toHex(encodeCommand({ cla: 0x00, ins: 0xb0, p1: 0, p2: 0, le: 0x12 })), "00B0000012");
  assert.equal(
    toHex(encodeCommand({ cla: 0x00, ins: 0xa4, p1: 0, p2: 0x0c, data: hex("3F00") })),
    "00A4000C023F00",
  );
  assert.equal(
    toHex(encodeCommand({ cla: 0x00, ins: 0x88, p1: 0, p2: 0, data: hex("0102"), le: 256 })),
    "0088000002010200",
  );
});

test("extended encodings: case 2E, 3E, 4E, Le 65536 as 0000", () => {
  assert.equal(toHex(encodeCommand({ cla: 0, ins: 0xb0, p1: 0, p2: 0, le: 0x0400 })), "00B00000000400");
  assert.equal(toHex(encodeCommand({ cla: 0, ins: 0xb0, p1: 0, p2: 0, le: 65536 })), "00B00000000000");
  const data = new Uint8Array(300).fill(0xab);
  const case3 = encodeCommand({ cla: 0, ins: 0xd6, p1: 0, p2: 0, data });
  assert.equal(toHex(case3.subarray(0, 7)), "00D6000000012C");
  assert.equal(case3.length, 7 + 300);
  const case4 = encodeCommand({ cla: 0, ins: 0x2a, p1: 0x80, p2: 0x86, data, le: 65536 });
  assert.equal(toHex(case4.subarray(0, 7)), "002A808600012C");
  assert.equal(toHex(case4.subarray(-2)), "0000");
  // A small command can be forced into the extended form.
  assert.equal(
    toHex(encodeCommand({ cla: 0, ins: 0xca, p1: 0, p2: 0, data: hex("01"), le: 2 }, "extended")),
    "00CA0000000001010002",
  );
});

test("invalid commands are driver bugs: RangeError", () => {
  assert.throws(() => encodeCommand({ cla: 0x100, ins: 0, p1: 0, p2: 0 }), RangeError);
  assert.throws(() => encodeCommand({ cla: 0, ins: 0, p1: 0, p2: 0, le: 0 }), RangeError);
  assert.throws(() => encodeCommand({ cla: 0, ins: 0, p1: 0, p2: 0, le: 65537 }), RangeError);
  assert.throws(() => encodeCommand({ cla: 0xff, ins: 0, p1: 0, p2: 0 }), RangeError);
  assert.throws(() => encodeCommand({ cla: 0, ins: 0, p1: 0, p2: 0, le: 257 }, "short"), RangeError);
  assert.throws(
    () => encodeCommand({ cla: 0, ins: 0, p1: 0, p2: 0, data: new Uint8Array(65536) }),
    RangeError,
  );
});

test("command chaining splits data into 255-byte parts with CLA b5 on all but the last", () => {
  const data = Uint8Array.from({ length: 600 }, (_, i) => i & 0xff);
  const parts = chainCommand({ cla: 0x00, ins: 0x2a, p1: 0x80, p2: 0x86, data, le: 256 });
  assert.equal(parts.length, 3);
  assert.deepEqual(
    parts.map((p) => [p.cla, p.data?.length, p.le]),
    [
      [0x10, 255, undefined],
      [0x10, 255, undefined],
      [0x00, 90, 256],
    ],
  );
  assert.equal(toHex(encodeCommand(parts[0]!).subarray(0, 5)), "102A8086FF");
  assert.deepEqual(Uint8Array.from(parts.flatMap((p) => [...(p.data ?? [])])), data);
  // Short enough: unchanged.
  assert.equal(chainCommand({ cla: 0, ins: 1, p1: 0, p2: 0, data: new Uint8Array(255) }).length, 1);
});

test("GET RESPONSE keeps the class without the chaining bit; 00 means 256", () => {
  assert.deepEqual(getResponseCommand(0x10, 0x20), { cla: 0x00, ins: 0xc0, p1: 0, p2: 0, le: 0x20 });
  assert.deepEqual(getResponseCommand(0xa0, 0x00), { cla: 0xa0, ins: 0xc0, p1: 0, p2: 0, le: 256 });
});

test("responses are length-checked: fewer than two bytes, or no valid SW1, is CARD_ERROR", () => {
  assert.deepEqual(decodeResponse(hex("CAFE9000")), { data: hex("CAFE"), sw: 0x9000 });
  assert.deepEqual(decodeResponse(hex("6A82")), { data: new Uint8Array(), sw: 0x6a82 });
  for (const garbage of ["", "90", "CAFE", "0000", "6000", "A000", "CAFEBABE"]) {
    assert.throws(
      () => decodeResponse(hex(garbage)),
      (error) => isPasserelleError(error, "CARD_ERROR"),
      garbage,
    );
  }
  assert.throws(
    () => decodeResponse(new Uint8Array(65539)),
    (error) => isPasserelleError(error, "CARD_ERROR"),
  );
});

test("ATR parsing: protocols, historical bytes, card capabilities", () => {
  const cps3 = parseAtr(hex("3BAC00402A001225006480000310009000"));
  assert.ok(cps3);
  assert.deepEqual(cps3.protocols, [0]);
  assert.equal(toHex(cps3.historicalBytes), "001225006480000310009000");
  assert.equal(cps3.extendedLength, false);

  const echo = parseAtr(hex("3B8581018073C021C0D7"));
  assert.ok(echo);
  assert.deepEqual(echo.protocols, [1]);
  assert.equal(echo.extendedLength, true);
  assert.equal(echo.commandChaining, true);

  const vitale2 = parseAtr(hex("3B751300004709EA9000"));
  assert.ok(vitale2);
  assert.deepEqual(vitale2.protocols, [0]);
  assert.equal(toHex(vitale2.historicalBytes), "4709EA9000");

  const contactless = parseAtr(hex("3B8F80010031B86404B0ECC1739401808290000E"));
  assert.ok(contactless);
  assert.deepEqual(contactless.protocols, [0, 1]);

  assert.equal(parseAtr(hex("")), undefined);
  assert.equal(parseAtr(hex("12")), undefined);
  assert.equal(parseAtr(hex("3B8F80")), undefined); // truncated
  assert.equal(parseAtr(hex("3B0A0102")), undefined); // K=10 but only 2 historical bytes
});
