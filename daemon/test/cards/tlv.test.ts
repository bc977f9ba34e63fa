import { test } from "node:test";
import assert from "node:assert/strict";
import {
  decodeTlv,
  encodeTlv,
  findTlv,
  tagHex,
  TLV_MAX_DEPTH,
  TLV_MAX_INPUT_BYTES,
  TLV_MAX_OBJECTS,
  type TlvErrorCode,
  type TlvNode,
} from "../../src/cards/tlv.ts";

const hex = (text: string): Uint8Array => Uint8Array.from(Buffer.from(text.replace(/\s+/g, ""), "hex"));
const toHex = (bytes: Uint8Array): string => Buffer.from(bytes).toString("hex").toUpperCase();

function decodeOk(text: string, trailingPadding = false): readonly TlvNode[] {
  const result = decodeTlv(hex(text), { trailingPadding });
  assert.ok(result.ok, `expected success, got ${result.ok ? "" : JSON.stringify(result.error)}`);
  return result.nodes;
}

function decodeFails(
  text: string | Uint8Array,
  code: TlvErrorCode,
  offset?: number,
  trailingPadding = false,
): void {
  const bytes = typeof text === "string" ? hex(text) : text;
  const result = decodeTlv(bytes, { trailingPadding });
  assert.equal(result.ok, false, "expected a failure");
  if (!result.ok) {
    assert.equal(result.error.code, code);
    if (offset !== undefined) assert.equal(result.error.offset, offset);
  }
}

test("a primitive object: tag, value, offset", () => {
  const [node, ...rest] = decodeOk("80 03 41 42 43");
  assert.equal(rest.length, 0);
  assert.ok(node);
  assert.equal(node.tag, 0x80);
  assert.equal(node.constructed, false);
  assert.equal(toHex(node.value), "414243");
  assert.equal(node.offset, 0);
  assert.deepEqual(node.children, []);
});

test("a constructed object with siblings and a nested constructed child", () => {
  // E0 { A0 { 82 01 AA } 80 02 BB CC } then a sibling 66 { 80 00 }
  const nodes = decodeOk("E0 09 A0 03 82 01 AA 80 02 BB CC 66 02 80 00");
  assert.equal(nodes.length, 2);
  const [e0, s66] = nodes;
  assert.ok(e0 && s66);
  assert.equal(e0.constructed, true);
  assert.deepEqual(
    e0.children.map((child) => child.tag),
    [0xa0, 0x80],
  );
  assert.equal(toHex(findTlv(e0.children, 0xa0)?.children[0]?.value ?? new Uint8Array()), "AA");
  assert.equal(s66.offset, 11);
  assert.equal(findTlv(s66.children, 0x80)?.value.length, 0);
});

test("multi-byte tags: 2 and 3 bytes", () => {
  const [cert, pk] = decodeOk("7F21 04 5F37 01 99 9F8101 01 07");
  assert.ok(cert && pk);
  assert.equal(cert.tag, 0x7f21);
  assert.equal(tagHex(cert.tag), "7F21");
  assert.equal(cert.constructed, true);
  assert.equal(cert.children[0]?.tag, 0x5f37);
  assert.equal(pk.tag, 0x9f8101);
  assert.equal(toHex(pk.value), "07");
});

test("long-form lengths 81, 82 and a non-minimal 81 05 (BER allows it)", () => {
  const long = "80 81 80 " + "11".repeat(0x80);
  assert.equal(decodeOk(long)[0]?.value.length, 0x80);
  const longer = "80 82 01 00 " + "22".repeat(0x100);
  assert.equal(decodeOk(longer)[0]?.value.length, 0x100);
  assert.equal(toHex(decodeOk("80 81 02 AB CD")[0]?.value ?? new Uint8Array()), "ABCD");
});

test("empty input decodes to no objects", () => {
  assert.deepEqual(decodeOk(""), []);
});

test("truncated: no length byte, missing long-form length bytes, value cut short", () => {
  decodeFails("80", "TRUNCATED_LENGTH", 0);
  decodeFails("65 05 80 03 41 42", "VALUE_OVERRUN", 0);
  decodeFails("65 03 80 01 41 81", "TRUNCATED_LENGTH", 5);
  decodeFails("80 82 01", "TRUNCATED_LENGTH", 0);
  decodeFails("5F", "TRUNCATED_TAG", 0);
  decodeFails("9F 81", "TRUNCATED_TAG", 0);
  decodeFails("80 05 41 42", "VALUE_OVERRUN", 0);
});

test("overlong: a length that runs past the end of the input", () => {
  decodeFails("65 7F 80 01 41", "VALUE_OVERRUN", 0);
  decodeFails("80 01 41 81 83 00 10 00 00", "VALUE_OVERRUN", 3);
});

test("nested-wrong: a child that runs past its parent, though not past the input", () => {
  // 65 declares 3 bytes, its child 80 declares 4: the child would swallow the sibling 81.
  decodeFails("65 03 80 04 41 42 43 44", "VALUE_OVERRUN", 2);
  // constructed content that is not TLV at all: a length byte is missing inside the parent
  decodeFails("65 01 80 81 01 41", "TRUNCATED_LENGTH", 2);
  // deeper: 65 { A0 { 80 overruns A0 } }
  decodeFails("65 06 A0 02 80 03 41 42", "VALUE_OVERRUN", 4);
});

test("indefinite length is refused", () => {
  decodeFails("65 80 80 01 41 00 00", "INDEFINITE_LENGTH", 0);
  decodeFails("E0 05 A0 80 00 00 00", "INDEFINITE_LENGTH", 2);
});

test("length of more than 3 bytes is refused", () => {
  decodeFails("80 84 00 00 00 01 41", "LENGTH_TOO_LONG", 0);
  decodeFails("80 FF 41", "LENGTH_TOO_LONG", 0);
});

test("invalid tags: 00 and FF first bytes, non-minimal multi-byte tag, 4-byte tag", () => {
  decodeFails("00 01 41", "INVALID_TAG", 0);
  decodeFails("FF 01 41", "INVALID_TAG", 0);
  decodeFails("1F 80 01 01 41", "INVALID_TAG", 0);
  decodeFails("9F 81 82 03 01 41", "TAG_TOO_LONG", 0);
});

test("trailing padding: ignored only when asked, only at the end", () => {
  decodeFails("80 01 41 FF FF 00", "INVALID_TAG", 3);
  const nodes = decodeOk("80 01 41 FF FF 00 FF", true);
  assert.equal(nodes.length, 1);
  assert.deepEqual(decodeOk("FF FF FF", true), []);
  // padding between objects is not trailing padding
  decodeFails("80 01 41 FF 81 01 42", "INVALID_TAG", 3, true);
  // a faulty object before the padding is still reported
  decodeFails("80 05 41 FF FF", "VALUE_OVERRUN", 0, true);
});

test("depth limit: TLV_MAX_DEPTH levels pass, one more fails", () => {
  const nest = (levels: number): Uint8Array => {
    let inner: Uint8Array = encodeTlv(0x80, Uint8Array.of(0x41));
    for (let i = 1; i < levels; i += 1) inner = encodeTlv(0xa0, inner);
    return inner;
  };
  assert.ok(decodeTlv(nest(TLV_MAX_DEPTH)).ok);
  decodeFails(nest(TLV_MAX_DEPTH + 1), "TOO_DEEP");
});

test("size limit and object-count limit", () => {
  decodeFails(new Uint8Array(TLV_MAX_INPUT_BYTES + 1), "TOO_LARGE", 0);
  const many = new Uint8Array((TLV_MAX_OBJECTS + 1) * 2);
  for (let i = 0; i < many.length; i += 2) many[i] = 0x80; // 80 00, repeated
  decodeFails(many, "TOO_MANY_OBJECTS");
  assert.ok(decodeTlv(many.subarray(0, TLV_MAX_OBJECTS * 2)).ok);
});

test("encodeTlv writes minimal lengths and round-trips through decodeTlv", () => {
  assert.equal(toHex(encodeTlv(0x80, hex("4142"))), "80024142");
  assert.equal(toHex(encodeTlv(0x5f37, new Uint8Array(0x80))).slice(0, 10), "5F37818000");
  assert.equal(toHex(encodeTlv(0x80, new Uint8Array(0x100))).slice(0, 8), "80820100");
  const image = encodeTlv(0x65, [encodeTlv(0x80, hex("44")), encodeTlv(0x9f8101, hex("0102"))]);
  assert.equal(toHex(image), "65098001449F8101020102");
  const [node] = decodeOk(toHex(image));
  assert.deepEqual(
    node?.children.map((child) => [tagHex(child.tag), toHex(child.value)]),
    [
      ["80", "44"],
      ["9F8101", "0102"],
    ],
  );
  assert.throws(() => encodeTlv(0, new Uint8Array()), RangeError);
  assert.throws(() => encodeTlv(0x12345678, new Uint8Array()), RangeError);
});
