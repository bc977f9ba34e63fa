/**
 * The SDK's probe() under Chrome's Local Network Access, in headless Chromium with LNA enforced (on
 * by default in Debian's Chromium 156, WebSockets included, and asked for anyway with
 * --enable-features=LocalNetworkAccessChecks,LocalNetworkAccessChecksWebSockets): the EHR page is
 * served from a *public* origin — its server's address is declared public with Chromium's
 * `--ip-address-space-overrides` flag, the way Chrome's LNA guide says to test it locally — and the
 * daemon runs on localhost over real TLS. The permission's state is set as a user or a policy would
 * set it, through the DevTools protocol (`Browser.setPermission`):
 *
 * - prompt (nobody answered: headless dismisses the prompt) → unreachable, "permission-prompt";
 * - denied → unreachable, "permission-denied";
 * - granted → running (and the WebSocket connects); granted with the daemon stopped → "not-running".
 * And the iframe attribute integrators need: a frame of another site may use the permission only
 * when its parent delegates it (`allow="loopback-network"`, or the older `local-network-access`).
 */
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import path from "node:path";
import { after, before, test } from "node:test";
import { build } from "esbuild";
import type { CDPSession, Frame, Page } from "playwright-core";
import { launchBrowser, watchConsole, type Browser, type ConsoleLog } from "../e2e/browser.ts";
import { REPO_ROOT, startDaemon, type DaemonProcess } from "../helpers/daemon.ts";
import {
  browserHome,
  hostResolverRules,
  labDir,
  makeWebPki,
  serveSites,
  type SiteServer,
} from "../security/browser-lab.ts";

const EHR = "ehr.example.fr";
const PORTAL = "portail.example.org";

const lab = labDir();
const pages: Record<string, Record<string, string>> = {};
let sites: SiteServer;
let daemon: DaemonProcess;
let browser: Browser;
let page: Page;
let cdp: CDPSession;
const consoles: ConsoleLog = { messages: [], errors: [] };

/** The page of an EHR that loads the SDK (its own copy, from its own server) and exposes it. */
const EHR_PAGE = `<!doctype html><html lang="fr"><meta charset="utf-8"><title>EHR</title>
<script type="module">
import { PasserelleClient } from "/passerelle-client.js";
window.PasserelleClient = PasserelleClient;
document.documentElement.dataset.ready = "1";
</script><body><h1>EHR</h1></body></html>`;

interface ProbeAnswer {
  status: string;
  allowed?: boolean;
  daemon?: { name: string };
  blockedByBrowser?: boolean | "unknown";
  reason?: string;
}

type WithSdk = {
  PasserelleClient: new (options: { url: string }) => {
    probe(ms?: number): Promise<ProbeAnswer>;
    connect(): Promise<void>;
    call(method: string, params: unknown): Promise<unknown>;
    close(): void;
  };
};

const probe = (where: Page | Frame, url: string) =>
  where.evaluate(async (u) => {
    const client = new (window as unknown as WithSdk).PasserelleClient({ url: u });
    try {
      return await client.probe(3000);
    } finally {
      client.close();
    }
  }, url);

const connectAndHello = (where: Page | Frame, url: string) =>
  where.evaluate(async (u) => {
    const client = new (window as unknown as WithSdk).PasserelleClient({ url: u });
    try {
      await client.connect();
      const hello = (await client.call("system.hello", { client: { name: "lna test", version: "1" } })) as {
        access: string;
      };
      return hello.access;
    } catch (error) {
      return `failed: ${(error as Error).message}`;
    } finally {
      client.close();
    }
  }, url);

/** What a user (or a policy) decides for the page's origin, for both names of the permission. */
async function setPermission(origin: string, setting: "granted" | "denied" | "prompt"): Promise<void> {
  for (const name of ["loopback-network", "local-network-access"])
    await cdp.send("Browser.setPermission", { permission: { name }, setting, origin });
}

before(async () => {
  const pki = makeWebPki(lab.dir, [EHR, PORTAL]);
  const sdk = await build({
    entryPoints: [path.join(REPO_ROOT, "protocol/src/client.ts")],
    bundle: true,
    format: "esm",
    platform: "browser",
    write: false,
  });
  const sdkText = sdk.outputFiles[0]?.text ?? "";
  sites = await serveSites(pki, { pages });
  pages[EHR] = { "/": EHR_PAGE, "/passerelle-client.js": sdkText };
  pages[PORTAL] = {
    "/without-allow": `<!doctype html><title>portal</title><iframe title="EHR" src="${sites.origin(EHR)}/"></iframe>`,
    "/with-allow": `<!doctype html><title>portal</title><iframe title="EHR" allow="loopback-network" src="${sites.origin(EHR)}/"></iframe>`,
    "/as-the-guide-says": `<!doctype html><title>portal</title><iframe title="EHR" allow="loopback-network; local-network-access" src="${sites.origin(EHR)}/"></iframe>`,
    "/with-old-allow": `<!doctype html><title>portal</title><iframe title="EHR" allow="local-network-access" src="${sites.origin(EHR)}/"></iframe>`,
  };
  const dataDir = path.join(lab.dir, "daemon");
  mkdirSync(dataDir);
  daemon = await startDaemon({ dataDir, args: ["--allow-origin", sites.origin(EHR)] });
  const home = browserHome(path.join(lab.dir, "home"), {
    "Passerelle local CA": daemon.caPem ?? "",
    "LNA lab web CA": pki.caPem,
  });
  browser = await launchBrowser({
    env: { ...process.env, HOME: home },
    args: [
      hostResolverRules([EHR, PORTAL]),
      // The sites' server (127.0.0.1:<port>) counts as a public address; the daemon stays loopback.
      `--ip-address-space-overrides=127.0.0.1:${sites.port}=public`,
      // On by default in this Chromium (156); named so that a build where it is off still tests it.
      // (These are Chromium's feature names; the first test fails if Local Network Access is off.)
      "--enable-features=LocalNetworkAccessChecks,LocalNetworkAccessChecksWebSockets",
    ],
  });
  page = await browser.newPage();
  watchConsole(page, consoles);
  cdp = await browser.context.newCDPSession(page);
  await page.goto(`${sites.origin(EHR)}/`);
  await page.locator("html[data-ready]").waitFor({ state: "attached" });
});

after(async () => {
  await browser?.close();
  await daemon?.stop();
  await sites?.close();
  lab.remove();
});

test("from a public origin, nobody answered the prompt: unreachable, permission-prompt; nothing reaches the daemon", async () => {
  const ehr = sites.origin(EHR);
  await setPermission(ehr, "prompt");
  assert.equal(await page.evaluate(() => window.isSecureContext), true, "an https page");
  const answer = await probe(page, daemon.url);
  assert.deepEqual(answer, { status: "unreachable", blockedByBrowser: true, reason: "permission-prompt" });
  // Chromium blocked it before it left, and says so.
  assert.ok(
    consoles.messages.some((line) => /loopback. address space/.test(line)),
    "Chromium reports the Local Network Access block",
  );
  assert.match(await connectAndHello(page, daemon.url), /^failed/);
});

test("denied by the user or a policy: unreachable, permission-denied", async () => {
  await setPermission(sites.origin(EHR), "denied");
  assert.deepEqual(await probe(page, daemon.url), {
    status: "unreachable",
    blockedByBrowser: true,
    reason: "permission-denied",
  });
  assert.match(await connectAndHello(page, daemon.url), /^failed/);
});

test("granted: running, and the WebSocket connects through Local Network Access", async () => {
  await setPermission(sites.origin(EHR), "granted");
  const answer = await probe(page, daemon.url);
  assert.equal(answer.status, "running");
  assert.equal(answer.allowed, true);
  assert.equal(answer.daemon?.name, "passerelle");
  assert.equal(await connectAndHello(page, daemon.url), "granted");
});

test("an iframe of another site gets the loopback permission only through allow= (loopback-network, or the older local-network-access)", async () => {
  // What is checked is the frame's Permissions-Policy, as Chromium computes it. (Whether a request
  // from a frame without it is blocked cannot be shown here: a permission set through the DevTools
  // protocol is an override that Chromium applies to such a frame too.)
  const portal = sites.origin(PORTAL);
  // `local-network-access` is the older name and an alias of both new ones: it delegates
  // loopback-network too; `loopback-network` alone does not turn the alias on.
  for (const [pathname, allowed] of [
    ["/without-allow", { loopback: false, older: false }],
    ["/with-allow", { loopback: true, older: false }],
    ["/with-old-allow", { loopback: true, older: true }],
    ["/as-the-guide-says", { loopback: true, older: true }],
  ] as const) {
    const framing = await browser.newPage();
    try {
      await framing.goto(`${portal}${pathname}`);
      const frame = await (await framing.locator("iframe").elementHandle())?.contentFrame();
      assert.ok(frame, "the EHR frame");
      await frame.locator("html[data-ready]").waitFor({ state: "attached" });
      const policy = await frame.evaluate(() => {
        const featurePolicy = (
          document as unknown as {
            featurePolicy?: { allowsFeature(f: string): boolean; features(): string[] };
          }
        ).featurePolicy;
        return {
          known: featurePolicy?.features().includes("loopback-network"),
          loopback: featurePolicy?.allowsFeature("loopback-network"),
          older: featurePolicy?.allowsFeature("local-network-access"),
        };
      });
      assert.deepEqual(policy, { known: true, ...allowed }, pathname);
    } finally {
      await framing.close();
    }
  }
});

test("granted, and the daemon is not running: unreachable, not-running", async () => {
  await setPermission(sites.origin(EHR), "granted");
  await daemon.stop();
  assert.deepEqual(await probe(page, daemon.url), {
    status: "unreachable",
    blockedByBrowser: false,
    reason: "not-running",
  });
});
