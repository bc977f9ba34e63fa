import assert from "node:assert/strict";
import { test } from "node:test";
import { checkHttpRequest, checkUpgrade, isAllowedHost, isLoopbackAddress } from "../../src/server/gate.ts";

test("loopback peers only", () => {
  for (const address of ["127.0.0.1", "127.1.2.3", "::1", "::ffff:127.0.0.1"])
    assert.ok(isLoopbackAddress(address), address);
  for (const address of [
    undefined,
    "",
    "10.0.0.1",
    "192.168.1.2",
    "::ffff:10.0.0.1",
    "fe80::1",
    "0.0.0.0",
    "128.0.0.1",
  ]) {
    assert.ok(!isLoopbackAddress(address), String(address));
  }
});

test("Host must name loopback on our port exactly", () => {
  for (const host of ["localhost:9712", "LOCALHOST:9712", "127.0.0.1:9712", "[::1]:9712"])
    assert.ok(isAllowedHost(host, 9712), host);
  for (const host of [
    undefined,
    "localhost",
    "localhost:9713",
    "evil.example:9712",
    "localhost.evil.example:9712",
    "127.0.0.2:9712",
    "[::1]",
    "localhost:9712 ",
  ]) {
    assert.ok(!isAllowedHost(host, 9712), String(host));
  }
});

const base = { remoteAddress: "127.0.0.1", host: "localhost:9712", port: 9712 };
const allow = (origin: string) => origin === "https://ehr.example.fr";

test("upgrade: an eligible origin passes, normalised", () => {
  assert.deepEqual(checkUpgrade({ ...base, origin: "https://EHR.example.fr" }, allow), {
    ok: true,
    origin: "https://ehr.example.fr",
  });
});

test("upgrade: every refusal is a 403 with a reason", () => {
  const cases: Array<[Partial<typeof base> & { origin?: string | undefined }, string]> = [
    [{ origin: undefined }, "missing Origin"],
    [{ origin: "null" }, "malformed Origin"],
    [{ origin: "file://" }, "malformed Origin"],
    [{ origin: "https://ehr.example.fr/" }, "malformed Origin"],
    [{ origin: "https://user@ehr.example.fr" }, "malformed Origin"],
    [{ origin: "https://evil.example" }, "origin not eligible"],
    [{ origin: "https://ehr.example.fr", host: "evil:9712" }, "foreign Host header"],
    [{ origin: "https://ehr.example.fr", remoteAddress: "10.1.1.1" }, "non-loopback peer"],
  ];
  for (const [change, why] of cases) {
    assert.deepEqual(checkUpgrade({ ...base, origin: undefined, ...change }, allow), {
      ok: false,
      status: 403,
      why,
    });
  }
});

test("plain HTTP requests need no Origin but the same peer and Host", () => {
  assert.deepEqual(checkHttpRequest({ ...base, origin: undefined }), { ok: true, origin: null });
  assert.equal(checkHttpRequest({ ...base, origin: undefined, host: "evil:9712" }).ok, false);
});
