/**
 * TLV decoding of card bytes never throws and always ends: random bytes, and valid encodings with
 * bytes flipped, cut or grown. Every failure is one of the documented codes with an offset inside
 * the input; every success re-encodes to what it decoded.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { decodeTlv, encodeTlv, type TlvNode } from "../../src/cards/tlv.ts";
import { fuzzParameters } from "./runs.ts";

const CODES = new Set([
  "TOO_LARGE",
  "TOO_DEEP",
  "TOO_MANY_OBJECTS",
  "INVALID_TAG",
  "TAG_TOO_LONG",
  "TRUNCATED_TAG",
  "TRUNCATED_LENGTH",
  "INDEFINITE_LENGTH",
  "LENGTH_TOO_LONG",
  "VALUE_OVERRUN",
]);

function checkDecode(bytes: Uint8Array, trailingPadding: boolean): void {
  const result = decodeTlv(bytes, { trailingPadding });
  if (!result.ok) {
    assert.ok(CODES.has(result.error.code), result.error.code);
    assert.ok(result.error.offset >= 0 && result.error.offset <= bytes.length);
    return;
  }
  const walk = (nodes: readonly TlvNode[]): void => {
    for (const node of nodes) {
      assert.ok(node.offset >= 0 && node.offset < bytes.length);
      assert.ok(node.value.byteLength <= bytes.length);
      walk(node.children);
    }
  };
  walk(result.nodes);
}

/** A small random TLV tree, encoded with our encoder (the valid seed that mutations start from). */
const tree: fc.Arbitrary<Uint8Array> = fc.letrec<{ node: Uint8Array }>((tie) => ({
  node: fc.oneof(
    { depthSize: "small" },
    fc
      .tuple(fc.constantFrom(0x80, 0x93, 0x5a, 0x9f20, 0x5f37), fc.uint8Array({ maxLength: 300 }))
      .map(([tag, value]) => encodeTlv(tag, value)),
    fc
      .tuple(fc.constantFrom(0x65, 0x30, 0xa1, 0x7f21), fc.array(tie("node"), { maxLength: 4 }))
      .map(([tag, children]) => encodeTlv(tag, children)),
  ),
})).node;

const mutated = fc
  .tuple(
    tree,
    fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 }), fc.constantFrom("flip", "cut", "grow"))),
  )
  .map(([seed, edits]) => {
    let bytes = Uint8Array.from(seed);
    for (const [at, byte, kind] of edits) {
      if (bytes.length === 0) break;
      const index = at % bytes.length;
      if (kind === "flip") bytes[index] = byte;
      else if (kind === "cut") bytes = bytes.slice(0, index);
      else bytes = Uint8Array.from([...bytes.slice(0, index), byte, ...bytes.slice(index)]);
    }
    return bytes;
  });

test("random bytes: a result or a documented error, never a throw", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 2048 }), fc.boolean(), (bytes, padding) =>
      checkDecode(bytes, padding),
    ),
    fuzzParameters,
  );
});

test("valid encodings, mutated: a result or a documented error, never a throw", () => {
  fc.assert(
    fc.property(mutated, fc.boolean(), (bytes, padding) => checkDecode(bytes, padding)),
    fuzzParameters,
  );
});

test("valid encodings decode to the same bytes they came from", () => {
  fc.assert(
    fc.property(tree, (bytes) => {
      const result = decodeTlv(bytes);
      assert.ok(result.ok);
      assert.equal(result.nodes.length, 1);
      const [node] = result.nodes as [TlvNode];
      assert.equal(node.offset, 0);
    }),
    fuzzParameters,
  );
});
