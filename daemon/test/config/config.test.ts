import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { test } from "node:test";
import {
  ConfigError,
  configWarnings,
  normalizeOrigin,
  parseConfigFile,
  resolveConfig,
} from "../../src/config/config.ts";

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

test("the port: one port is fixed; none configured is the range 9712-9721; FIRST-LAST anywhere", () => {
  const ports = (options: Parameters<typeof resolveConfig>[0], env: NodeJS.ProcessEnv = {}) => {
    const { port, lastPort } = resolveConfig(options, env);
    return [port, lastPort];
  };
  assert.deepEqual(ports({ config: file({}) }), [9712, 9721]);
  assert.deepEqual(ports({ config: file({ port: 9800 }) }), [9800, 9800]);
  assert.deepEqual(ports({ config: file({ port: "9800-9804" }) }), [9800, 9804]);
  assert.deepEqual(ports({ config: file({}) }, { PASSERELLE_PORT: "0" }), [0, 0]);
  assert.deepEqual(ports({ config: file({}), port: "40000-40002" }), [40000, 40002]);
  for (const bad of ["9721-9712", "0-5", "1000-1100", "9712-", "70000", "12-70000"]) {
    assert.throws(() => resolveConfig({ config: file({}), port: bad }, {}), ConfigError, bad);
  }
  assert.throws(() => resolveConfig({ config: file({ port: "9712 to 9721" }) }, {}), /FIRST-LAST/);
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

test("a wildcard or a malformed host is refused with the key's path, never matched literally", () => {
  for (const bad of [
    "https://*.clinique-exemple.fr",
    "https://ehr*.example.fr",
    "https://a..b",
    "https://-a.fr",
  ]) {
    assert.equal(normalizeOrigin(bad), null, bad);
    assert.throws(
      () => parseConfigFile(JSON.stringify({ allowedOrigins: ["https://ok.example.fr", bad] }), "c.json"),
      /^ConfigError: c\.json: allowedOrigins\.1: an origin .*no wildcard/,
      bad,
    );
  }
  assert.throws(
    () => parseConfigFile(JSON.stringify({ pinFromPage: ["https://*.x.fr"] }), "c.json"),
    /c\.json: pinFromPage\.0: /,
  );
  assert.throws(
    () => resolveConfig({ allowOrigin: ["https://*.x.fr"] }, { PASSERELLE_CONFIG: file({}) }),
    /--allow-origin: "https:\/\/\*\.x\.fr" is not an origin/,
  );
  for (const good of [
    "http://localhost:3000",
    "https://[::1]:8443",
    "https://10.0.0.2",
    "https://xn--crche-bsa.fr",
  ])
    assert.equal(normalizeOrigin(good), good, good);
});

test("warnings: plain http on another machine, a pinFromPage origin that is not allowed", () => {
  const config = resolveConfig(
    {},
    {
      PASSERELLE_CONFIG: file({
        allowedOrigins: ["http://192.168.1.20:8080", "http://localhost:3000", "https://ehr.example.fr"],
        pinFromPage: ["https://ehr.example.fr", "https://other.example.fr"],
      }),
    },
  );
  const warnings = configWarnings(config);
  assert.equal(warnings.length, 2, warnings.join("\n"));
  assert.match(
    warnings[0] ?? "",
    /^allowedOrigins: http:\/\/192\.168\.1\.20:8080 is plain http on another machine/,
  );
  assert.match(warnings[1] ?? "", /^pinFromPage: https:\/\/other\.example\.fr is not in allowedOrigins/);
  assert.deepEqual(configWarnings({ allowedOrigins: ["https://ehr.example.fr"], pinFromPage: [] }), []);
});

test("the environment variable is named when it is the source of a bad value", () => {
  assert.throws(
    () => resolveConfig({}, { PASSERELLE_CONFIG: file({}), PASSERELLE_PORT: "x" }),
    /^ConfigError: PASSERELLE_PORT: port must be an integer/,
  );
});

test("pairing and deniedOrigins: defaults, validation like the other origins, a denial that is also allowed warned", () => {
  const defaults = resolveConfig({ config: file({}) }, {});
  assert.deepEqual(defaults.pairing, { enabled: true, localhostHttp: false });
  assert.deepEqual(defaults.deniedOrigins, []);
  assert.deepEqual(resolveConfig({ config: file({}), simulate: true }, {}).pairing, {
    enabled: true,
    localhostHttp: true,
  });
  const set = resolveConfig(
    {
      config: file({
        allowedOrigins: ["https://ehr.example.fr"],
        deniedOrigins: ["https://ehr.example.fr", "https://evil.example"],
        pairing: { enabled: false, localhostHttp: true },
      }),
    },
    {},
  );
  assert.deepEqual(set.pairing, { enabled: false, localhostHttp: true });
  assert.deepEqual(set.deniedOrigins, ["https://ehr.example.fr", "https://evil.example"]);
  assert.deepEqual(configWarnings(set), [
    "deniedOrigins: https://ehr.example.fr is also in allowedOrigins: it is refused (a denial wins)",
  ]);
  assert.throws(
    () => resolveConfig({ config: file({ deniedOrigins: ["https://*.example"] }) }, {}),
    /deniedOrigins\.0: .*no wildcard/,
  );
  assert.throws(
    () => resolveConfig({ config: file({ pairing: { enable: true } }) }, {}),
    /unknown key pairing\.enable/,
  );
});
