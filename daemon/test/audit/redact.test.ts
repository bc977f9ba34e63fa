import assert from "node:assert/strict";
import { readFileSync, readdirSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { test } from "node:test";
import { createLogger } from "../../src/audit/logger.ts";
import { REDACTED, redact, redactString } from "../../src/audit/redact.ts";

// Personal data that must never reach a log file (test identities, not real people).
const NIR = "2 84 05 2A 123 456 78";
const NIR_COMPACT = "184127645108946";
const NIA = "3800176123456";
const ID_NAT = "810002813839";
const BIRTH_DATE = "1984-05-17";
const BIRTH_DATE_COMPACT = "19840517";
const LAST_NAME = "DUPONTEL";
const FIRST_NAME = "MARIE-ANNICK";
const PIN = "4821";
const SECRETS = [
  NIR,
  NIR_COMPACT,
  NIA,
  ID_NAT,
  BIRTH_DATE,
  BIRTH_DATE_COMPACT,
  LAST_NAME,
  FIRST_NAME,
  PIN,
  "123 456",
];

test("shapes: NIR, NIA, long identifiers and dates are masked inside free text", () => {
  const text = redactString(
    `patient ${NIR} / ${NIR_COMPACT} / ${NIA} born ${BIRTH_DATE} (${BIRTH_DATE_COMPACT}) by ${ID_NAT}, 15/03/1987`,
  );
  for (const secret of [NIR, NIR_COMPACT, NIA, BIRTH_DATE, BIRTH_DATE_COMPACT, ID_NAT, "15/03/1987"]) {
    assert.ok(!text.includes(secret), `${secret} leaked in: ${text}`);
  }
  assert.equal(
    redactString("reader Virtual PCD 00 01, status 9000, port 9712"),
    "reader Virtual PCD 00 01, status 9000, port 9712",
  );
});

test("fields: known personal fields are masked whole, at any depth, without touching the input", () => {
  const input = {
    method: "insi.searchByTraits",
    params: { birthName: LAST_NAME, firstNames: [FIRST_NAME], birthDate: BIRTH_DATE, sex: "F" },
    holder: { idNat: ID_NAT },
    pin: PIN,
    nested: [{ beneficiaries: [{ nir: NIR }] }],
  };
  const copy = structuredClone(input);
  const out = redact(input) as typeof input;
  assert.deepEqual(input, copy, "input unchanged");
  assert.equal(out.params.birthName, REDACTED);
  assert.equal(out.params.firstNames as unknown, REDACTED);
  assert.equal(out.params.sex, "F");
  assert.equal(out.holder as unknown, REDACTED);
  assert.equal(out.pin, REDACTED);
  assert.equal(out.method, "insi.searchByTraits");
  assert.equal(JSON.stringify(out).includes(LAST_NAME), false);
});

test("the log file never holds personal data, whatever way it is logged", async () => {
  const logDir = mkdtempSync(path.join(tmpdir(), "passerelle-log-"));
  const logger = createLogger({ level: "debug", logDir, console: false });
  // Names cannot be recognised inside free text: the rule is that code passes them as fields
  // (masked by name); numbers and dates are masked even inside free text (masked by shape).
  logger.info(`search born ${BIRTH_DATE}, NIR ${NIR}`, { birthName: LAST_NAME, firstNames: [FIRST_NAME] });
  logger.warn("pin entered", { pin: PIN, origin: "https://ehr.example.fr" });
  logger.error("card error", { error: new Error(`idNat ${ID_NAT} failed with NIR ${NIR_COMPACT}`) });
  logger.debug("traits", {
    traits: { lastName: LAST_NAME, birthDate: BIRTH_DATE_COMPACT },
    nia: NIA,
    note: `${NIA}`,
  });
  logger.info("vitale", { beneficiaries: [{ nir: NIR, firstName: FIRST_NAME }], count: 1 });
  await logger.close();
  const files = readdirSync(logDir).filter((name) => name.endsWith(".log"));
  assert.equal(files.length, 1);
  const content = readFileSync(path.join(logDir, files[0] as string), "utf8");
  assert.equal(content.trim().split("\n").length, 5, "every entry was written");
  for (const secret of SECRETS)
    assert.ok(!content.includes(secret), `"${secret}" reached the log file:\n${content}`);
  assert.ok(content.includes("https://ehr.example.fr"), "operational fields are kept");
});
