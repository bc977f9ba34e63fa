import assert from "node:assert/strict";
import { test } from "node:test";
import { PasserelleError } from "../../src/errors.ts";
import { errorFromThrown, parseFrame, validateParams } from "../../src/server/rpc.ts";

test("parseFrame: the request shapes and their errors", () => {
  assert.deepEqual(parseFrame('{"jsonrpc":"2.0","id":"a","method":"system.ping"}'), {
    kind: "request",
    id: "a",
    method: "system.ping",
    params: {},
  });
  const code = (text: string) => {
    const frame = parseFrame(text);
    return frame.kind === "error" ? (frame.response?.error?.code ?? "no response") : "request";
  };
  assert.equal(code("{"), -32700);
  assert.equal(code(""), -32700);
  assert.equal(code("null"), -32600);
  assert.equal(code("[]"), -32600);
  assert.equal(code('{"jsonrpc":"2.0","id":{},"method":"system.ping"}'), -32600);
  assert.equal(code('{"jsonrpc":"2.0","id":1,"method":"x.y"}'), -32601);
  assert.equal(code('{"jsonrpc":"2.0","method":"x.y"}'), "no response");
  assert.equal(code('{"jsonrpc":"2.0","id":1,"method":"system.ping","extra":1}'), -32600);
});

test("parseFrame keeps the id of an invalid request when it can", () => {
  const frame = parseFrame('{"jsonrpc":"1.0","id":7,"method":"system.ping"}');
  assert.equal(frame.kind === "error" && frame.response?.id, 7);
});

test("validateParams lists each bad field by path", () => {
  const result = validateParams("cps.verifyPin", { pin: "12a4", confirmLastTry: "yes", other: 1 });
  assert.equal(result.ok, false);
  if (result.ok) return;
  const issues = result.error.data?.["issues"] as Array<{ path: string }>;
  assert.deepEqual(issues.map((i) => i.path).sort(), ["confirmLastTry", "other", "pin"]);
});

test("errors: typed errors keep their reason; anything else is a bare -32603", () => {
  const typed = errorFromThrown(new PasserelleError("NO_CARD", "no card in Reader 0", { readerId: "r0" }));
  assert.deepEqual(typed.error, {
    code: -32012,
    message: "no card in Reader 0",
    data: { readerId: "r0", reason: "NO_CARD", retriable: true },
  });
  const internal = errorFromThrown(new Error("DUPONT Jean 1 80 01 75 123 456 crashed"));
  assert.deepEqual(internal.error, { code: -32603, message: "internal error" });
  assert.equal(internal.internal, true);
});
