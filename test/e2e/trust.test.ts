/**
 * The admin guide's "Trust the local CA" commands, run exactly as written (docs/admin-guide.md, the
 * blocks marked `<!-- test: test/e2e/trust.test.ts -->`), make Chromium trust the daemon: before
 * them https://localhost:<port>/ is a certificate error; after them the daemon's page loads over TLS
 * and connects over wss. The uninstall command removes the CA again.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { CLI, REPO_ROOT, startDaemon, type DaemonProcess } from "../helpers/daemon.ts";
import { launchBrowser, type Browser } from "./browser.ts";

const GUIDE = "docs/admin-guide.md";
const MARKER = "<!-- test: test/e2e/trust.test.ts -->";
const CA_NICKNAME = "Passerelle local CA";

let home: string;
let daemon: DaemonProcess;

/** The ```sh blocks that follow this test's marker in the admin guide, in order. */
function guideBlocks(): string[] {
  const text = readFileSync(path.join(REPO_ROOT, GUIDE), "utf8");
  const blocks: string[] = [];
  for (let at = text.indexOf(MARKER); at >= 0; at = text.indexOf(MARKER, at + 1)) {
    const match = /^```sh\n([\s\S]*?)^```$/m.exec(text.slice(at));
    assert.ok(match?.[1], `${GUIDE}: no sh block after the marker`);
    blocks.push(match[1]);
  }
  return blocks;
}

function runAsAdmin(script: string): { status: number | null; output: string } {
  // `passerelle` as the guide means it: the CLI of this checkout.
  const cli = `passerelle() { "${process.execPath}" --import tsx "${CLI}" "$@"; }\n`;
  const result = spawnSync("bash", ["-c", `set -eo pipefail\n${cli}${script}`], {
    cwd: REPO_ROOT,
    env: { PATH: process.env["PATH"], HOME: home, LANG: "C.UTF-8" },
    encoding: "utf8",
  });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

const FIREFOX_PROFILE = ".mozilla/firefox/t3st.default-release";

function listedCas(db = "$HOME/.pki/nssdb"): string {
  return runAsAdmin(`certutil -d "sql:${db}" -L`).output;
}

before(async () => {
  home = mkdtempSync(path.join(tmpdir(), "passerelle-trust-home-"));
  // The daemon as the user would run it: TLS, its data folder in the user's home.
  const dataDir = path.join(home, ".local/share/passerelle");
  mkdirSync(dataDir, { recursive: true });
  daemon = await startDaemon({ dataDir, env: { HOME: home } });
  // A Firefox profile with its own NSS database: trust install must find it too.
  mkdirSync(path.join(home, FIREFOX_PROFILE), { recursive: true });
  runAsAdmin(`certutil -d "sql:$HOME/${FIREFOX_PROFILE}" -N --empty-password`);
});

after(async () => {
  await daemon?.stop();
  rmSync(home, { recursive: true, force: true });
});

async function openOwnPage(browser: Browser): Promise<{ ok: boolean; error?: string }> {
  const page = await browser.newPage();
  try {
    await page.goto(`https://localhost:${daemon.port}/`);
    await page.locator("body[data-ready]").waitFor({ state: "attached" });
    return { ok: true };
  } catch (error) {
    return { ok: false, error: (error as Error).message };
  } finally {
    await page.close();
  }
}

test("passerelle trust install (the admin guide's line) makes Chromium trust the daemon with no certificate flag; uninstall removes it", async () => {
  const [install, uninstall] = guideBlocks();
  assert.ok(install && uninstall, `${GUIDE}: two blocks for this test (trust, uninstall)`);

  // Control: without the CA, Chromium refuses the certificate.
  const before = await launchBrowser({ env: { ...process.env, HOME: home } });
  try {
    const refused = await openOwnPage(before);
    assert.equal(refused.ok, false);
    assert.match(refused.error ?? "", /ERR_CERT/);
  } finally {
    await before.close();
  }

  const installed = runAsAdmin(install);
  assert.equal(installed.status, 0, installed.output);
  assert.match(listedCas(), new RegExp(CA_NICKNAME));
  assert.match(listedCas(`$HOME/${FIREFOX_PROFILE}`), new RegExp(CA_NICKNAME), "every Firefox profile");
  assert.match(installed.output, /\.pki\/nssdb: installed$/m, "one line per store");
  assert.match(installed.output, /t3st\.default-release: installed$/m);
  // Idempotent: again, nothing changes, and status agrees.
  const again = runAsAdmin(install);
  assert.match(again.output, /\.pki\/nssdb: already installed$/m);
  assert.match(runAsAdmin("passerelle trust status --no-system").output, /\.pki\/nssdb: installed$/m);

  const after = await launchBrowser({ env: { ...process.env, HOME: home } });
  try {
    const trusted = await openOwnPage(after);
    assert.equal(trusted.ok, true, trusted.error);
  } finally {
    await after.close();
  }

  const removed = runAsAdmin(uninstall);
  assert.equal(removed.status, 0, removed.output);
  assert.doesNotMatch(listedCas(), new RegExp(CA_NICKNAME));
  assert.doesNotMatch(listedCas(`$HOME/${FIREFOX_PROFILE}`), new RegExp(CA_NICKNAME));
});
