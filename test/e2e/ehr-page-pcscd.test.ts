/**
 * The example EHR page against a daemon WITHOUT --simulate: the real pcscd, a Vitale test card
 * plugged into its virtual reader (vpcd) by `passerelle lab insert`, in a real headless Chromium.
 * The page sees the insertion, reads the card, tells the user a human sentence when INSi is not
 * configured, and sees the removal when the card process ends. Holds the pcscd lab lock throughout.
 */
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { after, before, test } from "node:test";
import { pathToFileURL } from "node:url";
import type { Page } from "playwright-core";
import { serveExample, type ExampleServer } from "../../docs/examples/ehr-page/serve.ts";
import {
  cliCommand,
  openSocket,
  REPO_ROOT,
  RpcPeer,
  startDaemon,
  type DaemonProcess,
} from "../helpers/daemon.ts";
import { acquirePcscd, type PcscdLab } from "../helpers/pcscd.ts";
import {
  assertNoPersonalData,
  launchBrowser,
  screenshot,
  watchConsole,
  type Browser,
  type ConsoleLog,
} from "./browser.ts";

/** Bound on waiting for `lab insert` to say the card is in. */
const INSERT_TIMEOUT_MS = 15_000;

let lab: PcscdLab;
let example: ExampleServer;
let daemon: DaemonProcess;
let browser: Browser;
let page: Page;
const cards = new Set<ChildProcess>();
const consoleLog: ConsoleLog = { messages: [], errors: [] };
const personalData = new Set<string>();

before(async () => {
  lab = await acquirePcscd();
  example = await serveExample({ port: 0 });
  daemon = await startDaemon({ args: ["--allow-origin", example.origin], plaintext: true });
  browser = await launchBrowser();
  page = await browser.newPage();
  watchConsole(page, consoleLog);
});

after(async () => {
  for (const card of cards) card.kill("SIGTERM");
  assertNoPersonalData(consoleLog, [...personalData]);
  await browser?.close();
  await daemon?.stop();
  await example?.close();
  await lab?.release();
});

/** `passerelle lab insert --slot N --card <profile>`: the card stays in until the process ends. */
async function insertCard(slot: number, profile: string): Promise<ChildProcess> {
  const { command, args } = cliCommand(["lab", "insert", "--slot", String(slot), "--card", profile]);
  const child = spawn(command, args, { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "pipe"] });
  cards.add(child);
  let stderr = "";
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`lab insert did not insert:\n${stderr}`)),
      INSERT_TIMEOUT_MS,
    );
    let stdout = "";
    child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
      stdout += chunk;
      if (/^inserted /m.test(stdout)) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`lab insert exited with ${code}:\n${stderr}`));
    });
  });
  return child;
}

async function removeCard(child: ChildProcess): Promise<void> {
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGTERM");
  await exited;
  cards.delete(child);
}

async function vitaleRead(): Promise<Array<{ nir: string; lastName: string; firstName: string }>> {
  const opened = await openSocket(daemon, { origin: example.origin });
  assert.ok("socket" in opened);
  const rpc = new RpcPeer(opened.socket);
  try {
    const answer = await rpc.call("vitale.read", {});
    assert.ok(answer["result"], JSON.stringify(answer["error"]));
    const { beneficiaries } = answer["result"] as {
      beneficiaries: Array<{ nir: string; lastName: string; firstName: string }>;
    };
    for (const b of beneficiaries)
      for (const value of [b.nir, b.lastName, b.firstName]) personalData.add(value);
    return beneficiaries;
  } finally {
    rpc.close();
  }
}

test("a Vitale card inserted through pcscd appears in the EHR page, and leaves with the card", async () => {
  await page.goto(`${example.url}?passerelle=${encodeURIComponent(daemon.url)}`);
  await page.locator("#passerelle-state[data-state=ready]").waitFor();
  assert.doesNotMatch((await page.locator("#passerelle-state").textContent()) ?? "", /SIMULATION/);
  assert.equal(await page.locator("#beneficiaries button").count(), 0);

  const card = await insertCard(0, "vitale");
  const buttons = page.locator("#beneficiaries button");
  await buttons.first().waitFor();
  const beneficiaries = await vitaleRead();
  assert.equal(await buttons.count(), beneficiaries.length);
  for (const [i, b] of beneficiaries.entries()) {
    assert.ok(
      ((await buttons.nth(i).textContent()) ?? "").startsWith(`${b.lastName} ${b.firstName}`),
      `button ${i}`,
    );
  }

  // No INSi configuration on this daemon: the user reads a sentence, not a stack trace.
  const { MESSAGES } = (await import(
    pathToFileURL(path.join(REPO_ROOT, "docs/examples/ehr-page/messages.js")).href
  )) as { MESSAGES: Record<string, string> };
  await buttons.first().click();
  await page.waitForFunction(
    () => !document.getElementById("ins-status")?.textContent?.startsWith("Interrogation"),
  );
  const status = (await page.locator("#ins-status").textContent()) ?? "";
  assert.ok(
    Object.values(MESSAGES).some((message) => status.startsWith(message)),
    `a human message: ${status}`,
  );
  await screenshot(page, "ehr-page-pcscd");

  await removeCard(card);
  await page.locator("#vitale-hint", { hasText: "Carte Vitale retirée." }).waitFor();
  assert.equal(await buttons.count(), 0);
});

test("the daemon's own page without --simulate: no SIMULATION, no lab, the real readers live", async () => {
  const own = await browser.newPage();
  watchConsole(own, consoleLog);
  try {
    await own.goto(`http://localhost:${daemon.port}/`);
    await own.locator("body[data-ready]").waitFor({ state: "attached" });
    assert.equal(await own.locator("#simulation-banner").isVisible(), false);
    assert.equal(await own.locator("#lab").isVisible(), false);
    assert.doesNotMatch(await own.title(), /SIMULATION/);
    const card = await insertCard(1, "vitale");
    const slot1 = own
      .locator(`#readers li[data-reader-id$="00 01"]`)
      .locator(".card-badge[data-card=vitale]");
    await slot1.waitFor();
    await own.locator("#beneficiaries tr").first().waitFor();
    await removeCard(card);
    await own
      .locator(`#readers li[data-reader-id$="00 01"]`)
      .locator(".card-badge[data-card=none]")
      .waitFor();
    await own.locator("#vitale-card").waitFor({ state: "hidden" });
  } finally {
    await own.close();
  }
});
