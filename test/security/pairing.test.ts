/**
 * Pairing attacked from a real browser (issue #12): headless Chromium (playwright-core, Debian's
 * chromium) against `passerelle start --simulate` over real TLS, its local CA trusted the way
 * `passerelle trust install` does it (a throwaway HOME whose NSS database holds it: no certificate
 * flag). The web app and the attacker live on their own https origins: Chromium's
 * --host-resolver-rules sends their names to 127.0.0.1 and the test serves their pages
 * (page.route), so each has its own Origin, as on the internet.
 *
 * - an eligible origin that is not paired gets only hello/ping/access.request: every frame it
 *   receives is checked — no reader, card, person, no event;
 * - the consent page framed by another page: refused by its headers (Chromium does not render it);
 * - approval without the one-time token (a page of the daemon's origin, and the web app itself): refused;
 * - the consent page the daemon opened (its URL recorded by a `BROWSER` script), approved by a click:
 *   `access.changed` granted in the app, and `readers.list` works;
 * - `passerelle access revoke`: `access.changed` none in the app, and its calls are refused;
 * - the daemon's page lists the grant; its revoke button does the same.
 */
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { CHROMIUM, UI_TIMEOUT_MS, seriousAxeViolations } from "../e2e/browser.ts";
import {
  REPO_ROOT,
  RpcPeer,
  cliCommand,
  openSocket,
  startDaemon,
  type DaemonProcess,
} from "../helpers/daemon.ts";
import { recordingBrowser, type RecordingBrowser } from "../helpers/recording-browser.ts";

const APP_HOST = "app.example.fr";
const ATTACKER_HOST = "attacker.example";
const APP = `https://${APP_HOST}`;
const ATTACKER = `https://${ATTACKER_HOST}`;
const WAIT_MS = 20_000;

let daemon: DaemonProcess;
let recorder: RecordingBrowser;
let context: BrowserContext;
let scratch: string;
/** What the lab's cards hold (read from the daemon's own origin): no frame may carry any of it. */
const secrets: string[] = [];

const selfOrigin = () => `https://localhost:${daemon.port}`;

/** A page every test origin serves: it keeps every frame its WebSocket receives in `window.frames_`. */
const APP_PAGE = (wsUrl: string) => `<!doctype html><html lang="en"><meta charset="utf-8"><title>app</title>
<body><h1>app</h1><script>
"use strict";
window.frames_ = [];
window.open_ = new Promise((resolve, reject) => {
  const ws = new WebSocket(${JSON.stringify(wsUrl)}, "passerelle.v1");
  window.ws_ = ws;
  let id = 0;
  const waiting = new Map();
  ws.onmessage = (event) => {
    window.frames_.push(String(event.data));
    const message = JSON.parse(String(event.data));
    const done = waiting.get(message.id);
    if (done) { waiting.delete(message.id); done(message); }
  };
  ws.onopen = () => resolve(true);
  ws.onclose = (event) => { window.closed_ = event.code; reject(new Error("closed " + event.code)); };
  window.call_ = (method, params) => new Promise((done) => {
    const n = ++id;
    waiting.set(n, done);
    ws.send(JSON.stringify({ jsonrpc: "2.0", id: n, method, params }));
  });
});
</script></body></html>`;

async function until<T>(
  what: string,
  probe: () => T | undefined | false | Promise<T | undefined | false>,
): Promise<T> {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

before(async () => {
  scratch = mkdtempSync(path.join(tmpdir(), "passerelle-pairing-browser-"));
  recorder = recordingBrowser();
  daemon = await startDaemon({ args: ["--simulate"], pairing: true, env: recorder.env });
  // The local CA in a throwaway HOME's NSS database, as `passerelle trust install` puts it there.
  const home = path.join(scratch, "home");
  const db = path.join(home, ".pki", "nssdb");
  mkdirSync(db, { recursive: true, mode: 0o700 });
  execFileSync("certutil", ["-d", `sql:${db}`, "-N", "--empty-password"], { stdio: "pipe" });
  const caFile = path.join(scratch, "ca.pem");
  writeFileSync(caFile, daemon.caPem ?? "");
  execFileSync(
    "certutil",
    ["-d", `sql:${db}`, "-A", "-t", "C,,", "-n", "Passerelle local CA", "-i", caFile],
    {
      stdio: "pipe",
    },
  );
  context = await chromium.launchPersistentContext(path.join(scratch, "profile"), {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      `--host-resolver-rules=MAP ${APP_HOST} 127.0.0.1, MAP ${ATTACKER_HOST} 127.0.0.1`,
    ],
    env: { ...process.env, HOME: home },
    timeout: 60_000,
  });
  context.setDefaultTimeout(UI_TIMEOUT_MS);
  // The user said yes to Chrome's Local Network Access prompt for these two sites (they are public
  // sites reaching localhost); the daemon's own checks are what is under test here.
  for (const origin of [APP, ATTACKER]) await context.grantPermissions(["local-network-access"], { origin });
  const wsUrl = `wss://localhost:${daemon.port}/v1`;
  await context.route(`${APP}/`, (route) =>
    route.fulfill({ status: 200, contentType: "text/html; charset=utf-8", body: APP_PAGE(wsUrl) }),
  );
  await context.route(`${ATTACKER}/`, (route) =>
    route.fulfill({ status: 200, contentType: "text/html; charset=utf-8", body: APP_PAGE(wsUrl) }),
  );
  // What the lab's cards hold, as the daemon's own page would read them.
  const opened = await openSocket(daemon, { origin: selfOrigin() });
  assert.ok("socket" in opened);
  const self = new RpcPeer(opened.socket);
  const readers = (
    (await self.call("readers.list", {}))["result"] as { readers: Array<{ id: string; name: string }> }
  ).readers;
  for (const reader of readers) secrets.push(reader.name, reader.id);
  const vitale = (await self.call("vitale.read", {}))["result"] as
    | { beneficiaries: Array<{ nir: string; lastName: string; firstName: string; birthDate: string }> }
    | undefined;
  for (const b of vitale?.beneficiaries ?? []) secrets.push(b.nir, b.lastName, b.firstName, b.birthDate);
  self.close();
  assert.ok(secrets.length > 0, "the lab has readers to hide");
});

after(async () => {
  await context?.close();
  await daemon?.stop();
  recorder?.remove();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

async function appPage(origin: string): Promise<Page> {
  const page = await context.newPage();
  await page.goto(`${origin}/`);
  await page.evaluate(() => (window as unknown as { open_: Promise<boolean> }).open_);
  return page;
}

type Answer = { result?: Record<string, unknown>; error?: { code: number; data?: { reason?: string } } };
const call = (page: Page, method: string, params: unknown = {}) =>
  page.evaluate(
    ([m, p]) => (window as unknown as { call_(m: string, p: unknown): Promise<Answer> }).call_(m, p),
    [method, params] as const,
  );
const framesOf = (page: Page) => page.evaluate(() => (window as unknown as { frames_: string[] }).frames_);

test("an unpaired https origin gets only hello, ping and access.request; no frame leaks anything", async () => {
  const page = await appPage(ATTACKER);
  const hello = await call(page, "system.hello", { client: { name: "x", version: "1" } });
  assert.equal(hello.result?.["access"], "none");
  assert.ok((await call(page, "system.ping")).result?.["time"]);
  for (const [method, params] of [
    ["readers.list", {}],
    ["events.subscribe", { topics: ["readers", "cards"] }],
    ["vitale.read", {}],
    ["cps.read", {}],
    [
      "insi.verify",
      { ins: "1234567890123", birthName: "X", firstNames: ["Y"], sex: "M", birthDate: "2000-01-01" },
    ],
  ] as const) {
    assert.equal((await call(page, method, params)).error?.data?.reason, "ACCESS_DENIED", method);
  }
  for (const method of [
    "access.list",
    "access.consent",
    "access.decide",
    "access.revoke",
    "pin.pending",
    "lab.status",
  ])
    assert.equal((await call(page, method, {})).error?.code, -32601, method);
  // A card event while it is connected: it must not hear of it.
  const opened = await openSocket(daemon, { origin: selfOrigin() });
  assert.ok("socket" in opened);
  const self = new RpcPeer(opened.socket);
  await self.call("lab.removeCard", { slot: 0 });
  const status = (await self.call("lab.status", {}))["result"] as { profiles: string[] };
  await self.call("lab.insertCard", { slot: 0, card: status.profiles[0] });
  self.close();
  await call(page, "system.ping"); // a frame after the events: they would have come before it
  const frames = await framesOf(page);
  for (const frame of frames) {
    const message = JSON.parse(frame) as { method?: string };
    assert.equal(message.method, undefined, `no notification before access: ${frame}`);
    for (const secret of secrets) assert.ok(!frame.includes(secret), `a frame leaks ${secret}: ${frame}`);
  }
  await page.close();
});

test("the consent page cannot be framed, and nothing approves without its one-time token", async () => {
  const app = await appPage(APP);
  const before = recorder.urls().length;
  const asked = await call(app, "access.request", { appName: "Dossier patient" });
  assert.equal(asked.result?.["access"], "pending");
  const url = await recorder.url(before);
  const token = url.split("#")[1] ?? "";
  assert.ok(url.startsWith(`${selfOrigin()}/consent.html#`), url);

  // Framed by the attacker (who would have to guess the token anyway): Chromium refuses to render it.
  const attacker = await appPage(ATTACKER);
  const responses: Array<Record<string, string>> = [];
  attacker.on("response", (response) => {
    if (response.url().includes("/consent.html")) responses.push(response.headers());
  });
  await attacker.evaluate((src) => {
    const frame = document.createElement("iframe");
    frame.src = src;
    document.body.append(frame);
  }, url);
  const headers = await until("the framed consent page's response", () => responses[0]);
  assert.equal(headers["x-frame-options"], "DENY");
  assert.match(headers["content-security-policy"] ?? "", /frame-ancestors 'none'/);
  const framed = await until("the frame to settle", () =>
    attacker.frames().find((frame) => frame !== attacker.mainFrame()),
  );
  // Blocked: the frame holds Chromium's error page, never the consent page's buttons.
  await new Promise((resolve) => setTimeout(resolve, 500));
  assert.equal(await framed.locator("#consent-allow").count(), 0, "the consent page rendered in a frame");
  assert.notEqual(framed.url(), url);

  // The web app (or the attacker) cannot call the page's methods at all.
  assert.equal((await call(app, "access.decide", { token, allow: true })).error?.code, -32601);
  // A page of the daemon's own origin without the token (the daemon's status page): refused.
  const statusPage = await context.newPage();
  await statusPage.goto(`${selfOrigin()}/consent.html`);
  await statusPage.locator("body[data-ready='true']").waitFor();
  assert.equal(await statusPage.locator("#consent-allow").isVisible(), false);
  const forged = await statusPage.evaluate(async () => {
    const ws = new WebSocket(`wss://${location.host}/v1`, "passerelle.v1");
    await new Promise((resolve) => (ws.onopen = resolve));
    const answer = new Promise<string>((resolve) => (ws.onmessage = (event) => resolve(String(event.data))));
    ws.send(
      JSON.stringify({
        jsonrpc: "2.0",
        id: 1,
        method: "access.decide",
        params: { token: "A".repeat(43), allow: true },
      }),
    );
    return JSON.parse(await answer) as Answer;
  });
  assert.equal(forged.error?.data?.reason, "ACCESS_DENIED");
  assert.equal((await call(app, "readers.list")).error?.data?.reason, "ACCESS_DENIED", "still not granted");

  // The page the daemon opened, with its token: shows the origin and the same code; a click allows.
  const consent = await context.newPage();
  await consent.goto(url);
  await consent.locator("body[data-ready='true']").waitFor();
  assert.equal(await consent.locator("#consent-origin").textContent(), APP);
  assert.equal(await consent.locator("#consent-app").textContent(), "Dossier patient");
  assert.equal(await consent.locator("#consent-code").textContent(), asked.result?.["pairingCode"]);
  await consent.locator("#consent-allow").click();
  await consent.locator("body[data-decided='true']").waitFor();
  await until("access.changed granted in the app", async () =>
    (await framesOf(app)).some((frame) => frame.includes('"access.changed"') && frame.includes('"granted"')),
  );
  const readers = await call(app, "readers.list");
  assert.ok(Array.isArray(readers.result?.["readers"]), JSON.stringify(readers));
  // Reloading the consent page: its token is spent.
  await consent.reload();
  await consent.locator("body[data-ready='true']").waitFor();
  assert.equal(await consent.locator("#consent-allow").isVisible(), false);

  // Revoked from the command line: told at once, and refused from then on.
  const { command, args } = cliCommand(["access", "revoke", APP, "--data-dir", daemon.dataDir]);
  const revoked = spawnSync(command, args, { cwd: REPO_ROOT, encoding: "utf8", timeout: 60_000 });
  assert.equal(revoked.status, 0, revoked.stderr);
  await until("access.changed none in the app", async () =>
    (await framesOf(app)).some((frame) => frame.includes('"access.changed"') && frame.includes('"none"')),
  );
  assert.equal((await call(app, "readers.list")).error?.data?.reason, "ACCESS_DENIED");
  for (const page of [app, attacker, statusPage, consent]) await page.close();
});

test("the daemon's page lists the grant, and its revoke button takes it back", async () => {
  const app = await appPage(APP);
  const before = recorder.urls().length;
  await call(app, "access.request", { appName: "Dossier patient" });
  const consent = await context.newPage();
  await consent.goto(await recorder.url(before));
  await consent.locator("body[data-ready='true']").waitFor();
  assert.deepEqual(await seriousAxeViolations(consent), [], "the consent page is accessible");
  await consent.locator("#consent-allow").click();
  await consent.locator("body[data-decided='true']").waitFor();

  const status = await context.newPage();
  await status.goto(`${selfOrigin()}/`);
  await status.locator("body[data-ready='true']").waitFor();
  const grant = status.locator(`#grants li[data-origin="${APP}"]`);
  await grant.waitFor();
  assert.match((await grant.textContent()) ?? "", /Dossier patient/);
  await grant.locator("button").click();
  await grant.waitFor({ state: "detached" });
  await until("access.changed none in the app", async () =>
    (await framesOf(app)).some((frame) => frame.includes('"access.changed"') && frame.includes('"none"')),
  );
  assert.equal((await call(app, "readers.list")).error?.data?.reason, "ACCESS_DENIED");
  for (const page of [app, consent, status]) await page.close();
});
