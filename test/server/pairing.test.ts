/**
 * Pairing with the real daemon process over real TLS (issue #12): an origin that is not listed
 * connects, is answered only hello/ping/access.request, asks; the daemon opens its consent page
 * (recorded, token and all, by a `BROWSER` script); the page's one-time token decides; the app gets
 * `access.changed` and is served; `passerelle access list|revoke` on the same data folder; every
 * step an audit record naming the origin only.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { after, before, test } from "node:test";
import WebSocket from "ws";
import { PasserelleClient, type WebSocketLike } from "@passerelle/protocol";
import {
  REPO_ROOT,
  RpcPeer,
  cliCommand,
  openSocket,
  startDaemon,
  type DaemonProcess,
} from "../helpers/daemon.ts";
import { recordingBrowser, type RecordingBrowser } from "../helpers/recording-browser.ts";

const APP = "https://ehr.example.fr";
let daemon: DaemonProcess;
let browser: RecordingBrowser;

before(async () => {
  browser = recordingBrowser();
  daemon = await startDaemon({ args: ["--simulate"], pairing: true, env: browser.env });
});
after(async () => {
  await daemon?.stop();
  browser?.remove();
});

async function peer(origin: string): Promise<RpcPeer> {
  const opened = await openSocket(daemon, { origin });
  assert.ok("socket" in opened, `${origin} connects`);
  return new RpcPeer(opened.socket);
}

const selfOrigin = () => `https://localhost:${daemon.port}`;
const reason = (response: Record<string, unknown>) =>
  (response["error"] as { data?: { reason?: string } } | undefined)?.data?.reason;

/** Waits for `access.changed` with this value (a `pending` one comes first, when the request starts). */
async function changedTo(app: RpcPeer, access: string): Promise<void> {
  for (;;) {
    const params = (await app.notification("access.changed")) as { access: string };
    if (params.access === access) return;
  }
}

function cli(args: string[]) {
  const { command, args: argv } = cliCommand([...args, "--data-dir", daemon.dataDir]);
  return spawnSync(command, argv, { cwd: REPO_ROOT, encoding: "utf8", timeout: 60_000 });
}

test("unpaired → consent page with token → granted → served → revoked from the command line → refused", async () => {
  const app = await peer(APP);
  const hello = await app.call("system.hello", { client: { name: "t", version: "1" } });
  assert.equal((hello["result"] as { access: string }).access, "none");
  assert.equal(reason(await app.call("readers.list", {})), "ACCESS_DENIED");
  assert.equal(reason(await app.call("events.subscribe", { topics: ["readers", "cards"] })), "ACCESS_DENIED");

  const asked = await app.call("access.request", { appName: "Dossier patient" });
  const { access, pairingCode } = asked["result"] as { access: string; pairingCode: string };
  assert.equal(access, "pending");
  assert.match(pairingCode, /^[0-9]{6}$/);
  const url = await browser.url(0);
  const prefix = `${selfOrigin()}/consent.html#`;
  assert.ok(url.startsWith(prefix), url);
  const token = url.slice(prefix.length);
  assert.ok(!daemon.stderr().includes(token), "the token is never logged");

  // The web app cannot call the consent page's methods: they do not exist for it.
  const fromApp = await app.call("access.decide", { token, allow: true });
  assert.equal((fromApp["error"] as { code: number }).code, -32601);

  const page = await peer(selfOrigin());
  // Another page of the daemon's origin, without the token, cannot approve.
  const forged = await page.call("access.decide", { token: "x".repeat(43), allow: true });
  assert.equal(reason(forged), "ACCESS_DENIED");
  const shown = (await page.call("access.consent", { token }))["result"] as Record<string, string>;
  assert.equal(shown["origin"], APP);
  assert.equal(shown["appName"], "Dossier patient");
  assert.equal(shown["pairingCode"], pairingCode);
  const decided = await page.call("access.decide", { token, allow: true });
  assert.deepEqual(decided["result"], { access: "granted" });
  await changedTo(app, "granted");
  const readers = await app.call("readers.list", {});
  assert.ok(Array.isArray((readers["result"] as { readers: unknown[] }).readers), JSON.stringify(readers));
  // The token was for one decision only.
  assert.equal(reason(await page.call("access.decide", { token, allow: false })), "ACCESS_DENIED");

  const listed = cli(["access", "list", "--json"]);
  assert.equal(listed.status, 0, listed.stderr);
  const grants = (JSON.parse(listed.stdout) as { grants: Array<{ origin: string; appName?: string }> })
    .grants;
  assert.deepEqual(
    grants.map((g) => [g.origin, g.appName]),
    [[APP, "Dossier patient"]],
  );
  const pageList = (await page.call("access.list", {}))["result"] as { grants: Array<{ origin: string }> };
  assert.deepEqual(
    pageList.grants.map((g) => g.origin),
    [APP],
  );

  const revoked = cli(["access", "revoke", APP]);
  assert.equal(revoked.status, 0, revoked.stderr);
  assert.equal(revoked.stdout, `revoked ${APP}\n`);
  await changedTo(app, "none");
  assert.equal(reason(await app.call("readers.list", {})), "ACCESS_DENIED");
  const again = cli(["access", "revoke", APP]);
  assert.equal(again.status, 1);
  assert.match(again.stderr, /has no grant/);
  assert.equal(cli(["access", "revoke", "not an origin"]).status, 2);

  const audit = readFileSync(path.join(daemon.dataDir, "audit", "audit.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((record) => record["kind"] === "access");
  assert.deepEqual(
    audit.map((r) => [r["origin"], r["method"], r["reason"] ?? null]),
    [
      [APP, "access.grant", null],
      [APP, "access.revoke", "command line"],
    ],
  );
  for (const record of audit)
    assert.deepEqual(
      Object.keys(record).sort(),
      [
        "durationMs",
        "kind",
        "method",
        "origin",
        ...(record["reason"] ? ["reason"] : []),
        ...(record["simulation"] ? ["simulation"] : []),
        "time",
      ].sort(),
    );
  app.close();
  page.close();
});

test("a denial on the consent page: access.changed denied, and the next request is denied without a page", async () => {
  const origin = "https://other-ehr.example.fr";
  const app = await peer(origin);
  const before = browser.urls().length;
  await app.call("access.request", {});
  const url = await browser.url(before);
  const page = await peer(selfOrigin());
  const token = url.split("#")[1] ?? "";
  assert.deepEqual((await page.call("access.decide", { token, allow: false }))["result"], {
    access: "denied",
  });
  await changedTo(app, "denied");
  assert.deepEqual((await app.call("access.request", {}))["result"], { access: "denied" });
  assert.equal(browser.urls().length, before + 1, "no second page");
  app.close();
  page.close();
});

test("an app name with a line break or a bidi override is refused (it is shown on the consent page)", async () => {
  const app = await peer("https://third.example.fr");
  for (const appName of ["EHR\nreal-bank.example", "EHR \u202Erf.elpmaxe"]) {
    const answer = await app.call("access.request", { appName });
    assert.equal((answer["error"] as { code: number }).code, -32602, appName);
  }
  app.close();
});

test("SDK: requestAccess gives the pairing code, then resolves with the decision", async () => {
  const origin = "https://sdk-app.example.fr";
  const client = new PasserelleClient({
    url: daemon.url,
    createWebSocket: (url, protocol) =>
      new WebSocket(url, protocol, { origin, ca: daemon.caPem }) as unknown as WebSocketLike,
    reconnect: false,
  });
  await client.connect();
  const before = browser.urls().length;
  const codes: string[] = [];
  const decision = client.requestAccess("SDK app", { onPairingCode: (code) => codes.push(code) });
  const url = await browser.url(before);
  const page = await peer(selfOrigin());
  const token = url.split("#")[1] ?? "";
  const shown = (await page.call("access.consent", { token }))["result"] as { pairingCode: string };
  assert.deepEqual(codes, [shown.pairingCode]);
  await page.call("access.decide", { token, allow: true });
  assert.equal(await decision, "granted");
  assert.ok(Array.isArray((await client.call("readers.list", {})).readers));
  // Already granted: at once, no page.
  assert.equal(await client.requestAccess("SDK app"), "granted");
  assert.equal(browser.urls().length, before + 1);
  client.close();
  page.close();
});

test("revoked while a PIN is asked: the request leaves the PIN page and the call answers ACCESS_DENIED", async () => {
  const origin = "https://inflight.example.fr";
  const app = await peer(origin);
  const page = await peer(selfOrigin()); // the daemon's page: it lists PIN requests
  await page.call("pin.pending", {}); // as the page does on every connection: now it is a PIN page
  const before = browser.urls().length;
  await app.call("access.request", {});
  const token = (await browser.url(before)).split("#")[1] ?? "";
  await page.call("access.decide", { token, allow: true });
  await changedTo(app, "granted");
  // A PIN asked on the daemon's PIN page: the call waits for the user.
  const verifying = app.call("cps.verifyPin", {});
  const deadline = Date.now() + 15_000;
  let requestId: string | undefined;
  while (!requestId && Date.now() < deadline) {
    const pending = (await page.call("pin.pending", {}))["result"] as {
      requests: Array<{ requestId: string; origin: string }>;
    };
    requestId = pending.requests.find((r) => r.origin === origin)?.requestId;
    if (!requestId) await new Promise((resolve) => setTimeout(resolve, 50));
  }
  assert.ok(requestId, "the PIN request shows on the daemon's page");
  assert.deepEqual((await page.call("access.revoke", { origin }))["result"], { revoked: true });
  await changedTo(app, "none");
  // Withdrawn from the PIN page at once: nobody is asked to type a PIN for an origin without access.
  assert.equal(reason(await verifying), "ACCESS_DENIED");
  const left = (await page.call("pin.pending", {}))["result"] as { requests: Array<{ origin: string }> };
  assert.deepEqual(
    left.requests.filter((r) => r.origin === origin),
    [],
  );
  app.close();
  page.close();
});
