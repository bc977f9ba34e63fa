import { test } from "node:test";
import assert from "node:assert/strict";
import { InsiConfig, insiConfigProblems, insiEndpoint, lpsFor } from "../../src/insi/config.ts";

const lps = { idam: "A1", softwareName: "Ehr", softwareVersion: "1.0" };

test("defaults: timeouts, keep-alive, assertion cache shorter than its validity", () => {
  const config = InsiConfig.parse({ mode: "card" });
  assert.deepEqual(config.timeouts, { connectMs: 5000, responseMs: 20000 });
  assert.equal(config.keepAliveMs, 4000);
  assert.deepEqual(config.assertion, { cacheSeconds: 20, validitySeconds: 300 });
  assert.deepEqual(config.lps, { origins: {} });
  assert.equal(insiEndpoint(config), undefined);
});

test("refused: http endpoints, a cache longer than the validity, unknown keys, bad origins", () => {
  assert.equal(
    InsiConfig.safeParse({ mode: "card", endpoints: { card: "http://insi.example/lps" } }).success,
    false,
  );
  assert.equal(
    InsiConfig.safeParse({ mode: "card", assertion: { cacheSeconds: 400, validitySeconds: 300 } }).success,
    false,
  );
  assert.equal(InsiConfig.safeParse({ mode: "card", endpoint: "https://x" }).success, false);
  assert.equal(
    InsiConfig.safeParse({ mode: "card", lps: { origins: { "ehr.example": lps } } }).success,
    false,
  );
  assert.equal(
    InsiConfig.safeParse({ mode: "card", lps: { default: { ...lps, softwareName: "a:b" } } }).success,
    false,
  );
});

test("the LPS identity per origin, with the machine default", () => {
  const config = InsiConfig.parse({
    mode: "organisation",
    lps: { default: lps, origins: { "https://pharma.example": { ...lps, idam: "B2" } } },
  });
  assert.equal(lpsFor(config, "https://pharma.example")?.idam, "B2");
  assert.equal(lpsFor(config, "https://ehr.example")?.idam, "A1");
  const noDefault = InsiConfig.parse({
    mode: "organisation",
    lps: { origins: { "https://pharma.example": lps } },
  });
  assert.equal(lpsFor(noDefault, "https://ehr.example"), undefined);
});

test("doctor: what is missing", () => {
  assert.equal(insiConfigProblems(undefined).length, 1);
  const bare = insiConfigProblems(InsiConfig.parse({ mode: "organisation" }));
  assert.deepEqual(
    bare.map((p) => p.split(":")[0]),
    ["insi.endpoints.organisation", "insi.organisation.pkcs12Path", "insi.caBundlePath", "insi.lps"],
  );
  const env = `PASSERELLE_TEST_UNSET_${process.pid}`;
  const complete = InsiConfig.parse({
    mode: "organisation",
    endpoints: { organisation: "https://insi.example/lps" },
    organisation: { pkcs12Path: "/x.p12", passphraseEnv: env },
    caBundlePath: "/ca.pem",
    lps: { default: lps },
  });
  assert.deepEqual(
    insiConfigProblems(complete).map((p) => p.split(":")[0]),
    ["insi.organisation.passphraseEnv"],
  );
  process.env[env] = "secret";
  try {
    assert.deepEqual(insiConfigProblems(complete), []);
  } finally {
    delete process.env[env];
  }
});
