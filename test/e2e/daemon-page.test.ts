/**
 * The daemon's own page in a real headless Chromium, against `passerelle start --simulate`:
 * strict CSP, the SIMULATION banner, live readers and cards from events (no polling), the CPS
 * holder, the Vitale beneficiaries, INSi by beneficiary and by traits with the daemon's own PIN
 * entry, the lab panel, French by default and English on demand, axe-core with no serious
 * violation, no personal data in the console. Screenshots go to artifacts/.
 *
 * What the page shows is compared with what the daemon answers to a plain WebSocket client on the
 * page's own origin, never with values written here.
 */
import assert from "node:assert/strict";
import { after, before, test, type TestContext } from "node:test";
import type { Page } from "playwright-core";
import { openSocket, RpcPeer, startDaemon, type DaemonProcess } from "../helpers/daemon.ts";
import {
  assertNoPersonalData,
  launchBrowser,
  nirKey,
  screenshot,
  seriousAxeViolations,
  watchConsole,
  type Browser,
  type ConsoleLog,
} from "./browser.ts";

/** The simulated CPS's PIN (protocol-v1.md, "--simulate"). */
const SIMULATION_PIN = "1234";

interface Beneficiary {
  index: number;
  nir: string;
  nirKey?: string;
  lastName: string;
  firstName: string;
  birthDate: string;
}
interface LabStatus {
  slots: Array<{ slot: number; readerId: string; card: string | null }>;
  profiles: string[];
  insiFault: string;
}

let daemon: DaemonProcess;
let browser: Browser;
let rpc: RpcPeer;
let capabilities: string[] = [];
const consoleLog: ConsoleLog = { messages: [], errors: [] };
/** Every personal value the daemon handed out during the tests: none may reach the console. */
const personalData = new Set<string>();

async function call<T>(method: string, params: unknown = {}): Promise<T> {
  const answer = await rpc.call(method, params);
  if (answer["error"]) throw new Error(`${method}: ${JSON.stringify(answer["error"])}`);
  return answer["result"] as T;
}

before(async () => {
  daemon = await startDaemon({ args: ["--simulate"], plaintext: true });
  const opened = await openSocket(daemon, { origin: `http://localhost:${daemon.port}` });
  assert.ok("socket" in opened, "the daemon's own origin must be able to connect");
  rpc = new RpcPeer(opened.socket);
  const hello = await call<{ capabilities: string[]; simulation?: boolean }>("system.hello", {
    client: { name: "e2e", version: "1" },
  });
  assert.equal(hello.simulation, true);
  capabilities = hello.capabilities;
  browser = await launchBrowser();
});

after(async () => {
  assertNoPersonalData(consoleLog, [...personalData]);
  rpc?.close();
  await browser?.close();
  await daemon?.stop();
});

async function openPage(path = "/"): Promise<Page> {
  const page = await browser.newPage();
  watchConsole(page, consoleLog);
  await page.goto(`http://localhost:${daemon.port}${path}`);
  await page.locator("body[data-ready]").waitFor({ state: "attached" });
  return page;
}

async function needs(t: TestContext, capability: string): Promise<boolean> {
  // Every capability is wired now: a missing one is a regression, not a reason to skip.
  assert.ok(
    capabilities.includes(capability),
    `"${capability}" missing from this build's capabilities (${t.name})`,
  );
  // The CPS reader and INSi (signed with the CPS) need the virtual CPS the simulation starts with.
  if (capability === "cps" || capability === "insi") {
    const lab = await call<LabStatus>("lab.status");
    assert.ok(lab.profiles.includes("cps"), "the cps lab profile is missing");
  }
  return true;
}

async function vitaleOnCard(): Promise<Beneficiary[]> {
  const result = await call<{ beneficiaries: Beneficiary[] }>("vitale.read");
  for (const b of result.beneficiaries) {
    for (const value of [b.nir, b.lastName, b.firstName, b.birthDate]) personalData.add(value);
  }
  return result.beneficiaries;
}

/** Clicks through an INSi search: types the simulated PIN in the daemon's PIN entry if it asks. */
async function completeInsi(page: Page): Promise<void> {
  const outcome = page.locator("#insi-result:not([hidden]), .pin-request, #insi-status[data-kind=error]");
  await outcome.first().waitFor();
  if (await page.locator(".pin-request").count()) {
    await page.locator(".pin-request input[type=password]").first().fill(SIMULATION_PIN);
    await page.locator(".pin-request button[type=submit]").first().click();
  }
  await page.locator("#insi-result:not([hidden]), #insi-status[data-kind=error]").first().waitFor();
}

/** Under --simulate, INSI_NOT_CONFIGURED can only mean the simulator is not wired in yet. */
async function insiNotWired(t: TestContext, page: Page): Promise<boolean> {
  // --simulate wires the INSi simulator: INSI_NOT_CONFIGURED here is a regression.
  const reason = await page.locator("#insi-status").getAttribute("data-reason");
  assert.notEqual(reason, "INSI_NOT_CONFIGURED", `${t.name}: the INSi simulator is not wired`);
  return false;
}

/** Checks the result box: always the CR; when found, the INS with a key that matches its matricule. */
async function checkInsiResult(page: Page, expected?: "found"): Promise<string> {
  const status = await page.locator("#insi-status").textContent();
  assert.equal(await page.locator("#insi-result").isVisible(), true, `no INSi result; status: ${status}`);
  const outcome = (await page.locator("#insi-outcome").getAttribute("data-outcome")) ?? "";
  assert.ok(["found", "notFound", "multiple"].includes(outcome), outcome);
  if (expected) assert.equal(outcome, expected);
  const cr = (await page.locator("[data-field=insi-cr]").textContent()) ?? "";
  assert.match(cr, /^\S+ — \S/, "the CR code and its label");
  if (outcome !== "found") return outcome;
  const ins = (await page.locator("[data-field=insi-ins]").textContent()) ?? "";
  const match = /^([0-9]{6}[0-9AB][0-9]{6}) ([0-9]{2})$/.exec(ins);
  assert.ok(match?.[1] && match[2], `INS shown as "matricule key": ${ins}`);
  assert.equal(match[2], nirKey(match[1]), "the INS key shown is the matricule's key");
  personalData.add(match[1]);
  return outcome;
}

test("the page is served with a strict CSP and has no inline script or style", async () => {
  const response = await fetch(`http://localhost:${daemon.port}/`);
  assert.equal(response.status, 200);
  const csp = response.headers.get("content-security-policy") ?? "";
  for (const directive of [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "frame-ancestors 'none'",
  ]) {
    assert.ok(csp.includes(directive), `CSP has ${directive}: ${csp}`);
  }
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|\*/);
  const html = await response.text();
  assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/i, "no inline script");
  assert.doesNotMatch(html, /<style|\sstyle=|\son[a-z]+=/i, "no inline style or handler");
  for (const asset of [
    "/app.js",
    "/i18n.js",
    "/pin-requests.js",
    "/status.js",
    "/style.css",
    "/sdk/passerelle-client.js",
  ]) {
    assert.equal((await fetch(`http://localhost:${daemon.port}${asset}`)).status, 200, asset);
  }
});

test("simulation is impossible to miss; readers and the Vitale card appear, in French", async () => {
  const page = await openPage();
  const banner = page.locator("#simulation-banner");
  await banner.waitFor({ state: "visible" });
  assert.match((await banner.textContent()) ?? "", /SIMULATION/);
  assert.match(await page.title(), /SIMULATION/);
  assert.equal(await page.getAttribute("html", "lang"), "fr");
  assert.equal(await page.locator("#lab").isVisible(), true, "the lab panel shows in simulation");

  const { readers } = await call<{ readers: Array<{ id: string; card?: { type: string } }> }>("readers.list");
  await page
    .locator("#readers li")
    .nth(readers.length - 1)
    .waitFor();
  for (const reader of readers) {
    const badge = page.locator(`#readers li[data-reader-id="${reader.id}"] .card-badge`);
    assert.equal(await badge.getAttribute("data-card"), reader.card?.type ?? "none", reader.id);
  }

  const beneficiaries = await vitaleOnCard();
  const rows = page.locator("#beneficiaries tr");
  await rows.nth(beneficiaries.length - 1).waitFor();
  assert.equal(await rows.count(), beneficiaries.length);
  for (const [i, b] of beneficiaries.entries()) {
    const text = (await rows.nth(i).textContent()) ?? "";
    assert.ok(text.includes(b.lastName) && text.includes(b.firstName) && text.includes(b.nir), `row ${i}`);
  }
  await screenshot(page, "daemon-page");
  await page.close();
});

test("the CPS holder is read when the card is there", async (t) => {
  if (!(await needs(t, "cps"))) return;
  const page = await openPage();
  const { holder } = await call<{ holder: { firstName: string; lastName: string; idNat: string } }>(
    "cps.read",
  );
  for (const value of [holder.firstName, holder.lastName, holder.idNat]) personalData.add(value);
  await page.locator("[data-field=cps-name]").waitFor();
  assert.equal(
    await page.locator("[data-field=cps-name]").textContent(),
    `${holder.firstName} ${holder.lastName}`,
  );
  assert.equal(await page.locator("[data-field=cps-idnat]").textContent(), holder.idNat);
  await page.close();
});

test("the PIN page shows which origin asks; the user can refuse, or type the PIN", async (t) => {
  if (!(await needs(t, "cps"))) return;
  const pinPage = await openPage("/pin.html");
  const ask = () => rpc.call("cps.verifyPin", {});
  try {
    const refused = ask();
    const request = pinPage.locator(".pin-request");
    await request.waitFor();
    assert.equal(await request.locator(".origin").textContent(), `http://localhost:${daemon.port}`);
    assert.equal(
      await pinPage.evaluate(() => document.activeElement?.getAttribute("type")),
      "password",
      "the PIN field has the focus",
    );
    assert.deepEqual(await seriousAxeViolations(pinPage), []);
    await screenshot(pinPage, "pin-page");
    await request.getByRole("button", { name: "Refuser" }).click();
    const refusal = (await refused)["error"] as { data?: { reason?: string } } | undefined;
    assert.equal(refusal?.data?.reason, "USER_CANCELLED");
    await request.waitFor({ state: "detached" });

    const accepted = ask();
    await request.waitFor();
    await request.locator("input[type=password]").fill(SIMULATION_PIN);
    await request.locator("button[type=submit]").click();
    const answer = (await accepted)["result"] as { verified?: boolean } | undefined;
    assert.equal(answer?.verified, true);
    // The page lists the pending requests again once the card has answered: the request then leaves.
    await request.waitFor({ state: "detached" });
  } finally {
    await pinPage.close();
  }
});

test("removing and inserting a virtual card updates the page through events, without polling", async () => {
  const page = await browser.newPage();
  watchConsole(page, consoleLog);
  const sent: string[] = [];
  page.on("websocket", (socket) => socket.on("framesent", (frame) => sent.push(String(frame.payload))));
  await page.goto(`http://localhost:${daemon.port}/`);
  await page.locator("#beneficiaries tr").first().waitFor();

  const lab = await call<LabStatus>("lab.status");
  const vitaleSlot = lab.slots.find((slot) => slot.card === "vitale");
  assert.ok(vitaleSlot, "the simulation starts with a Vitale card");
  const listsBefore = sent.filter((frame) => frame.includes('"readers.list"')).length;

  const slot = page.locator(`.lab-slot[data-slot="${vitaleSlot.slot}"]`);
  await slot.locator("[data-action=lab-remove]").click();
  const badge = page.locator(`#readers li[data-reader-id="${vitaleSlot.readerId}"] .card-badge`);
  await page
    .locator(`#readers li[data-reader-id="${vitaleSlot.readerId}"] .card-badge[data-card=none]`)
    .waitFor();
  await page.locator("#vitale-card").waitFor({ state: "hidden" });
  assert.match((await page.locator("#events").textContent()) ?? "", /Carte retirée/);

  await slot.locator("select").selectOption("vitale");
  await slot.locator("[data-action=lab-insert]").click();
  await page
    .locator(`#readers li[data-reader-id="${vitaleSlot.readerId}"] .card-badge[data-card=vitale]`)
    .waitFor();
  await page.locator("#beneficiaries tr").first().waitFor();
  assert.equal(await badge.getAttribute("data-card"), "vitale");

  const listsAfter = sent.filter((frame) => frame.includes('"readers.list"')).length;
  assert.equal(listsAfter, listsBefore, "the page learnt of the changes from events, not by asking again");
  await page.close();
});

test("an INSi search from a Vitale beneficiary shows the CR and the INS", async (t) => {
  if (!(await needs(t, "insi"))) return;
  const page = await openPage();
  await page.locator("#beneficiaries [data-action=insi-vitale]").first().click();
  await completeInsi(page);
  if (await insiNotWired(t, page)) return;
  // The demo card's insured person is one of the simulator's identities.
  await checkInsiResult(page, "found");
  await screenshot(page, "daemon-page-insi");
  await page.close();
});

test("an INSi search by traits checks the fields first, then shows the result", async (t) => {
  const page = await openPage();
  await page.locator("#insi-form button[type=submit]").click();
  const status = page.locator("#insi-status[data-kind=error]");
  await status.waitFor();
  assert.match((await status.textContent()) ?? "", /Nom de naissance/);
  assert.equal(await page.locator("#birthName").getAttribute("aria-invalid"), "true");
  assert.equal(
    await page.evaluate(() => document.activeElement?.id),
    "birthName",
    "the first wrong field has the focus",
  );
  if (!(await needs(t, "insi"))) return page.close();

  // "Fill the form" copies a beneficiary's traits from the card.
  const [first] = await vitaleOnCard();
  assert.ok(first);
  await page
    .locator("#beneficiaries tr")
    .first()
    .getByRole("button", { name: /Remplir le formulaire/ })
    .click();
  assert.equal(await page.locator("#birthName").inputValue(), first.lastName);
  assert.equal(await page.locator("#firstNames").inputValue(), first.firstName);
  assert.equal(await page.evaluate(() => document.activeElement?.id), "birthName");

  // Then a search with the traits of a public INSi test identity (CNDA test set), typed as a user would.
  // The birth date typed as a French receptionist writes it, and shown back the same way.
  const identity = { birthName: "ADRUN", firstNames: "ZOE", sex: "F", birthDate: "31/12/1975" };
  await page.locator("#birthName").fill(identity.birthName);
  await page.locator("#firstNames").fill(identity.firstNames);
  await page.locator(`input[name=sex][value=${identity.sex}]`).check();
  await page.locator("#birthDate").fill(identity.birthDate);
  await page.locator("#insi-form button[type=submit]").click();
  await completeInsi(page);
  if (await insiNotWired(t, page)) return;
  await checkInsiResult(page, "found");
  const traits = (await page.locator("[data-field=insi-identity]").textContent()) ?? "";
  assert.ok(traits.includes(identity.birthName) && traits.includes(identity.birthDate), traits);
  await page.close();
});

for (const [fault, reason, words] of [
  ["reset", "INSI_UNAVAILABLE", /injoignable/],
  ["malformed", "INSI_INVALID_RESPONSE", /incompréhensible/],
] as const) {
  test(`the INSi fault "${fault}" set in the lab panel is told as a human message`, async (t) => {
    if (!(await needs(t, "insi"))) return;
    const page = await openPage();
    await page.locator("#insi-fault").selectOption(fault);
    await page.locator("#fault-form button[type=submit]").click();
    await page.locator("#lab-status[data-kind=ok]").waitFor();
    try {
      await page.locator("#beneficiaries [data-action=insi-vitale]").first().click();
      await completeInsi(page);
      if (await insiNotWired(t, page)) return;
      const status = page.locator("#insi-status");
      assert.equal(await status.getAttribute("data-reason"), reason);
      assert.match((await status.textContent()) ?? "", words);
    } finally {
      await call("lab.setInsiFault", { fault: "none" });
      await page.close();
    }
  });
}

test("English on demand: the whole page switches, the choice is kept", async () => {
  const page = await openPage();
  await page.locator("#lang-toggle").click();
  assert.equal(await page.getAttribute("html", "lang"), "en");
  assert.equal(await page.locator("#readers-title").textContent(), "Readers and cards");
  assert.match((await page.locator("#simulation-banner").textContent()) ?? "", /virtual cards/);
  await page.reload();
  await page.locator("#connection-state[data-state=open]").waitFor();
  assert.equal(await page.getAttribute("html", "lang"), "en");
  await screenshot(page, "daemon-page-en");
  await page.locator("#lang-toggle").click();
  assert.equal(await page.getAttribute("html", "lang"), "fr");
  await page.close();
});

test("accessibility: no serious or critical axe-core violation, in French and in English", async () => {
  const page = await openPage();
  await page.locator("#beneficiaries tr").first().waitFor();
  assert.deepEqual(await seriousAxeViolations(page), []);
  await page.locator("#lang-toggle").click();
  assert.deepEqual(await seriousAxeViolations(page), []);
  await page.locator("#lang-toggle").click();
  const pinPage = await openPage("/pin.html");
  assert.deepEqual(await seriousAxeViolations(pinPage), []);
  await page.close();
  await pinPage.close();
});

test("the page can be used with the keyboard alone", async () => {
  const page = await openPage();
  await page.locator("#beneficiaries tr").first().waitFor();
  // Tab from the top: the skip link first, then the controls in reading order.
  await page.keyboard.press("Tab");
  assert.equal(await page.evaluate(() => document.activeElement?.className), "skip");
  const reached = new Set<string>();
  for (let i = 0; i < 40; i += 1) {
    await page.keyboard.press("Tab");
    reached.add(
      await page.evaluate(() => document.activeElement?.id || document.activeElement?.tagName || ""),
    );
  }
  for (const id of ["lang-toggle", "vitale-read", "birthName", "firstNames"]) assert.ok(reached.has(id), id);
  await page.close();
});
