/**
 * On a phone, the CPS PIN field is on screen without scrolling when a PIN request shows: on the PIN
 * page the daemon opens (pin.html) and on the daemon's own page, at 390×844 and 360×740, in a real
 * headless Chromium against `passerelle start --simulate`. A web app of an allowed origin asks
 * (`cps.verifyPin` without a PIN); the page is at the top; the field and its button must lie inside
 * the window, below the sticky simulation banner.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { openSocket, RpcPeer, startDaemon, type DaemonProcess } from "../helpers/daemon.ts";
import { launchBrowser, screenshot, type Browser } from "./browser.ts";

const WEB_APP = "https://ehr.example.fr";
const PHONES = [
  { width: 390, height: 844 },
  { width: 360, height: 740 },
];

let daemon: DaemonProcess;
let browser: Browser;

before(async () => {
  daemon = await startDaemon({ args: ["--simulate", "--allow-origin", WEB_APP], plaintext: true });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await daemon?.stop();
});

type Box = { x: number; y: number; width: number; height: number };

function assertInside(box: Box | null, viewport: { width: number; height: number }, what: string): Box {
  assert.ok(box, `${what}: not laid out`);
  assert.ok(
    box.y >= 0 && box.y + box.height <= viewport.height && box.x >= 0 && box.x + box.width <= viewport.width,
    `${what} at ${JSON.stringify(box)}: outside the ${viewport.width}×${viewport.height} window without scrolling`,
  );
  return box;
}

for (const path of ["/pin.html", "/"]) {
  for (const viewport of PHONES) {
    test(`${path}: the PIN field is above the fold at ${viewport.width}×${viewport.height}`, async () => {
      const page = await browser.newPage();
      const opened = await openSocket(daemon, { origin: WEB_APP });
      assert.ok("socket" in opened, "the web app's origin is refused");
      const webApp = new RpcPeer(opened.socket);
      try {
        await page.setViewportSize(viewport);
        await page.goto(`http://localhost:${daemon.port}${path}`);
        await page.locator("body[data-ready]").waitFor({ state: "attached" });
        await webApp.call("system.hello", { client: { name: "e2e", version: "1" } });
        // The web app asks; its call waits for the user (a daemon page is open), answered below.
        const asked = webApp.call("cps.verifyPin", {}).catch((error: unknown) => error);
        const request = page.locator(".pin-request");
        await request.waitFor();
        await page.evaluate(() => window.scrollTo(0, 0));
        const input = assertInside(
          await request.locator("input[type=password]").boundingBox(),
          viewport,
          "the PIN field",
        );
        assertInside(await request.locator("button[type=submit]").boundingBox(), viewport, "its button");
        const banner = await page.locator("#simulation-banner").boundingBox();
        assert.ok(banner && banner.y + banner.height <= input.y, "the simulation banner covers the field");
        await screenshot(page, `pin-above-fold${path === "/" ? "-daemon-page" : ""}-${viewport.width}`);
        await request.locator("button.secondary").click();
        await request.waitFor({ state: "detached" });
        await asked;
      } finally {
        webApp.close();
        await page.close();
      }
    });
  }
}
