/** `passerelle insi parse-response FILE` in its own process, on our five CNDA-like samples and bad input. */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SAMPLES, faultDocument } from "../../daemon/test/insi/fixtures.ts";
import { HARNESS, runTs } from "./run.ts";

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "insi-parse-"));
  for (const [name, xml] of Object.entries(SAMPLES)) await writeFile(join(dir, `${name}.xml`), xml);
});
after(() => rm(dir, { recursive: true, force: true }));

const parse = (file: string) => runTs(HARNESS, ["insi", "parse-response", join(dir, file)]);

test("the five samples parse; outcome and identity as JSON on stdout", async () => {
  const expected: Record<string, [string, string | undefined]> = {
    "cr01-no-identity": ["notFound", undefined],
    "history-dates-first": ["found", "1090763220834"],
    "nia-temporary": ["found", "1090763220888"],
    "corsica-history": ["found", "180032B020401"],
    "keys-do-not-verify": ["found", "1810363220456"],
  };
  for (const [name, [outcome, ins]] of Object.entries(expected)) {
    const { code, stdout } = await parse(`${name}.xml`);
    assert.equal(code, 0, name);
    const result = JSON.parse(stdout);
    assert.equal(result.outcome, outcome, name);
    assert.equal(result.identity?.ins.value, ins, name);
    assert.equal(result.messageId, `file:${name}.xml`);
  }
});

test("keys that do not verify: reported in keyValid, exit 0", async () => {
  const { code, stdout } = await parse("keys-do-not-verify.xml");
  assert.equal(code, 0);
  const result = JSON.parse(stdout);
  assert.equal(result.identity.ins.keyValid, false);
  assert.deepEqual(
    result.identity.history.map((h: { keyValid: boolean }) => h.keyValid),
    [false, false],
  );
});

test("a fault: the error and its reason as JSON, exit 1", async () => {
  await writeFile(
    join(dir, "fault.xml"),
    faultDocument({
      value: "env:Sender",
      subcode: "env:siram_100",
      reason: "refus",
      erreur: { code: "desir_550", severite: "erreur", text: "IDAM inconnu" },
    }),
  );
  const { code, stdout } = await parse("fault.xml");
  assert.equal(code, 1);
  const { error } = JSON.parse(stdout);
  assert.equal(error.reason, "INSI_FAULT");
  assert.equal(error.details.faultCode, "desir_550");
});

test("XXE and garbage: INSI_INVALID_RESPONSE as JSON, exit 1; a missing file: exit 2", async () => {
  await writeFile(
    join(dir, "xxe.xml"),
    `<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/hostname">]><x>&e;</x>`,
  );
  await writeFile(join(dir, "garbage.xml"), "\u0000\u0001 not xml");
  for (const file of ["xxe.xml", "garbage.xml"]) {
    const { code, stdout } = await parse(file);
    assert.equal(code, 1, file);
    assert.equal(JSON.parse(stdout).error.reason, "INSI_INVALID_RESPONSE", file);
  }
  const missing = await parse("missing.xml");
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /cannot read/);
});
