import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { ERROR_REASONS, METHODS, isSelfOnly } from "../src/index.ts";
import { protocolJsonSchemaText } from "../src/json-schema.ts";

test("docs/protocol.schema.json is exactly what the zod schemas generate (run `npm run schema`)", () => {
  const committed = readFileSync(new URL("../../docs/protocol.schema.json", import.meta.url), "utf8");
  assert.equal(committed, protocolJsonSchemaText());
});

test("every contract method is in the table, with its pre-access flag", () => {
  const preAccess = Object.entries(METHODS)
    .filter(([, m]) => m.preAccess)
    .map(([name]) => name)
    .sort();
  assert.deepEqual(preAccess, ["access.request", "system.hello", "system.ping"]);
  const contract = Object.keys(METHODS).filter((name) => !isSelfOnly(name as keyof typeof METHODS));
  assert.equal(contract.length, 11);
});

test("error codes are unique and in the application range", () => {
  const codes = Object.values(ERROR_REASONS).map((entry) => entry.code);
  assert.equal(new Set(codes).size, codes.length);
  for (const code of codes) assert.ok(code <= -32000 && code >= -32099, String(code));
});

test("docs/protocol.md lists every error reason with its code, and every method", () => {
  const doc = readFileSync(new URL("../../docs/protocol.md", import.meta.url), "utf8");
  for (const [reason, entry] of Object.entries(ERROR_REASONS)) {
    const row = new RegExp(`\\| ${entry.code} \\| ${reason} \\| ${entry.retriable ? "yes" : "no"} \\|`);
    assert.match(doc, row, `${reason} missing or wrong in docs/protocol.md`);
  }
  for (const method of Object.keys(METHODS)) assert.ok(doc.includes(`\`${method}\``), `${method} missing`);
});
