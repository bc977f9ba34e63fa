/**
 * Both pages tell the user something for every error reason of the protocol (and the SDK's own),
 * and the daemon page has every word in both languages. A reason added to protocol/src/errors.ts
 * without a sentence here fails this test.
 */
import assert from "node:assert/strict";
import path from "node:path";
import { test } from "node:test";
import { pathToFileURL } from "node:url";
import { ERROR_REASON_NAMES } from "@passerelle/protocol/errors";
import { REPO_ROOT } from "../helpers/daemon.ts";

const SDK_REASONS = ["NOT_CONNECTED", "DISCONNECTED", "PROTOCOL_MISMATCH", "RPC_ERROR"];

/** The pages are plain browser modules (no types): load them as such. */
async function load<T>(file: string): Promise<T> {
  return (await import(pathToFileURL(path.join(REPO_ROOT, file)).href)) as T;
}

test("the example EHR page has a message for every reason", async () => {
  const { MESSAGES, messageFor } = await load<{
    MESSAGES: Record<string, string>;
    messageFor(error: unknown): string;
  }>("docs/examples/ehr-page/messages.js");
  for (const reason of [...ERROR_REASON_NAMES, ...SDK_REASONS]) {
    assert.ok(MESSAGES[reason], `docs/examples/ehr-page/messages.js lacks ${reason}`);
    assert.equal(messageFor({ reason }), MESSAGES[reason]);
  }
  assert.equal(messageFor({ reason: "SOMETHING_NEW" }), MESSAGES["RPC_ERROR"]);
  assert.match(messageFor({ reason: "PIN_INCORRECT", data: { triesRemaining: 2 } }), /2/);
});

test("the daemon page has every word and every reason in French and in English", async () => {
  const { STRINGS, REASON_MESSAGES, LANGUAGES, errorMessage } = await load<{
    STRINGS: Record<string, Record<string, string>>;
    REASON_MESSAGES: Record<string, Record<string, string>>;
    LANGUAGES: string[];
    errorMessage(language: string, error: unknown): string;
  }>("daemon/web/i18n.js");
  assert.deepEqual(LANGUAGES, ["fr", "en"]);
  const keys = Object.keys(STRINGS["fr"] ?? {}).sort();
  assert.deepEqual(Object.keys(STRINGS["en"] ?? {}).sort(), keys, "the same keys in both languages");
  for (const language of LANGUAGES) {
    for (const reason of [...ERROR_REASON_NAMES, ...SDK_REASONS, "NOT_AVAILABLE", "INVALID_PARAMS"]) {
      assert.ok(REASON_MESSAGES[language]?.[reason], `daemon/web/i18n.js ${language} lacks ${reason}`);
    }
    // A method this build does not provide (-32601) reads "not available", not an error.
    assert.equal(errorMessage(language, { code: -32601 }), REASON_MESSAGES[language]?.["NOT_AVAILABLE"]);
  }
});

test("every data-i18n key in the daemon's pages exists", async () => {
  const { readFileSync } = await import("node:fs");
  const { STRINGS } = await load<{ STRINGS: Record<string, Record<string, string>> }>("daemon/web/i18n.js");
  for (const file of ["daemon/web/index.html", "daemon/web/pin.html"]) {
    const html = readFileSync(path.join(REPO_ROOT, file), "utf8");
    for (const [, key] of html.matchAll(/data-i18n="([^"]+)"/g)) {
      assert.ok(key && STRINGS["fr"]?.[key] !== undefined, `${file}: unknown key ${key}`);
    }
  }
});
