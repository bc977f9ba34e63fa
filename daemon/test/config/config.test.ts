import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { test } from "node:test";
import { ConfigError, normalizeOrigin, parseConfigFile, resolveConfig } from "../../src/config/config.ts";

const dir = mkdtempSync(path.join(tmpdir(), "passerelle-config-"));
function file(content: unknown): string {
  const name = path.join(dir, `${Math.random()}.json`);
  writeFileSync(name, typeof content === "string" ? content : JSON.stringify(content));
  return name;
}

test("normalizeOrigin accepts origins only", () => {
  assert.equal(normalizeOrigin("https://ehr.example.fr"), "https://ehr.example.fr");
  assert.equal(normalizeOrigin("https://EHR.Example.fr:8443"), "https://ehr.example.fr:8443");
  for (const bad of [
    "ehr.example.fr",
    "https://ehr.example.fr/",
    "https://ehr.example.fr/x",
    "ftp://x",
    "https://a@b",
    "https://x:443",
    "null",
    "",
  ]) {
    assert.equal(normalizeOrigin(bad), null, bad);
  }
});

test("unknown keys are refused with their path", () => {
  assert.throws(
    () => parseConfigFile(JSON.stringify({ port: 9712, limits: { maxFrame: 1 } }), "c.json"),
    (error) => {
      assert.ok(error instanceof ConfigError);
      assert.equal(error.message, "c.json: unknown key limits.maxFrame");
      return true;
    },
  );
  assert.throws(() => parseConfigFile('{"allowOrigins":[]}', "c.json"), /unknown key allowOrigins/);
  assert.throws(() => parseConfigFile('{"port":"x"}', "c.json"), /c\.json: port: /);
  assert.throws(
    () => parseConfigFile('{"allowedOrigins":["https://x/"]}', "c.json"),
    /allowedOrigins\.0: an origin/,
  );
  assert.throws(() => parseConfigFile("{", "c.json"), /not valid JSON/);
});

test("flags beat the environment, which beats the file, which beats defaults", () => {
  const config = file({ port: 9000, allowedOrigins: ["https://a.example"], limits: { requestBurst: 5 } });
  assert.equal(resolveConfig({ config }, {}).port, 9000);
  assert.equal(resolveConfig({ config }, { PASSERELLE_PORT: "9100" }).port, 9100);
  assert.equal(resolveConfig({ config, port: "9200" }, { PASSERELLE_PORT: "9100" }).port, 9200);
  const resolved = resolveConfig({ config, allowOrigin: ["https://b.example"] }, {});
  assert.deepEqual(resolved.allowedOrigins, ["https://a.example", "https://b.example"]);
  assert.equal(resolved.limits.requestBurst, 5);
  assert.equal(resolved.limits.maxFrameBytes, 64 * 1024);
  assert.equal(resolveConfig({ config: file({}) }, {}).port, 9712);
});

test("command-line origins may send the PIN from their page in simulation only", () => {
  const config = file({});
  assert.deepEqual(resolveConfig({ config, allowOrigin: ["https://b.example"] }, {}).pinFromPage, []);
  assert.deepEqual(
    resolveConfig({ config, simulate: true, allowOrigin: ["https://b.example"] }, {}).pinFromPage,
    ["https://b.example"],
  );
});

test("bad command-line values are refused with a one-line reason", () => {
  const config = file({});
  assert.throws(() => resolveConfig({ config, port: "70000" }, {}), /--port: port must be/);
  assert.throws(() => resolveConfig({ config, port: "12ab" }, {}), /--port/);
  assert.throws(() => resolveConfig({ config }, { PASSERELLE_PORT: "-1" }), /PASSERELLE_PORT/);
  assert.throws(
    () => resolveConfig({ config, allowOrigin: ["evil"] }, {}),
    /--allow-origin: "evil" is not an origin/,
  );
  assert.throws(
    () => resolveConfig({ config: path.join(dir, "missing.json") }, {}),
    /cannot read \(ENOENT\)/,
  );
});
