/**
 * Parsing INSi's answers, fed the CNDA-shaped samples (daemon/test/insi/fixtures.ts) mutated: bytes
 * changed, cut, elements duplicated or dropped, random text and markup spliced in. Never a throw
 * that is not a typed PasserelleError with one of the INSi reasons, never a hang.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { isPasserelleError } from "../../src/errors.ts";
import { parseInsiResponse } from "../../src/insi/response.ts";
import { faultDocument, SAMPLES } from "../insi/fixtures.ts";
import { fuzzParameters } from "./runs.ts";

const META = { messageId: "uuid:fuzz", receivedAt: "2026-01-01T00:00:00Z" };
const REASONS = new Set(["INSI_INVALID_RESPONSE", "INSI_FAULT", "INSI_UNAVAILABLE"]);
const seeds = [
  ...Object.values(SAMPLES),
  faultDocument({
    value: "soap:Receiver",
    reason: "Erreur de traitement",
    erreur: { code: "desir_550", severite: "fatal", text: "Erreur" },
  }),
];
const FRAGMENTS = [
  "<",
  ">",
  "</",
  "/>",
  "&amp;",
  "&#0;",
  "&#x110000;",
  "<!DOCTYPE x>",
  "<![CDATA[x]]>",
  "<?pi x?>",
  "<!-- c -->",
  ' xmlns="urn:x"',
  ' xmlns:soap="urn:y"',
  "<CR>99</CR>",
  "<CR>00</CR>",
  "\u0000",
  "\uFFFE",
  "é",
  "💥",
];

const mutatedSample = fc
  .tuple(
    fc.constantFrom(...seeds),
    fc.array(
      fc.tuple(
        fc.nat(),
        fc.nat(),
        fc.constantFrom("char", "cut", "splice", "duplicate", "drop"),
        fc.oneof(fc.constantFrom(...FRAGMENTS), fc.string({ maxLength: 8 })),
      ),
      { minLength: 1, maxLength: 6 },
    ),
  )
  .map(([seed, edits]) => {
    let text = seed;
    for (const [a, b, kind, fragment] of edits) {
      if (text.length === 0) break;
      const at = a % text.length;
      const end = Math.min(text.length, at + (b % 200));
      if (kind === "char") text = text.slice(0, at) + fragment.slice(0, 1) + text.slice(at + 1);
      else if (kind === "cut") text = text.slice(0, at);
      else if (kind === "splice") text = text.slice(0, at) + fragment + text.slice(at);
      else if (kind === "duplicate") text = text.slice(0, end) + text.slice(at, end) + text.slice(end);
      else text = text.slice(0, at) + text.slice(end);
    }
    return text;
  });

function parsesOrFailsTyped(xml: string): void {
  try {
    parseInsiResponse(xml, META);
  } catch (error) {
    assert.ok(isPasserelleError(error), `untyped: ${String(error)}`);
    assert.ok(REASONS.has(error.reason), error.reason);
    // Details name codes and elements, never the response's content (it carries identities).
    assert.ok(JSON.stringify(error.details).length < 2000);
  }
}

test("mutated INSi samples: a result or a typed INSi error, never anything else", () => {
  fc.assert(fc.property(mutatedSample, parsesOrFailsTyped), fuzzParameters);
});

test("random text and markup-ish strings: a typed INSi error, never anything else", () => {
  fc.assert(
    fc.property(
      fc.oneof(
        fc.string({ maxLength: 500 }),
        fc
          .array(fc.constantFrom(...FRAGMENTS, "<a>", "</a>", "text"), { maxLength: 60 })
          .map((parts) => parts.join("")),
      ),
      parsesOrFailsTyped,
    ),
    fuzzParameters,
  );
});
