/**
 * Both pages tell the user something for every error reason of the protocol (and the SDK's own),
 * and both have every word in French and in English (the example EHR page: through i18n.js only). A reason added to protocol/src/errors.ts
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

test("the example EHR page has every word and every reason in French and in English", async () => {
  const { REASON_MESSAGES, messageFor } = await load<{
    REASON_MESSAGES: Record<string, Record<string, string>>;
    messageFor(error: unknown, language?: string): string;
  }>("docs/examples/ehr-page/messages.js");
  const { STRINGS, LANGUAGES } = await load<{
    STRINGS: Record<string, Record<string, string>>;
    LANGUAGES: string[];
  }>("docs/examples/ehr-page/i18n.js");
  assert.deepEqual(LANGUAGES, ["fr", "en"]);
  const keys = Object.keys(STRINGS["fr"] ?? {}).sort();
  assert.deepEqual(Object.keys(STRINGS["en"] ?? {}).sort(), keys, "the same keys in both languages");
  for (const language of LANGUAGES) {
    for (const key of keys) assert.ok(STRINGS[language]?.[key], `i18n.js ${language}: ${key} is empty`);
    for (const reason of [...ERROR_REASON_NAMES, ...SDK_REASONS]) {
      assert.ok(REASON_MESSAGES[language]?.[reason], `messages.js ${language} lacks ${reason}`);
      assert.equal(messageFor({ reason }, language), REASON_MESSAGES[language]?.[reason]);
    }
  }
  assert.match(messageFor({ reason: "PIN_INCORRECT", data: { triesRemaining: 2 } }, "en"), /Tries left: 2/);
});

test("the example EHR page says nothing but through i18n.js", async () => {
  const { readFileSync } = await import("node:fs");
  const { STRINGS } = await load<{ STRINGS: Record<string, Record<string, string>> }>(
    "docs/examples/ehr-page/i18n.js",
  );
  const html = readFileSync(path.join(REPO_ROOT, "docs/examples/ehr-page/index.html"), "utf8");
  for (const [, key] of html.matchAll(/data-i18n="([^"]+)"/g))
    assert.ok(key && STRINGS["fr"]?.[key] !== undefined, `index.html: unknown key ${key}`);
  // Every element of the page with words of its own is translated, or filled in by app.js.
  const body = html.replace(/<script[\s\S]*?<\/script>/g, "").replace(/<!--[\s\S]*?-->/g, "");
  for (const [, tag, attributes, text] of body.matchAll(/<(\w+)([^>]*)>([^<]+)</g)) {
    if (!text?.trim() || tag === "title" || /data-i18n=|id="/.test(attributes ?? "")) continue;
    if (/^MonDossierPatient$|^English$/.test(text.trim())) continue; // the product's name, the switch
    assert.fail(`index.html: <${tag}> says "${text.trim()}" without data-i18n`);
  }
  const app = readFileSync(path.join(REPO_ROOT, "docs/examples/ehr-page/app.js"), "utf8");
  for (const [, key] of app.matchAll(/\bt\("([^"]+)"/g))
    assert.ok(key && STRINGS["fr"]?.[key] !== undefined, `app.js: unknown key ${key}`);
  // No sentence written in app.js itself: its code (comments aside) holds no French text.
  const code = app.replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
  for (const [literal] of code.matchAll(/(["'`])(?:(?!\1)[^\\\n]|\\.)*\1/g))
    assert.doesNotMatch(
      literal,
      /[éèêàùçôî]|\b(?:le|la|les|de|du|votre|carte)\b /i,
      `app.js says ${literal} itself`,
    );
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
