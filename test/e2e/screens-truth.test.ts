/**
 * What the receptionist and the doctor see is the truth, in a real headless Chromium against
 * `passerelle start --simulate` (its own daemon: these tests change the virtual cards):
 * - after a wrong PIN the CPS panel, the status line and the PIN entry say the same thing, read
 *   again from the card (never a stale "vérifié — 3 essais", never a green "Code transmis");
 * - a card blocked on its last try (`cps-last-try`) shows as blocked;
 * - a PIN typed on the PIN page for a web app gets the card's answer there too;
 * - the language switch re-renders the statuses already on screen;
 * - a Vitale 1, a Vitale with an unreadable file, a CPS action with only a Vitale inserted, an
 *   expired CPS: sentences a receptionist understands, the technical words folded under "détails";
 * - a CPS that expires within 30 days (`cps-expiring`) is said to at insertion;
 * - messages go when the situation changes (card removed, inserted, next read fine);
 * - dates as 15/01/1980 (lunar: 00/00/1982);
 * - the layout holds from 360 to 1920 px, and the sticky banner never covers a field's label.
 * Expected values come from the daemon (a plain WebSocket client on the page's own origin).
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import type { Page } from "playwright-core";
import { CPS_PROFILES, EXPIRING_CPS_DAYS } from "../../daemon/src/simulator/cards/cps3/profile.ts";
import { openSocket, RpcPeer, startDaemon, type DaemonProcess } from "../helpers/daemon.ts";
import {
  assertNoPersonalData,
  docScreenshot,
  launchBrowser,
  screenshot,
  watchConsole,
  type Browser,
  type ConsoleLog,
} from "./browser.ts";

const SIMULATION_PIN = "1234";
const WRONG_PIN = "9999";
const WEB_APP = "https://ehr.example.fr";

interface LabStatus {
  slots: Array<{ slot: number; readerId: string; card: string | null }>;
  profiles: string[];
}

let daemon: DaemonProcess;
let browser: Browser;
let rpc: RpcPeer;
const consoleLog: ConsoleLog = { messages: [], errors: [] };
const personalData = new Set<string>();

async function call<T>(method: string, params: unknown = {}): Promise<T> {
  const answer = await rpc.call(method, params);
  if (answer["error"]) throw new Error(`${method}: ${JSON.stringify(answer["error"])}`);
  return answer["result"] as T;
}

async function slotOf(card: "cps" | "vitale"): Promise<{ slot: number; readerId: string }> {
  const lab = await call<LabStatus>("lab.status");
  // The simulation starts with the CPS in slot 0 and the Vitale in slot 1.
  const slot = lab.slots.find((entry) => entry.slot === (card === "cps" ? 0 : 1));
  assert.ok(slot, `lab slot for the ${card}`);
  return slot;
}

/** Puts `profile` in the card's slot (or empties it) and waits for the page's badge to follow. */
async function putCard(page: Page, card: "cps" | "vitale", profile: string | null): Promise<string> {
  const { slot, readerId } = await slotOf(card);
  await call("lab.removeCard", { slot });
  await page.locator(`#readers li[data-reader-id="${readerId}"] .card-badge[data-card=none]`).waitFor();
  if (profile !== null) {
    await call("lab.insertCard", { slot, card: profile });
    await page
      .locator(`#readers li[data-reader-id="${readerId}"] .card-badge:not([data-card=none])`)
      .waitFor();
  }
  return readerId;
}

before(async () => {
  daemon = await startDaemon({ args: ["--simulate", "--allow-origin", WEB_APP], plaintext: true });
  const opened = await openSocket(daemon, { origin: `http://localhost:${daemon.port}` });
  assert.ok("socket" in opened);
  rpc = new RpcPeer(opened.socket);
  await call("system.hello", { client: { name: "e2e", version: "1" } });
  const { holder } = await call<{ holder: { firstName: string; lastName: string; idNat: string } }>(
    "cps.read",
  );
  for (const value of [holder.firstName, holder.lastName, holder.idNat]) personalData.add(value);
  browser = await launchBrowser();
});

after(async () => {
  assertNoPersonalData(consoleLog, [...personalData]);
  rpc?.close();
  await browser?.close();
  await daemon?.stop();
});

async function openPage(path = "/", width = 1280): Promise<Page> {
  const page = await browser.newPage();
  await page.setViewportSize({ width, height: 900 });
  watchConsole(page, consoleLog);
  await page.goto(`http://localhost:${daemon.port}${path}`);
  await page.locator("body[data-ready]").waitFor({ state: "attached" });
  return page;
}

/** Clicks "Vérifier le code" and types `pin` in the page's own PIN entry; returns once the card answered. */
async function verifyOnPage(page: Page, pin: string): Promise<void> {
  await page.locator("#cps-verify").click();
  const request = page.locator(".pin-request");
  await request.waitFor();
  await request.locator("input[type=password]").fill(pin);
  await request.locator("button[type=submit]").click();
  await page.locator("#cps-status:not([data-kind=info])").waitFor();
}

async function cpsPinField(page: Page): Promise<string> {
  return (await page.locator("[data-field=cps-pin]").textContent()) ?? "";
}

test("a wrong PIN on the daemon's page: the status, the CPS panel and the PIN entry agree", async () => {
  const page = await openPage();
  try {
    await page.locator("[data-field=cps-pin]").waitFor();
    await verifyOnPage(page, SIMULATION_PIN);
    await page.locator("#cps-status[data-kind=ok]").waitFor();
    await page.locator("[data-field=cps-pin]", { hasText: /^vérifié/ }).waitFor();
    assert.match(await cpsPinField(page), /^vérifié — 3 essai\(s\) restant\(s\)$/);

    await verifyOnPage(page, WRONG_PIN);
    const status = page.locator("#cps-status");
    assert.equal(await status.getAttribute("data-reason"), "PIN_INCORRECT");
    assert.match((await status.locator(".status-text").textContent()) ?? "", /incorrect.*2 essai/);
    // The panel is read again from the card: no longer "vérifié — 3".
    await page.locator("[data-field=cps-pin]", { hasText: /^non vérifié — 2 essai/ }).waitFor();
    // The PIN entry says the card's answer, not "Code transmis" in green.
    const note = page.locator(".pin-note");
    await note.locator(".status-text").waitFor();
    assert.equal(await note.getAttribute("data-kind"), "error");
    assert.doesNotMatch((await note.textContent()) ?? "", /transmis/);
    assert.match((await note.textContent()) ?? "", /incorrect/);
    await screenshot(page, "daemon-page-wrong-pin");

    // The language switch re-renders what is already on screen.
    await page.locator("#lang-toggle").click();
    assert.match((await status.locator(".status-text").textContent()) ?? "", /^Wrong PIN\. 2 tries left/);
    assert.match((await note.locator(".status-text").textContent()) ?? "", /^Wrong PIN/);
    assert.match(await cpsPinField(page), /^not verified — 2 tries left/);
    await page.locator("#lang-toggle").click();
    assert.match((await status.locator(".status-text").textContent()) ?? "", /^Code porteur incorrect/);

    // The right PIN: all three say verified, counter back to 3.
    await verifyOnPage(page, SIMULATION_PIN);
    await page.locator("#cps-status[data-kind=ok]").waitFor();
    await page.locator("[data-field=cps-pin]", { hasText: /^vérifié — 3 essai/ }).waitFor();
    await page.locator(".pin-note[data-kind=ok]").waitFor();
  } finally {
    await page.close();
  }
});

test("a card blocked on its last try (cps-last-try) is shown blocked, not verified", async () => {
  const page = await openPage();
  try {
    await putCard(page, "cps", "cps-last-try");
    await page.locator("[data-field=cps-pin]", { hasText: /1 essai/ }).waitFor();
    assert.match(await cpsPinField(page), /dernier essai/);
    page.once("dialog", (dialog) => void dialog.accept()); // "dernier essai : confirmez"
    await verifyOnPage(page, WRONG_PIN);
    assert.equal(await page.locator("#cps-status").getAttribute("data-reason"), "PIN_BLOCKED");
    await page.locator("[data-field=cps-pin]", { hasText: /^bloqué — 0 essai/ }).waitFor();
    assert.doesNotMatch((await page.locator(".pin-note").textContent()) ?? "", /transmis/);
    await screenshot(page, "daemon-page-blocked");
  } finally {
    await putCard(page, "cps", "cps");
    await page.close();
  }
});

test("the PIN page tells the card's answer to a PIN typed for a web app", async () => {
  const opened = await openSocket(daemon, { origin: WEB_APP });
  assert.ok("socket" in opened);
  const app = new RpcPeer(opened.socket);
  const pinPage = await openPage("/pin.html");
  try {
    const wrong = app.call("cps.verifyPin", {});
    const request = pinPage.locator(".pin-request");
    await request.waitFor();
    assert.equal(await request.locator(".origin").textContent(), WEB_APP);
    await request.locator("input[type=password]").fill(WRONG_PIN);
    await request.locator("button[type=submit]").click();
    const note = pinPage.locator(".pin-note[data-kind=error]");
    await note.waitFor();
    assert.match((await note.textContent()) ?? "", /incorrect.*2 essai/);
    assert.doesNotMatch((await note.textContent()) ?? "", /transmis/);
    const refused = (await wrong)["error"] as { data: { reason: string } };
    assert.equal(refused.data.reason, "PIN_INCORRECT");
    await screenshot(pinPage, "pin-page-wrong-pin");

    const right = app.call("cps.verifyPin", {});
    await request.waitFor();
    // A new request, a new situation: the previous outcome is gone.
    assert.equal(await pinPage.locator(".pin-note .status-text").count(), 0);
    await request.locator("input[type=password]").fill(SIMULATION_PIN);
    await request.locator("button[type=submit]").click();
    await pinPage.locator(".pin-note[data-kind=ok]", { hasText: /vérifié/ }).waitFor();
    assert.deepEqual((await right)["result"], { verified: true, triesRemaining: 3 });
  } finally {
    app.close();
    await pinPage.close();
  }
});

test("per-origin PIN: a PIN verified on the daemon's page does not serve a web app, whose request shows at once", async () => {
  const opened = await openSocket(daemon, { origin: WEB_APP });
  assert.ok("socket" in opened);
  const app = new RpcPeer(opened.socket);
  try {
    // (With no daemon page open and no window to open, the call fails at once with PIN_REQUIRED:
    // test/server/pin-page.test.ts. Here this test's own client on the daemon's origin is connected.)
    const page = await openPage();
    try {
      // A fresh insertion: no origin has given the PIN yet (an earlier test gave it for WEB_APP).
      await putCard(page, "cps", "cps");
      await page.locator("[data-field=cps-name]").waitFor();
      await verifyOnPage(page, SIMULATION_PIN);
      await page.locator("#cps-status[data-kind=ok]").waitFor();
      assert.match((await page.locator("#pin-per-origin").textContent()) ?? "", /vaut pour le logiciel/);
      // The page's own request leaves with its next pin.pending; only then does the web app ask.
      await page.locator(".pin-request").waitFor({ state: "detached" });
      const traits = { birthName: "ADRUN", firstNames: ["ZOE"], sex: "F", birthDate: "1975-12-31" };
      const search = app.call("insi.searchByTraits", traits);
      const request = page.locator(".pin-request");
      await request.waitFor({ timeout: 5_000 });
      assert.equal(await request.locator(".origin").textContent(), WEB_APP);
      await request.getByRole("button", { name: "Refuser" }).click();
      assert.equal(((await search)["error"] as { data: { reason: string } }).data.reason, "USER_CANCELLED");
    } finally {
      await page.close();
    }
  } finally {
    app.close();
  }
});

test("a Vitale 1 says its generation is not supported; the message goes with the card", async () => {
  const page = await openPage();
  try {
    const readerId = await putCard(page, "vitale", "vitale1");
    const status = page.locator("#vitale-status[data-kind=error]");
    await status.waitFor();
    assert.match((await status.locator(".status-text").textContent()) ?? "", /Vitale 1/);
    assert.doesNotMatch((await status.locator(".status-text").textContent()) ?? "", /bon type de carte/);
    // The technical words are there, folded.
    assert.equal(await status.locator("details").getAttribute("open"), null);
    assert.match((await status.locator("details code").textContent()) ?? "", /WRONG_CARD/);
    await page
      .locator(`#readers li[data-reader-id="${readerId}"] .card-badge`, { hasText: /Vitale 1/ })
      .waitFor();
    await page.locator("#lang-toggle").click();
    assert.match((await status.locator(".status-text").textContent()) ?? "", /first-generation/);
    await page.locator("#lang-toggle").click();

    await putCard(page, "vitale", null);
    assert.equal(await page.locator("#vitale-status").textContent(), "", "removing the card clears it");
    await putCard(page, "vitale", "vitale");
    await page.locator("#beneficiaries tr").first().waitFor();
    assert.equal(await page.locator("#vitale-status").textContent(), "");
  } finally {
    await page.close();
  }
});

test("a Vitale file the card refuses: a sentence, the card's words under détails", async () => {
  const page = await openPage();
  try {
    await putCard(page, "vitale", "vitale-badfile");
    const warnings = page.locator("#vitale-warnings");
    await warnings.waitFor();
    const sentence = (await warnings.locator(".status-text").textContent()) ?? "";
    assert.match(sentence, /n'a pas pu être lue/);
    assert.doesNotMatch(sentence, /file|READ BINARY|6982/);
    assert.equal(await warnings.locator("details").getAttribute("open"), null);
    assert.match((await warnings.locator("details li").first().textContent()) ?? "", /6982/);
    await putCard(page, "vitale", "vitale");
    await page.locator("#beneficiaries tr").first().waitFor();
    assert.equal(await warnings.isVisible(), false, "the next card reads fine: the warning goes");
  } finally {
    await page.close();
  }
});

test("a CPS action with only a Vitale inserted asks for the CPS", async () => {
  const page = await openPage();
  try {
    await putCard(page, "cps", null);
    await page.locator("#cps-read").click();
    const status = page.locator("#cps-status[data-kind=error]");
    await status.waitFor();
    assert.equal(
      await status.locator(".status-text").textContent(),
      "Insérez votre carte CPS dans le lecteur.",
    );
    await putCard(page, "cps", "cps");
    await page.locator("[data-field=cps-name]").waitFor();
    assert.equal(await page.locator("#cps-status").textContent(), "", "the CPS came: the message goes");
  } finally {
    await page.close();
  }
});

test("an expired CPS is shown as such at insertion", async () => {
  const page = await openPage();
  try {
    await putCard(page, "cps", "cps-expired");
    const expiry = page.locator("#cps-expiry[data-kind=error]");
    await expiry.waitFor();
    const { certificates } = await call<{ certificates: { authentication: { notAfter: string } } }>(
      "cps.read",
    );
    const [year, month, day] = certificates.authentication.notAfter.slice(0, 10).split("-");
    assert.match((await expiry.textContent()) ?? "", new RegExp(`expiré le ${day}/${month}/${year}`));
    assert.match((await page.locator("[data-field=cps-until]").textContent()) ?? "", /expiré/);
    await screenshot(page, "daemon-page-expired-cps");
    await putCard(page, "cps", "cps");
    await page.locator("[data-field=cps-name]").waitFor();
    assert.equal(await expiry.count(), 0, "a valid CPS: no warning");
  } finally {
    await page.close();
  }
});

test("a CPS that expires within 30 days is shown as such at insertion", async () => {
  const page = await openPage();
  try {
    await putCard(page, "cps", CPS_PROFILES.cpsExpiring);
    const expiry = page.locator("#cps-expiry[data-kind=warning]");
    await expiry.waitFor();
    const { certificates } = await call<{ certificates: { authentication: { notAfter: string } } }>(
      "cps.read",
    );
    const [year, month, day] = certificates.authentication.notAfter.slice(0, 10).split("-");
    assert.match(
      (await expiry.textContent()) ?? "",
      new RegExp(`expire le ${day}/${month}/${year} \\(dans ${EXPIRING_CPS_DAYS} jour\\(s\\)\\)`),
    );
    await page.locator("#lang-toggle").click();
    await page.locator("#cps-expiry[data-kind=warning]", { hasText: "expires on" }).waitFor();
    await page.locator("#lang-toggle").click();
    await screenshot(page, "daemon-page-expiring-cps");
    await putCard(page, "cps", "cps");
    await page.locator("[data-field=cps-name]").waitFor();
    assert.equal(await expiry.count(), 0, "a CPS valid for years: no warning");
  } finally {
    await page.close();
  }
});

test("dates read as 15/01/1980, lunar dates as 00/00/1982", async () => {
  const page = await openPage();
  try {
    const { beneficiaries } = await call<{ beneficiaries: Array<{ birthDate: string; nir: string }> }>(
      "vitale.read",
    );
    for (const b of beneficiaries) personalData.add(b.nir);
    const cells = page.locator("#beneficiaries td.date");
    await cells.nth(beneficiaries.length - 1).waitFor();
    for (const [i, b] of beneficiaries.entries()) {
      const [year, month, day] = b.birthDate.split("-");
      assert.equal(await cells.nth(i).textContent(), `${day}/${month}/${year}`);
    }
    assert.ok(
      beneficiaries.some((b) => b.birthDate.endsWith("-00-00")),
      "the demo card has a lunar date",
    );
    assert.ok((await cells.allTextContents()).some((text) => text.startsWith("00/00/")));
  } finally {
    await page.close();
  }
});

/**
 * In the page: elements whose text is cut inside a word (narrower than their longest word), and
 * whether the page scrolls sideways. Tokens over 24 characters (ids, URLs) may be cut.
 */
async function layoutProblems(page: Page): Promise<{ cut: string[]; overflow: boolean }> {
  return page.evaluate(() => {
    const canvas = document.createElement("canvas");
    const context = canvas.getContext("2d");
    const cut: string[] = [];
    const selector = "dt, dd, td, th, label, legend, button, .status-text, .card-badge, h1, h2, h3";
    for (const element of document.querySelectorAll<HTMLElement>(selector)) {
      // Not shown, or visually hidden for screen readers only (a clipped 1 px box).
      if (!context || element.offsetParent === null || element.closest("thead")?.clientWidth === 1) continue;
      const style = getComputedStyle(element);
      context.font = `${style.fontWeight} ${style.fontSize} ${style.fontFamily}`;
      const words = (element.innerText || "").split(/\s+/).filter((w) => w.length > 1 && w.length <= 24);
      const longest = Math.max(0, ...words.map((word) => context.measureText(word).width));
      // An inline element has no box width of its own (clientWidth is 0): its words wrap in the
      // block that holds it, so that block is the one measured.
      const box = style.display === "inline" && element.parentElement ? element.parentElement : element;
      const boxStyle = box === element ? style : getComputedStyle(box);
      const inner =
        box.clientWidth - parseFloat(boxStyle.paddingLeft) - parseFloat(boxStyle.paddingRight) + 1;
      if (longest > inner)
        cut.push(`${element.tagName}#${element.id}.${element.className}: "${element.innerText}"`);
    }
    return { cut, overflow: document.documentElement.scrollWidth > window.innerWidth };
  });
}

for (const width of [360, 390, 1920]) {
  test(`the layout holds at ${width} px: no word cut letter by letter, no sideways scroll`, async () => {
    const page = await openPage("/", width);
    try {
      await page.locator("#beneficiaries tr").first().waitFor();
      await page.locator("[data-field=cps-name]").waitFor();
      const problems = await layoutProblems(page);
      assert.deepEqual(problems.cut, []);
      assert.equal(problems.overflow, false, "the page scrolls sideways");

      // A jump to an invalid field leaves its label visible below the sticky simulation banner.
      await page.locator("#insi-form button[type=submit]").click();
      await page.locator("#insi-status[data-kind=error]").waitFor();
      assert.equal(await page.evaluate(() => document.activeElement?.id), "birthName");
      const banner = await page.locator("#simulation-banner").boundingBox();
      const label = await page.locator("label[for=birthName]").boundingBox();
      assert.ok(banner && label);
      assert.ok(
        label.y >= banner.y + banner.height,
        `label at ${label.y}, banner ends ${banner.y + banner.height}`,
      );
      if (width !== 1920) await screenshot(page, `daemon-page-${width}`);
    } finally {
      await page.close();
    }
  });
}

const SCREENS = [
  { name: "desktop", width: 1280, height: 800 },
  { name: "phone", width: 390, height: 844 },
] as const;

test("screenshots of the daemon's page and the PIN page, in French and English, desktop and phone", async () => {
  const opened = await openSocket(daemon, { origin: WEB_APP });
  assert.ok("socket" in opened);
  const app = new RpcPeer(opened.socket);
  try {
    for (const screen of SCREENS) {
      for (const language of ["fr", "en"] as const) {
        const page = await openPage("/", screen.width);
        await page.setViewportSize({ width: screen.width, height: screen.height });
        if (language === "en") await page.locator("#lang-toggle").click();
        assert.equal(await page.getAttribute("html", "lang"), language);
        await page.locator("[data-field=cps-name]").waitFor();
        await page.locator("#beneficiaries tr").first().waitFor();
        const file = await docScreenshot(page, `daemon-page-${language}-${screen.name}`);
        assert.ok(file.endsWith(".png"));
        await page.close();

        // The PIN page as the doctor meets it: a web app asks, its origin shown first.
        const pinPage = await openPage("/pin.html", screen.width);
        await pinPage.setViewportSize({ width: screen.width, height: screen.height });
        if (language === "en") await pinPage.locator("#lang-toggle").click();
        const asked = app.call("cps.verifyPin", {});
        const request = pinPage.locator(".pin-request");
        await request.waitFor();
        await docScreenshot(pinPage, `pin-page-${language}-${screen.name}`);
        await request.locator("button.secondary").click();
        assert.equal(((await asked)["error"] as { data: { reason: string } }).data.reason, "USER_CANCELLED");
        await pinPage.close();
      }
    }
  } finally {
    app.close();
  }
});
