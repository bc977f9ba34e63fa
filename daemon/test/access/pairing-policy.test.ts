/**
 * PairingPolicy: who may connect, who is granted, the consent request's life (code, one-time token,
 * timeout, rate limits), the deny list winning, revocation, the audit records — with a real grant
 * store in a scratch folder and a recorded "browser".
 */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, test } from "node:test";
import type { AccessState } from "@passerelle/protocol";
import type { AuditEvent } from "../../src/audit/audit-trail.ts";
import { silentLogger, type Logger } from "../../src/audit/logger.ts";
import {
  DenialStore,
  GrantStore,
  MAX_DENIALS,
  PairingPolicy,
  denialsFile,
  grantsFile,
  isPairable,
  type PairingOptions,
} from "../../src/access/index.ts";
import { isPasserelleError } from "../../src/errors.ts";

const SELF = "https://localhost:9712";
const APP = "https://ehr.example.fr";
const dirs: string[] = [];
const policies: PairingPolicy[] = [];
after(() => {
  for (const policy of policies) policy.close();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function setup(options: Partial<PairingOptions> = {}) {
  const dir = mkdtempSync(path.join(tmpdir(), "passerelle-pairing-"));
  dirs.push(dir);
  const opened: string[] = [];
  const audited: AuditEvent[] = [];
  const changes: Array<[string, AccessState]> = [];
  const policy = new PairingPolicy({
    allowedOrigins: ["https://listed.example"],
    pinFromPage: [],
    deniedOrigins: ["https://denied.example"],
    selfOrigins: () => [SELF],
    enabled: true,
    localhostHttp: false,
    store: new GrantStore(dir),
    audit: { record: async (event) => void audited.push(event) },
    logger: silentLogger,
    consentPageUrl: () => `${SELF}/consent.html`,
    open: (url) => (opened.push(url), true),
    watch: false,
    ...options,
  });
  policies.push(policy);
  policy.onChange((origin, access) => changes.push([origin, access]));
  const tokenOf = (url: string | undefined) => {
    const token = url?.split("#")[1];
    assert.ok(token && /^[A-Za-z0-9_-]{43}$/.test(token), `a token in ${url}`);
    return token;
  };
  return { policy, dir, opened, audited, changes, tokenOf };
}

test("eligible: https origins, http loopback only in development; the deny list never", () => {
  assert.equal(isPairable("https://anything.example", false), true);
  assert.equal(isPairable("http://localhost:3000", false), false);
  assert.equal(isPairable("http://localhost:3000", true), true);
  assert.equal(isPairable("http://127.0.0.1:3000", true), true);
  assert.equal(isPairable("http://ehr.example.fr", true), false);
  const { policy } = setup();
  assert.equal(policy.eligible(APP), true);
  assert.equal(policy.state(APP), "none");
  assert.equal(policy.eligible("http://localhost:3000"), false);
  assert.equal(policy.eligible("https://denied.example"), false);
  assert.equal(policy.state("https://listed.example"), "granted");
  assert.equal(policy.state(SELF), "granted");
  const dev = setup({ localhostHttp: true }).policy;
  assert.equal(dev.eligible("http://localhost:3000"), true);
  const off = setup({ enabled: false }).policy;
  assert.equal(off.eligible(APP), false);
  assert.equal(off.eligible("https://listed.example"), true);
});

test("request → consent page with a one-time token and a 6-digit code; allow → granted, stored, audited, told", async () => {
  const { policy, dir, opened, audited, changes, tokenOf } = setup();
  const answer = await policy.request(APP, "My EHR");
  assert.equal(answer.access, "pending");
  assert.match(answer.pairingCode ?? "", /^[0-9]{6}$/);
  assert.equal(opened.length, 1);
  assert.ok(opened[0]?.startsWith(`${SELF}/consent.html#`));
  const token = tokenOf(opened[0]);
  assert.equal(policy.state(APP), "pending");
  assert.deepEqual(policy.consent(token), {
    origin: APP,
    appName: "My EHR",
    pairingCode: answer.pairingCode,
    expiresAt: policy.consent(token).expiresAt,
  });
  // A second request while one is pending: BUSY; a wrong token names nothing.
  await assert.rejects(policy.request(APP, "My EHR"), (e: unknown) => isPasserelleError(e, "BUSY"));
  assert.throws(
    () => policy.consent("A".repeat(43)),
    (e: unknown) => isPasserelleError(e, "ACCESS_DENIED"),
  );
  assert.deepEqual(await policy.decide(token, true), { access: "granted" });
  assert.equal(policy.state(APP), "granted");
  // One time: the same token cannot decide again, nor be read.
  await assert.rejects(policy.decide(token, false), (e: unknown) => isPasserelleError(e, "ACCESS_DENIED"));
  assert.throws(
    () => policy.consent(token),
    (e: unknown) => isPasserelleError(e, "ACCESS_DENIED"),
  );
  assert.deepEqual(
    new GrantStore(dir).list().map((g) => [g.origin, g.appName]),
    [[APP, "My EHR"]],
  );
  assert.deepEqual(changes, [
    [APP, "pending"],
    [APP, "granted"],
  ]);
  assert.deepEqual(
    audited.map((e) => [e.kind, e.origin, e.method]),
    [["access", APP, "access.grant"]],
  );
  // The grant outlives the daemon: a new policy on the same folder reads it.
  const again = setup({ store: new GrantStore(dir) }).policy;
  assert.equal(again.state(APP), "granted");
  assert.deepEqual(await again.request(APP, undefined), { access: "granted" });
});

test("deny → denied for a while (no new page), audited; the deny list wins over a stored grant", async () => {
  let now = 1_000_000;
  const { policy, opened, audited, tokenOf } = setup({ now: () => now, denialCooldownMs: 60_000 });
  await policy.request(APP, undefined);
  assert.deepEqual(await policy.decide(tokenOf(opened[0]), false), { access: "denied" });
  assert.equal(policy.state(APP), "denied");
  assert.deepEqual(await policy.request(APP, undefined), { access: "denied" });
  assert.equal(opened.length, 1, "no page opened while the denial stands");
  now += 61_000;
  assert.equal(policy.state(APP), "none");
  assert.equal((await policy.request(APP, undefined)).access, "pending");
  assert.deepEqual(
    audited.map((e) => [e.method, e.reason]),
    [["access.deny", "USER_CANCELLED"]],
  );

  const denied = "https://denied.example";
  const { dir } = setup();
  new GrantStore(dir).add({ origin: denied, grantedAt: "2026-12-01T10:00:00.000Z" });
  const withGrant = setup({ store: new GrantStore(dir) }).policy;
  assert.equal(withGrant.state(denied), "denied");
  assert.equal(withGrant.eligible(denied), false);
});

test("a denial survives a restart until its time is over; the file is bounded and holds origins and times only", async () => {
  let now = Date.parse("2026-12-01T10:00:00.000Z");
  const clock = () => now;
  const dir = mkdtempSync(path.join(tmpdir(), "passerelle-pairing-"));
  dirs.push(dir);
  const stores = () => ({
    store: new GrantStore(dir),
    denials: new DenialStore(dir, { cooldownMs: 60_000, now: clock }),
  });
  const before = setup({ ...stores(), now: clock, denialCooldownMs: 60_000 });
  await before.policy.request(APP, "EHR");
  await before.policy.decide(before.tokenOf(before.opened[0]), false);
  before.policy.close(); // the daemon stops
  assert.deepEqual(JSON.parse(readFileSync(denialsFile(dir), "utf8")), {
    version: 1,
    denials: [{ origin: APP, deniedAt: "2026-12-01T10:00:00.000Z" }],
  });

  now += 30_000;
  const restarted = setup({ ...stores(), now: clock, denialCooldownMs: 60_000 });
  assert.equal(restarted.policy.state(APP), "denied", "still denied after the restart");
  assert.deepEqual(await restarted.policy.request(APP, "EHR"), { access: "denied" });
  assert.equal(restarted.opened.length, 0, "no consent page re-opened at once");
  restarted.policy.close();

  now += 31_000; // the denial's 60 s are over
  const later = setup({ ...stores(), now: clock, denialCooldownMs: 60_000 });
  assert.equal(later.policy.state(APP), "none");
  assert.equal((await later.policy.request(APP, "EHR")).access, "pending");
  later.policy.close();

  // Bounded: past MAX_DENIALS the oldest are dropped.
  const many = new DenialStore(dir, { cooldownMs: 60_000, now: clock });
  for (let i = 0; i <= MAX_DENIALS; i += 1) many.add(`https://d${i}.example`);
  const kept = many.list();
  assert.equal(kept.length, MAX_DENIALS);
  assert.equal(kept[0]?.origin, "https://d1.example", "the oldest went first");
  // A denial dated in the future (a hand edit, a clock moved back) is not trusted.
  const edited = { version: 1, denials: [{ origin: APP, deniedAt: "2027-01-01T00:00:00.000Z" }] };
  writeFileSync(denialsFile(dir), JSON.stringify(edited));
  assert.deepEqual(many.list(), []);
});

test("a damaged denials file: one error line, no denial remembered from it, the file left alone", async () => {
  const damaged = [
    "{oops",
    JSON.stringify({
      version: 1,
      denials: [{ origin: "https://*.example", deniedAt: "2026-12-01T10:00:00Z" }],
    }),
    JSON.stringify({ version: 1, denials: [{ origin: APP, deniedAt: "yesterday" }] }),
    JSON.stringify({ version: 2, denials: [] }),
  ];
  for (const text of damaged) {
    const dir = mkdtempSync(path.join(tmpdir(), "passerelle-pairing-"));
    dirs.push(dir);
    mkdirSync(path.dirname(denialsFile(dir)), { recursive: true });
    writeFileSync(denialsFile(dir), text);
    const lines: string[] = [];
    const logger: Logger = { ...silentLogger, error: (message: string) => void lines.push(message) };
    const { policy, opened, tokenOf } = setup({
      store: new GrantStore(dir),
      denials: new DenialStore(dir, { cooldownMs: 60_000 }),
      logger,
    });
    assert.equal(lines.length, 1, text);
    assert.match(lines[0] ?? "", /denials file unreadable/);
    assert.equal(policy.state(APP), "none", "nothing remembered from a damaged file");
    // Pairing still works, and a new denial still stands (in memory), without touching the file.
    assert.equal((await policy.request(APP, undefined)).access, "pending");
    await policy.decide(tokenOf(opened[0]), false);
    assert.equal(policy.state(APP), "denied");
    assert.equal(lines.length, 1, "said once");
    assert.equal(readFileSync(denialsFile(dir), "utf8"), text, "left for its owner to look at");
  }
});

test("nobody decides: the request expires (access.changed none, audited) and the token is dead", async () => {
  const { policy, opened, audited, changes, tokenOf } = setup({ timeoutMs: 50 });
  await policy.request(APP, undefined);
  const token = tokenOf(opened[0]);
  const deadline = Date.now() + 5000;
  while (policy.state(APP) === "pending" && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 10));
  assert.equal(policy.state(APP), "none");
  assert.deepEqual(changes.at(-1), [APP, "none"]);
  await assert.rejects(policy.decide(token, true), (e: unknown) => isPasserelleError(e, "ACCESS_DENIED"));
  while (audited.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  assert.deepEqual(
    audited.map((e) => [e.method, e.reason]),
    [["access.expire", "TIMEOUT"]],
  );
});

test("rate limits: per origin, over all origins, and pending at once → RATE_LIMITED (with retryAfterSeconds)", async () => {
  const limits = { perOrigin: 2, overall: 3, windowMs: 60_000, maxPending: 2 };
  const { policy, opened, tokenOf } = setup({ limits });
  await policy.request(APP, undefined);
  await policy.decide(tokenOf(opened[0]), false);
  // The denial would answer at once: use fresh origins to exercise the counters.
  const { policy: p2, opened: o2, tokenOf: t2 } = setup({ limits, denialCooldownMs: 0 });
  await p2.request(APP, undefined);
  await p2.decide(t2(o2[0]), false);
  await p2.request(APP, undefined);
  await p2.decide(t2(o2[1]), false);
  await assert.rejects(p2.request(APP, undefined), (e: unknown) => {
    assert.ok(isPasserelleError(e, "RATE_LIMITED"));
    assert.ok(Number(e.details["retryAfterSeconds"]) > 0);
    return true;
  });
  await p2.request("https://b.example", undefined); // third overall
  await assert.rejects(p2.request("https://c.example", undefined), (e: unknown) =>
    isPasserelleError(e, "RATE_LIMITED"),
  );
  const { policy: p3 } = setup({ limits });
  await p3.request("https://a.example", undefined);
  await p3.request("https://b.example", undefined);
  await assert.rejects(p3.request("https://c.example", undefined), (e: unknown) =>
    isPasserelleError(e, "RATE_LIMITED"),
  );
  assert.equal(policy.state(APP), "denied");
});

test("no way to show the page → CONSENT_UNAVAILABLE at once, nothing left pending", async () => {
  const { policy } = setup({ open: () => false });
  await assert.rejects(policy.request(APP, undefined), (e: unknown) =>
    isPasserelleError(e, "CONSENT_UNAVAILABLE"),
  );
  assert.equal(policy.state(APP), "none");
});

test("revoke: removed from the file, access.changed none, audited with who did it", async () => {
  const { policy, dir, opened, audited, changes, tokenOf } = setup();
  await policy.request(APP, undefined);
  await policy.decide(tokenOf(opened[0]), true);
  assert.deepEqual(await policy.revoke(APP, "daemon page"), { revoked: true });
  assert.deepEqual(await policy.revoke(APP, "daemon page"), { revoked: false });
  assert.equal(policy.state(APP), "none");
  assert.deepEqual(new GrantStore(dir).list(), []);
  assert.deepEqual(changes.at(-1), [APP, "none"]);
  assert.deepEqual(audited.map((e) => [e.method, e.reason]).at(-1), ["access.revoke", "daemon page"]);
});

test("a damaged grants file: one error line, nothing paired, requests refused, the file left alone", async () => {
  const dir = mkdtempSync(path.join(tmpdir(), "passerelle-pairing-"));
  dirs.push(dir);
  mkdirSync(path.dirname(grantsFile(dir)), { recursive: true });
  writeFileSync(grantsFile(dir), "{oops");
  const lines: string[] = [];
  const logger: Logger = { ...silentLogger, error: (message: string) => void lines.push(message) };
  const { policy } = setup({ store: new GrantStore(dir), logger });
  assert.equal(lines.length, 1);
  assert.match(lines[0] ?? "", /grants file unreadable/);
  assert.equal(policy.state(APP), "none");
  await assert.rejects(policy.request(APP, undefined), (e: unknown) =>
    isPasserelleError(e, "CONSENT_UNAVAILABLE"),
  );
  assert.equal(readFileSync(grantsFile(dir), "utf8"), "{oops");
});

test("the command line's changes to the file reach the daemon (watched): revoked → access.changed none", async () => {
  const { policy, dir, opened, changes, tokenOf } = setup({ watch: true });
  await policy.request(APP, undefined);
  await policy.decide(tokenOf(opened[0]), true);
  new GrantStore(dir).remove(APP); // what `passerelle access revoke` does
  const deadline = Date.now() + 5000;
  while (policy.state(APP) === "granted" && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 20));
  assert.equal(policy.state(APP), "none");
  assert.deepEqual(changes.at(-1), [APP, "none"]);
});
