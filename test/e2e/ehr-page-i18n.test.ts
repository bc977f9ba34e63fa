/**
 * The example EHR page in French (default) and English, in a real headless Chromium against
 * `passerelle start --simulate`: the switch re-says everything already on screen (no French word
 * left once in English), the choice is kept across a reload, and a CPS that expired or expires
 * within 30 days is said to at insertion (`cps-expired`, `cps-expiring`), in both languages.
 * The key-by-key completeness of both languages is checked by test/e2e/messages.test.ts.
 */
import assert from "node:assert/strict";
import path from "node:path";
import { after, before, test } from "node:test";
import { pathToFileURL } from "node:url";
import type { Page } from "playwright-core";
import { CPS_PROFILES, EXPIRING_CPS_DAYS } from "../../daemon/src/simulator/cards/cps3/profile.ts";
import { serveExample, type ExampleServer } from "../../docs/examples/ehr-page/serve.ts";
import { openSocket, REPO_ROOT, RpcPeer, startDaemon, type DaemonProcess } from "../helpers/daemon.ts";
import {
  assertNoPersonalData,
  docScreenshot,
  launchBrowser,
  watchConsole,
  type Browser,
  type ConsoleLog,
} from "./browser.ts";

interface LabStatus {
  slots: Array<{ slot: number; readerId: string; card: string | null }>;
}

const { STRINGS } = (await import(
  pathToFileURL(path.join(REPO_ROOT, "docs/examples/ehr-page/i18n.js")).href
)) as { STRINGS: Record<string, Record<string, string>> };

let example: ExampleServer;
let daemon: DaemonProcess;
let browser: Browser;
let page: Page;
let rpc: RpcPeer;
const consoleLog: ConsoleLog = { messages: [], errors: [] };
const personalData = new Set<string>();

async function call<T>(method: string, params: unknown = {}): Promise<T> {
  const answer = await rpc.call(method, params);
  if (answer["error"]) throw new Error(`${method}: ${JSON.stringify(answer["error"])}`);
  return answer["result"] as T;
}

/** Puts `profile` in the CPS's slot (slot 0 in the simulation) and waits for the page to name it. */
async function putCps(profile: string): Promise<void> {
  const lab = await call<LabStatus>("lab.status");
  const slot = lab.slots.find((entry) => entry.slot === 0);
  assert.ok(slot?.card?.startsWith("cps"), `the CPS in slot 0: ${JSON.stringify(lab.slots)}`);
  await call("lab.removeCard", { slot: 0 });
  await page
    .locator("#professional", { hasText: STRINGS["fr"]?.["professional.insert"] ?? "?" })
    .or(page.locator("#professional", { hasText: STRINGS["en"]?.["professional.insert"] ?? "?" }))
    .waitFor();
  await call("lab.insertCard", { slot: 0, card: profile });
  await page.locator("#professional", { hasText: /\(carte CPS\)|\(CPS card\)/ }).waitFor();
}

before(async () => {
  example = await serveExample({ port: 0 });
  daemon = await startDaemon({ args: ["--simulate", "--allow-origin", example.origin], plaintext: true });
  const opened = await openSocket(daemon, { origin: `http://localhost:${daemon.port}` });
  assert.ok("socket" in opened);
  rpc = new RpcPeer(opened.socket);
  await call("system.hello", { client: { name: "e2e", version: "1" } });
  const { beneficiaries } = await call<{ beneficiaries: Array<{ nir: string; lastName: string }> }>(
    "vitale.read",
  );
  for (const b of beneficiaries) for (const value of [b.nir, b.lastName]) personalData.add(value);
  browser = await launchBrowser();
  page = await browser.newPage();
  watchConsole(page, consoleLog);
});

after(async () => {
  assertNoPersonalData(consoleLog, [...personalData]);
  rpc?.close();
  await browser?.close();
  await daemon?.stop();
  await example?.close();
});

/** French words (whole sentences of i18n.js, without parameters) still on screen. */
async function frenchLeftOnScreen(): Promise<string[]> {
  const text = await page.evaluate(() => `${document.title}\n${document.body.innerText}`);
  const fr = STRINGS["fr"] ?? {};
  const en = STRINGS["en"] ?? {};
  return Object.entries(fr)
    .filter(
      ([key, value]) =>
        !value.includes("{") && value.length > 3 && value !== en[key] && key !== "lang.toggle",
    )
    .map(([, value]) => value.trim())
    .filter((value) => text.includes(value));
}

test("French by default; the switch says everything on screen in English, and the choice is kept", async () => {
  await page.goto(`${example.url}?passerelle=${encodeURIComponent(daemon.url)}`);
  await page.locator("#passerelle-state[data-state=ready]").waitFor();
  await page.locator("#beneficiaries button").first().waitFor();
  await page.locator("#professional", { hasText: "(carte CPS)" }).waitFor();
  assert.equal(await page.evaluate(() => document.documentElement.lang), "fr");
  assert.equal(await page.locator("#passerelle-state").textContent(), "prêt (SIMULATION)");
  assert.match((await page.locator("#beneficiaries button").first().textContent()) ?? "", / — né\(e\) le /);
  // A beneficiary chosen: the page says who, and asks INSi (its status on screen too).
  await page.locator("#beneficiaries button").first().click();
  await page.locator("#patient:not([hidden])").waitFor();

  await page.locator("#lang-toggle").click();
  await page.locator("html[lang=en]").waitFor({ state: "attached" });
  assert.equal(await page.locator("#passerelle-state").textContent(), "ready (SIMULATION)");
  assert.match((await page.locator("#professional").textContent()) ?? "", /\(CPS card\)$/);
  assert.match((await page.locator("#beneficiaries button").first().textContent()) ?? "", / — born /);
  assert.match((await page.locator("#patient").textContent()) ?? "", /^Patient: /);
  assert.equal(await page.locator("#lang-toggle").textContent(), "Français");
  assert.equal(await page.title(), STRINGS["en"]?.["page.title"]);
  assert.deepEqual(await frenchLeftOnScreen(), [], "French words left on the English page");
  await docScreenshot(page, "ehr-page-en-desktop");

  await page.reload();
  await page.locator("#passerelle-state[data-state=ready]").waitFor();
  assert.equal(await page.evaluate(() => document.documentElement.lang), "en", "the choice is kept");
  assert.equal(await page.locator("#passerelle-state").textContent(), "ready (SIMULATION)");
  // The hint asks who the patient is once the card's beneficiaries are listed (read after "ready").
  await page.locator("#beneficiaries button").first().waitFor();
  assert.equal(await page.locator("#vitale-hint").textContent(), "Who is the patient?");

  await page.locator("#lang-toggle").click();
  await page.locator("html[lang=fr]").waitFor({ state: "attached" });
  assert.equal(await page.locator("#vitale-hint").textContent(), "Qui est le patient ?");
});

test("a CPS that expires within 30 days, or expired, is said to at insertion, in both languages", async () => {
  await page.goto(`${example.url}?passerelle=${encodeURIComponent(daemon.url)}`);
  // French, whatever an earlier test left as the kept choice.
  await page.evaluate(() => localStorage.clear());
  await page.reload();
  await page.locator("#passerelle-state[data-state=ready]").waitFor();
  assert.equal(await page.locator("#professional-expiry").isVisible(), false, "a CPS valid for years");

  await putCps(CPS_PROFILES.cpsExpiring);
  const warning = page.locator("#professional-expiry[data-kind=warning]:not([hidden])");
  await warning.waitFor();
  const { certificates } = await call<{ certificates: { authentication: { notAfter: string } } }>("cps.read");
  const [year, month, day] = certificates.authentication.notAfter.slice(0, 10).split("-");
  assert.equal(
    await warning.textContent(),
    `Cette CPS expire le ${day}/${month}/${year} (dans ${EXPIRING_CPS_DAYS} jour(s)) : pensez à la renouveler.`,
  );
  await page.locator("#lang-toggle").click();
  await page.locator("html[lang=en]").waitFor({ state: "attached" });
  assert.equal(
    await warning.textContent(),
    `This CPS expires on ${day}/${month}/${year} (in ${EXPIRING_CPS_DAYS} day(s)): have it renewed.`,
  );
  await page.locator("#lang-toggle").click();
  await page.locator("html[lang=fr]").waitFor({ state: "attached" });

  await putCps(CPS_PROFILES.cpsExpired);
  const expired = page.locator("#professional-expiry[data-kind=error]:not([hidden])");
  await expired.waitFor();
  assert.match(
    (await expired.textContent()) ?? "",
    /^Cette CPS a expiré le \d\d\/\d\d\/\d{4} : l'INSi la refusera/,
  );

  await putCps(CPS_PROFILES.cps);
  await page.locator("#professional-expiry[hidden]").waitFor({ state: "attached" });
});
