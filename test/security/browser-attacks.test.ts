/**
 * The attack suite in a real browser (issue #12): headless Chromium (Debian's, through
 * playwright-core) against `passerelle start --simulate` over real TLS — its local CA trusted the
 * way `passerelle trust install` trusts it, in the NSS database of a throwaway HOME, no certificate
 * flag. The attacker's pages and the EHRs live on their own hostnames (`--host-resolver-rules`
 * sends them to one local HTTPS server), so every Origin the daemon sees is the one Chromium sends.
 *
 * - an origin not on the allowlist: 403 at the upgrade, nothing received;
 * - DNS rebinding (an attacker's name resolved to 127.0.0.1, the daemon reached under it): refused
 *   by TLS (the certificate names localhost only) and, past the certificate, by the Host check;
 * - a granted origin framed by an attacker: served as itself (the frame's Origin), the parent gets
 *   nothing;
 * - PIN brute force from a `pinFromPage` origin: stops before the last try, the card not blocked;
 * - 10,000+ requests a second from one origin: RATE_LIMITED and closed, while another origin in
 *   another tab is served normally;
 * - afterwards: no NIR, name, birth date, idNat or PIN in the daemon's logs, its audit trail, its
 *   console or the pages' consoles.
 * The non-reading flood is test/security/flood.test.ts (a page cannot stop reading its socket),
 * another local user test/security/other-user.test.ts.
 */
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { after, before, test } from "node:test";
import type { Page } from "playwright-core";
import { CLOSE_CODES } from "../../protocol/src/index.ts";
import { launchBrowser, watchConsole, type Browser, type ConsoleLog } from "../e2e/browser.ts";
import { openSocket, RpcPeer, startDaemon, type DaemonProcess } from "../helpers/daemon.ts";
import { birthDateForms, daemonFiles, personalDataFound } from "../helpers/personal-data.ts";
import {
  browserHome,
  HOSTS,
  hostResolverRules,
  LAB_SCRIPT,
  labDir,
  labPage,
  makeWebPki,
  serveSites,
  type SiteServer,
} from "./browser-lab.ts";

const SIMULATION_PIN = "1234";
/** The brute force's guesses: numbers that cannot be mistaken for anything else in a log. */
const GUESSES = ["7391", "8264", "5072", "6183"];
/** Bound on waiting for something the daemon or the browser writes. */
const WAIT_MS = 15_000;

const lab = labDir();
const pages: Record<string, Record<string, string>> = {};
let sites: SiteServer;
let daemon: DaemonProcess;
let browser: Browser;
let home: string;
const consoles: ConsoleLog = { messages: [], errors: [] };
/** The personal data the lab's cards hold (read at the start), searched for at the end. */
const personal = new Set<string>();

const daemonUrl = () => `wss://localhost:${daemon.port}/v1`;
const selfOrigin = () => `https://localhost:${daemon.port}`;

async function selfCall(method: string, params: unknown = {}): Promise<Record<string, unknown>> {
  const opened = await openSocket(daemon, { origin: selfOrigin() });
  assert.ok("socket" in opened, "the daemon's own origin connects");
  const rpc = new RpcPeer(opened.socket);
  try {
    const answer = await rpc.call(method, params);
    assert.ok(answer["result"], `${method}: ${JSON.stringify(answer["error"])}`);
    return answer["result"] as Record<string, unknown>;
  } finally {
    rpc.close();
  }
}

async function until<T>(what: string, probe: () => T | undefined | false): Promise<T> {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const value = probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function openPage(host: string, pathname = "/"): Promise<Page> {
  const page = await browser.newPage();
  watchConsole(page, consoles);
  await page.goto(`${sites.origin(host)}${pathname}`);
  await page.waitForFunction(() => "lab" in window);
  return page;
}

interface Session {
  opened: boolean;
  protocol: string | null;
  messages: string[];
  closeCode: number | null;
  error: boolean;
}

const session = (page: { evaluate: Page["evaluate"] }, url: string, frames: string[] = [], ms = 5000) =>
  page.evaluate(
    ([u, f, m]) =>
      (window as unknown as { lab: { session(...a: unknown[]): Promise<Session> } }).lab.session(u, f, m),
    [url, frames, ms] as const,
  );

type Lab = {
  connect(url: string): Promise<number>;
  call(handle: number, method: string, params?: unknown): Promise<Record<string, unknown>>;
};

interface FloodStats {
  sent: number;
  results: number;
  rateLimited: number;
  otherErrors: number;
  connections: number;
  refused: number;
  closeCodes: number[];
  startedAt: number;
  endedAt: number;
  firstRateLimitedAt: number;
  sendMs: number;
}
type LabFlood = { flood(url: string, ms: number, burst: number): Promise<FloodStats> };

const HELLO_PARAMS = { client: { name: "attack lab", version: "1" } };
const HELLO = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "system.hello", params: HELLO_PARAMS });

before(async () => {
  const names = Object.values(HOSTS);
  const pki = makeWebPki(lab.dir, names);
  sites = await serveSites(pki, { pages });
  for (const [name, host] of Object.entries(HOSTS)) pages[host] = { "/": labPage(`${name} (${host})`) };
  pages[HOSTS.attacker]!["/framing"] = labPage(
    "attacker framing the EHR",
    `<iframe title="EHR" src="${sites.origin(HOSTS.ehr)}/" width="600" height="200"></iframe>`,
  );
  const dataDir = path.join(lab.dir, "daemon");
  mkdirSync(dataDir);
  // The product's defaults (pairing on: any https origin may connect and ask), and the attacker on
  // the administrator's deniedOrigins.
  writeFileSync(
    path.join(dataDir, "test-config.json"),
    JSON.stringify({
      openPinPage: false,
      pairing: { enabled: true },
      deniedOrigins: [sites.origin(HOSTS.attacker)],
    }),
  );
  daemon = await startDaemon({
    dataDir,
    args: [
      "--simulate",
      "--log-level",
      "debug",
      "--allow-origin",
      sites.origin(HOSTS.ehr),
      "--allow-origin",
      sites.origin(HOSTS.otherEhr),
    ],
  });
  home = browserHome(path.join(lab.dir, "home"), {
    "Passerelle local CA": daemon.caPem ?? "",
    "attack lab web CA": pki.caPem,
  });
  browser = await launchBrowser({
    env: { ...process.env, HOME: home },
    args: [hostResolverRules(names)],
  });
  // What the lab's cards hold: the scan at the end looks for all of it.
  const cps = (await selfCall("cps.read")) as { holder: Record<string, string> };
  for (const key of ["lastName", "firstName", "idNat", "nationalId"]) personal.add(cps.holder[key] ?? "");
  const vitale = (await selfCall("vitale.read")) as {
    beneficiaries: Array<{ nir: string; lastName: string; firstName: string; birthDate: string }>;
  };
  for (const b of vitale.beneficiaries) {
    for (const value of [b.nir, b.lastName, b.firstName]) personal.add(value);
    for (const form of birthDateForms(b.birthDate)) personal.add(form);
  }
  assert.ok(personal.size >= 6, "the lab's cards hold people to look for");
});

after(async () => {
  await browser?.close();
  await daemon?.stop();
  await sites?.close();
  lab.remove();
});

test("an origin the administrator denies is refused at the upgrade (403) and receives nothing; one nobody listed gets nothing but the right to ask", async () => {
  const attacker = await openPage(HOSTS.attacker);
  const ehr = await openPage(HOSTS.ehr);
  const unlisted = await openPage(HOSTS.unlisted);
  try {
    // Control: the same page script from an allowed origin is served (TLS and the lab work).
    const served = await session(ehr, daemonUrl(), [HELLO], 5000);
    assert.equal(served.opened, true);
    assert.equal(served.protocol, "passerelle.v1");
    assert.match(served.messages[0] ?? "", /"access":"granted"/);

    const refused = await session(attacker, daemonUrl(), [HELLO], 5000);
    assert.equal(refused.opened, false, "the WebSocket never opens");
    assert.deepEqual(refused.messages, [], "not one frame reaches the attacker");
    assert.equal(refused.closeCode, 1006);
    // Chromium says why: the HTTP answer to its upgrade was 403.
    await until("Chromium's report of the 403", () =>
      consoles.messages.find(
        (line) => line.includes(`localhost:${daemon.port}/v1`) && /Unexpected response code: 403/.test(line),
      ),
    );
    // Its fetch of /health gets no CORS answer: the page learns nothing (not even the version).
    const health = await attacker.evaluate(
      (url) =>
        fetch(url).then(
          (response) => `read ${response.status}`,
          (error: Error) => `refused ${error.name}`,
        ),
      `${selfOrigin()}/health`,
    );
    assert.equal(health, "refused TypeError");
    const origin = sites.origin(HOSTS.attacker);
    await until("the daemon's log of the refusal", () =>
      daemon
        .stderr()
        .split("\n")
        .find((line) => line.includes("upgrade refused") && line.includes(origin)),
    );

    // An https site nobody listed may connect (pairing), and is told nothing before a grant.
    const frames = ["readers.list", "vitale.read", "cps.read"].map((method, i) =>
      JSON.stringify({ jsonrpc: "2.0", id: i + 2, method, params: {} }),
    );
    const asked = await session(unlisted, daemonUrl(), [HELLO, ...frames], 5000);
    assert.equal(asked.opened, true);
    assert.match(asked.messages[0] ?? "", /"access":"none"/);
    assert.equal(asked.messages.length, 1 + frames.length);
    for (const answer of asked.messages.slice(1)) assert.match(answer, /"reason":"ACCESS_DENIED"/);
  } finally {
    await attacker.close();
    await ehr.close();
    await unlisted.close();
  }
});

test("DNS rebinding: the attacker's name resolved to 127.0.0.1 reaches nothing (TLS, then the Host check)", async () => {
  const rebound = `https://${HOSTS.rebinding}:${daemon.port}`;
  /** The attacker's page as its own server served it, before its name was rebound to 127.0.0.1. */
  const fromAttacker = async (page: Page) => {
    watchConsole(page, consoles);
    await page.route(`${rebound}/`, (route) =>
      // Only the navigation: the page's own requests go to whatever the name now resolves to.
      route.request().isNavigationRequest()
        ? route.fulfill({ contentType: "text/html", body: labPage("rebinding attacker") })
        : route.fallback(),
    );
    await page.route(`${rebound}/lab.js`, (route) =>
      route.fulfill({ contentType: "text/javascript", body: LAB_SCRIPT }),
    );
    await page.goto(`${rebound}/`);
    await page.waitForFunction(() => "lab" in window);
  };
  const sameOriginGet = (page: Page, pathname: string) =>
    page.evaluate(
      (p) =>
        fetch(p).then(
          (response) => `status ${response.status}`,
          (error: Error) => `failed ${error.name}`,
        ),
      pathname,
    );

  // 1. As the browser sees it: the daemon's certificate names localhost only.
  const page = await browser.newPage();
  try {
    await fromAttacker(page);
    assert.equal(await sameOriginGet(page, "/health"), "failed TypeError");
    const ws = await session(page, `wss://${HOSTS.rebinding}:${daemon.port}/v1`, [HELLO], 5000);
    assert.equal(ws.opened, false);
    assert.deepEqual(ws.messages, []);
  } finally {
    await page.close();
  }

  // 2. Past the certificate (a user who clicks through the warning): the Host header is refused.
  const reckless = await launchBrowser({
    env: { ...process.env, HOME: home },
    args: [hostResolverRules(Object.values(HOSTS))],
    ignoreHTTPSErrors: true,
  });
  try {
    const control = await reckless.newPage();
    await control.goto(`${selfOrigin()}/`);
    assert.equal(await sameOriginGet(control, "/health"), "status 200", "control: Host localhost is served");
    const attacker = await reckless.newPage();
    await fromAttacker(attacker);
    for (const pathname of ["/health", "/", "/pin.html", "/sdk/passerelle-client.js"])
      assert.equal(await sameOriginGet(attacker, pathname), "status 403", pathname);
    const ws = await session(attacker, `wss://${HOSTS.rebinding}:${daemon.port}/v1`, [HELLO], 5000);
    assert.equal(ws.opened, false);
    assert.deepEqual(ws.messages, []);
  } finally {
    await reckless.close();
  }
});

test("a granted origin framed by an attacker is served as itself; the attacker's parent page gets nothing", async () => {
  const page = await openPage(HOSTS.attacker, "/framing");
  try {
    const ehrOrigin = sites.origin(HOSTS.ehr);
    const frame = await until("the EHR frame", () =>
      page.frames().find((f) => f.url().startsWith(ehrOrigin)),
    );
    await frame.waitForFunction(() => "lab" in window);
    // Inside the frame, the EHR's own script: granted, it may even verify the PIN (pinFromPage).
    const answers = await frame.evaluate(
      async ([url, pin, hello]) => {
        const lab = (window as unknown as { lab: Lab }).lab;
        const handle = await lab.connect(url);
        return [
          await lab.call(handle, "system.hello", hello),
          await lab.call(handle, "cps.verifyPin", { pin }),
        ];
      },
      [daemonUrl(), SIMULATION_PIN, HELLO_PARAMS] as const,
    );
    assert.equal((answers[0]?.["result"] as { access: string }).access, "granted");
    assert.equal((answers[1]?.["result"] as { verified: boolean }).verified, true);
    // The audit trail names the frame's origin, the one Chromium sent: not the parent's.
    const audit = readFileSync(path.join(daemon.dataDir, "audit", "audit.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as { origin?: string; method?: string });
    const last = audit.findLast((record) => record.method === "cps.verifyPin");
    assert.equal(last?.origin, ehrOrigin);
    assert.ok(!audit.some((record) => record.origin?.includes(HOSTS.attacker)));

    // The parent: its own WebSocket is refused, and it cannot read into the frame.
    const parent = await session(page, daemonUrl(), [HELLO], 5000);
    assert.equal(parent.opened, false);
    assert.deepEqual(parent.messages, []);
    const peek = await page.evaluate(() => {
      try {
        return String(window.frames[0]?.document.body.textContent);
      } catch (error) {
        return (error as Error).name;
      }
    });
    assert.equal(peek, "SecurityError");
  } finally {
    await page.close();
  }
});

test("PIN brute force from a pinFromPage origin stops before the last try; the card is not blocked", async () => {
  const page = await openPage(HOSTS.ehr);
  try {
    const answers = await page.evaluate(
      async ([url, guesses]) => {
        const lab = (window as unknown as { lab: Lab }).lab;
        const handle = await lab.connect(url);
        const out: Array<Record<string, unknown>> = [];
        // What a hostile script would do: every guess, then insist with confirmLastTry.
        for (const pin of guesses)
          out.push(await lab.call(handle, "cps.verifyPin", { pin, confirmLastTry: true }));
        out.push(await lab.call(handle, "cps.read", {}));
        return out;
      },
      [daemonUrl(), GUESSES] as const,
    );
    const reasons = answers
      .slice(0, GUESSES.length)
      .map((answer) => (answer["error"] as { data?: { reason?: string } } | undefined)?.data?.reason);
    assert.deepEqual(reasons, ["PIN_INCORRECT", "PIN_INCORRECT", "PIN_LAST_TRY", "PIN_LAST_TRY"]);
    const read = answers[GUESSES.length]?.["result"] as { pin: { triesRemaining?: number } };
    assert.equal(read.pin.triesRemaining, 1, "the page sees one try left");
    // The card itself, asked from the daemon's own origin: one try left, not blocked.
    const card = (await selfCall("cps.read")) as { pin: { triesRemaining?: number } };
    assert.equal(card.pin.triesRemaining, 1);
  } finally {
    await page.close();
  }
});

test("10,000+ requests a second from one origin: RATE_LIMITED and closed, while another origin in another tab is served", async (t) => {
  const flooder = await openPage(HOSTS.ehr);
  const other = await openPage(HOSTS.otherEhr);
  try {
    await other.bringToFront(); // the served tab is the one the user looks at
    const FLOOD_MS = 3000;
    const [flood, served] = await Promise.all([
      flooder.evaluate(([url, ms]) => (window as unknown as { lab: LabFlood }).lab.flood(url, ms, 10_000), [
        daemonUrl(),
        FLOOD_MS,
      ] as const),
      other.evaluate(
        async ([url, ms]) => {
          const lab = (window as unknown as { lab: Lab }).lab;
          const handle = await lab.connect(url);
          const calls: Array<{ at: number; ok: boolean; answer: string }> = [];
          const end = Date.now() + ms;
          for (let i = 0; Date.now() < end; i++) {
            const answer = await lab.call(handle, i % 5 === 4 ? "vitale.read" : "system.ping", {});
            calls.push({
              at: Date.now(),
              ok: "result" in answer,
              answer: answer["result"] ? "" : JSON.stringify(answer),
            });
            await new Promise((resolve) => setTimeout(resolve, 40));
          }
          return { calls, visibility: document.visibilityState };
        },
        [daemonUrl(), FLOOD_MS] as const,
      ),
    ]);
    const seconds = (flood.endedAt - flood.startedAt) / 1000;
    t.diagnostic(
      `flood: ${flood.sent} requests in bursts of 10,000 written at ` +
        `${Math.round(flood.sent / (flood.sendMs / 1000))}/s (${seconds.toFixed(1)} s in all) over ` +
        `${flood.connections} connections (${flood.refused} refused at the upgrade): ${flood.results} answered, ` +
        `${flood.rateLimited} RATE_LIMITED, close codes ${[...new Set(flood.closeCodes)].join(",")}; ` +
        `the other origin: ${served.calls.filter((c) => c.ok).length}/${served.calls.length} calls served ` +
        `(tab ${served.visibility})`,
    );
    assert.ok(flood.sent >= 10_000, `the page sent ${flood.sent} requests`);
    assert.ok(flood.rateLimited > 0, "the flooding origin is told RATE_LIMITED");
    assert.ok(flood.results < flood.sent / 10, `${flood.results} of ${flood.sent} answered: not limited`);
    assert.ok(flood.closeCodes.includes(CLOSE_CODES.tooManyRefusals), "and its connections are closed");
    const failed = served.calls.filter((call) => !call.ok);
    assert.deepEqual(failed, [], "every call of the other origin is served");
    const during = served.calls.filter((c) => c.at >= flood.startedAt && c.at <= flood.endedAt);
    assert.ok(during.length >= 5, `${during.length} calls of the other origin served during the flood`);
  } finally {
    await flooder.close();
    await other.close();
  }
});

test("after the suite: no NIR, name, birth date, idNat or PIN in the logs, the audit trail or any console", async () => {
  await browser.close();
  assert.equal(await daemon.stop(), 0);
  const captured = [
    ...daemonFiles(daemon.dataDir),
    { source: "daemon stderr", text: daemon.stderr() },
    { source: "pages' consoles", text: [...consoles.messages, ...consoles.errors].join("\n") },
    { source: "the sites' request log", text: sites.requests.join("\n") },
  ];
  assert.ok(
    captured.some(({ source }) => source.endsWith(".log")),
    "the daemon's log file exists",
  );
  assert.ok(
    captured.some(({ source }) => source.endsWith("audit.jsonl")),
    "the audit trail exists",
  );
  assert.deepEqual(personalDataFound(captured, personal, [SIMULATION_PIN, ...GUESSES]), []);
});
