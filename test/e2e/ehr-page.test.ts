/**
 * The example EHR page (docs/examples/ehr-page/) on its own origin, in a real headless Chromium,
 * against `passerelle start --simulate` with that origin allowed: it loads the SDK from the daemon,
 * connects, reads the Vitale card, gets an INSi answer (the CPS PIN typed in the daemon's own PIN
 * page, never in the EHR), follows card removal and insertion, survives a daemon restart, and is
 * turned away when its origin is not allowed. axe-core, console and screenshot as for every page.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import type { Page } from "playwright-core";
import { serveExample, type ExampleServer } from "../../docs/examples/ehr-page/serve.ts";
import { openSocket, RpcPeer, startDaemon, type DaemonProcess } from "../helpers/daemon.ts";
import {
  assertNoPersonalData,
  docScreenshot,
  launchBrowser,
  screenshot,
  seriousAxeViolations,
  watchConsole,
  type Browser,
  type ConsoleLog,
} from "./browser.ts";

const SIMULATION_PIN = "1234";

interface Beneficiary {
  index: number;
  nir: string;
  lastName: string;
  firstName: string;
  birthDate: string;
}
interface LabStatus {
  slots: Array<{ slot: number; readerId: string; card: string | null }>;
  profiles: string[];
}

let example: ExampleServer;
let daemon: DaemonProcess;
let dataDir: string;
let browser: Browser;
let page: Page;
const consoleLog: ConsoleLog = { messages: [], errors: [] };
const personalData = new Set<string>();

async function startSimulation(port = 0): Promise<DaemonProcess> {
  return startDaemon({
    args: ["--simulate", "--allow-origin", example.origin],
    plaintext: true,
    dataDir,
    port,
  });
}

/** A WebSocket client on the daemon's own origin: the lab controls and the reference answers. */
async function selfRpc(): Promise<RpcPeer> {
  const opened = await openSocket(daemon, { origin: `http://localhost:${daemon.port}` });
  assert.ok("socket" in opened);
  return new RpcPeer(opened.socket);
}

async function call<T>(method: string, params: unknown = {}): Promise<T> {
  const rpc = await selfRpc();
  try {
    const answer = await rpc.call(method, params);
    if (answer["error"]) throw new Error(`${method}: ${JSON.stringify(answer["error"])}`);
    return answer["result"] as T;
  } finally {
    rpc.close();
  }
}

before(async () => {
  example = await serveExample({ port: 0 });
  dataDir = mkdtempSync(path.join(tmpdir(), "passerelle-e2e-"));
  daemon = await startSimulation();
  browser = await launchBrowser();
  page = await browser.newPage();
  watchConsole(page, consoleLog);
});

after(async () => {
  assertNoPersonalData(consoleLog, [...personalData]);
  await browser?.close();
  await daemon?.stop();
  await example?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

function exampleUrl(server: ExampleServer = example): string {
  return `${server.url}?passerelle=${encodeURIComponent(daemon.url)}`;
}

async function beneficiariesOnCard(): Promise<Beneficiary[]> {
  const { beneficiaries } = await call<{ beneficiaries: Beneficiary[] }>("vitale.read");
  for (const b of beneficiaries)
    for (const value of [b.nir, b.lastName, b.firstName]) personalData.add(value);
  return beneficiaries;
}

async function expectBeneficiaries(): Promise<void> {
  const beneficiaries = await beneficiariesOnCard();
  const buttons = page.locator("#beneficiaries button");
  await buttons.nth(beneficiaries.length - 1).waitFor();
  assert.equal(await buttons.count(), beneficiaries.length);
  for (const [i, b] of beneficiaries.entries()) {
    assert.match(
      (await buttons.nth(i).textContent()) ?? "",
      new RegExp(`^${escape(b.lastName)} ${escape(b.firstName)}`),
    );
  }
}

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

test("from its own origin, the EHR page loads the SDK, connects and reads the Vitale card", async () => {
  assert.notEqual(example.origin, `http://localhost:${daemon.port}`, "two different origins");
  await page.goto(exampleUrl());
  await page.locator("#passerelle-state[data-state=ready]").waitFor();
  assert.match((await page.locator("#passerelle-state").textContent()) ?? "", /SIMULATION/);
  await expectBeneficiaries();
  // The professional whose CPS will sign is named, from the card.
  const { holder } = await call<{ holder: { firstName: string; lastName: string } }>("cps.read");
  personalData.add(holder.lastName);
  await page.locator("#professional", { hasText: `${holder.firstName} ${holder.lastName}` }).waitFor();
});

test("INSi: the PIN is typed in the daemon's PIN page, the EHR gets the answer", async () => {
  // The simulation always starts with a CPS to sign with (DEFAULT_LAB_CARDS): without it this test
  // has nothing to show, so that is a failure, not a skip.
  const lab = await call<LabStatus>("lab.status");
  assert.ok(lab.profiles.includes("cps"), `the build has a CPS profile: ${lab.profiles.join(", ")}`);
  assert.ok(
    lab.slots.some((slot) => slot.card === "cps"),
    `a CPS is in a slot: ${JSON.stringify(lab.slots)}`,
  );
  const [chosen] = await beneficiariesOnCard();
  assert.ok(chosen);
  assert.equal(await page.locator("#patient").isVisible(), false, "nobody chosen yet");
  // A lab script connected from the daemon's own origin all along is not a PIN page (it never asks
  // for the PIN requests): it must not make the EHR's call wait for a PIN nobody is shown.
  const labScript = await selfRpc();
  const link = page.locator("#pin-page:not([hidden]) #pin-page-link");
  try {
    assert.ok((await labScript.call("lab.status", {}))["result"], "the lab script is served");
    await page.locator("#beneficiaries button").first().click();
    // Which beneficiary was chosen is said in words, the date as a French reader writes it.
    const [year, month, day] = chosen.birthDate.split("-");
    assert.equal(
      await page.locator("#patient").textContent(),
      `Patient : ${chosen.lastName} ${chosen.firstName}, né(e) le ${day}/${month}/${year}`,
    );
    assert.equal(await page.locator("#beneficiaries button").first().getAttribute("aria-pressed"), "true");
    // No PIN page is open and the test daemon opens no window: the EHR is told at once (PIN_REQUIRED
    // with the page's address), not after a silent 60 s wait, and offers the link.
    const offered = Date.now();
    await link.waitFor({ timeout: 5_000 });
    assert.ok(Date.now() - offered < 5_000);
  } finally {
    labScript.close();
  }
  assert.equal(await link.getAttribute("href"), `http://localhost:${daemon.port}/pin.html`);
  await screenshot(page, "ehr-page-pin-needed");
  const [pinPage] = await Promise.all([page.context().waitForEvent("page"), link.click()]);
  watchConsole(pinPage, consoleLog);
  try {
    const request = pinPage.locator(".pin-request");
    await request.waitFor();
    assert.match((await request.textContent()) ?? "", new RegExp(escape(example.origin)), "shows who asks");
    await request.locator("input[type=password]").fill(SIMULATION_PIN);
    await request.locator("button[type=submit]").click();
    await pinPage.locator(".pin-note[data-kind=ok]").waitFor();
  } finally {
    await pinPage.close();
  }
  const status = page.locator("#ins-status");
  await page.waitForFunction(
    () =>
      document.getElementById("pin-page")?.hidden === true &&
      !document.getElementById("ins-status")?.textContent?.startsWith("Interrogation"),
  );
  const text = (await status.textContent()) ?? "";
  // The demo card's insured person is one of the simulator's identities: it must be found.
  assert.match(text, /^Identité trouvée\./, text);
  const ins = (await page.locator("#ins-value").textContent()) ?? "";
  assert.match(ins, /^[0-9]{6}[0-9AB][0-9]{6} [0-9]{2} \((NIR|NIA)\)$/);
  personalData.add(ins.slice(0, 13));
  await screenshot(page, "ehr-page-insi");
});

test("card removal and insertion reach the EHR page as events", async () => {
  const lab = await call<LabStatus>("lab.status");
  const vitale = lab.slots.find((slot) => slot.card === "vitale");
  assert.ok(vitale);
  await call("lab.removeCard", { slot: vitale.slot });
  await page.locator("#vitale-hint", { hasText: "Carte Vitale retirée." }).waitFor();
  assert.equal(
    await page.locator("#beneficiaries button").count(),
    0,
    "the patient leaves the screen with the card",
  );
  await call("lab.insertCard", { slot: vitale.slot, card: "vitale" });
  await expectBeneficiaries();
});

test("accessibility and a screenshot of the EHR page", async () => {
  assert.deepEqual(await seriousAxeViolations(page), []);
  await screenshot(page, "ehr-page");
  // For the docs: the receptionist's screen, desktop and phone (French: the example is French only).
  await page.locator("#beneficiaries button").first().waitFor();
  await page.setViewportSize({ width: 1280, height: 800 });
  await docScreenshot(page, "ehr-page-fr-desktop");
  await page.setViewportSize({ width: 390, height: 844 });
  await docScreenshot(page, "ehr-page-fr-phone");
  await page.setViewportSize({ width: 1280, height: 900 });
});

test("the EHR page reconnects by itself after the daemon restarts", async () => {
  const port = daemon.port;
  await daemon.stop();
  await page.locator("#passerelle-state[data-state=reconnecting]").waitFor();
  daemon = await startSimulation(port);
  await page.locator("#passerelle-state[data-state=ready]").waitFor();
  await expectBeneficiaries();
});

test("an origin the daemon does not allow gets nothing, and the page says so", async () => {
  const stranger = await serveExample({ port: 0 });
  const other = await browser.newPage();
  watchConsole(other, { messages: [], errors: [] }); // its CORS refusals are expected
  try {
    await other.goto(exampleUrl(stranger));
    // The daemon runs but hands its SDK only to origins it allows (CORS): the page cannot load it,
    // and says the one thing it can know — not running, or not allowing this software. It must not
    // say "not running" (that is the probe's answer once the SDK loaded, which it may not).
    await other.locator("#passerelle-state[data-state=absent]").waitFor();
    const notice = other.locator("#notice");
    await notice.filter({ hasText: /\S/ }).waitFor();
    assert.equal(
      await notice.textContent(),
      "Passerelle ne répond pas sur ce poste (ou n'autorise pas ce logiciel). Nouvel essai dans un instant…",
    );
    assert.equal(await other.locator("#beneficiaries button").count(), 0);
  } finally {
    await other.close();
    await stranger.close();
  }
});
