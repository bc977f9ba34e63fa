/**
 * A real headless Chromium for the end-to-end tests: Debian's /usr/bin/chromium driven by
 * playwright-core (never a browser downloaded by Playwright), a fresh profile per launch, and the
 * checks every page gets — axe-core for accessibility, the console watched for personal data,
 * screenshots saved under artifacts/ (gitignored) for a human to look at.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import path from "node:path";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { REPO_ROOT } from "../helpers/daemon.ts";

export const CHROMIUM = process.env["PASSERELLE_CHROMIUM"] ?? "/usr/bin/chromium";
export const ARTIFACTS = path.join(REPO_ROOT, "artifacts");
/** Bound on any wait for something to appear in a page, so a broken feature fails instead of hanging. */
export const UI_TIMEOUT_MS = 15_000;

const CHROMIUM_FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

export interface Browser {
  readonly context: BrowserContext;
  newPage(): Promise<Page>;
  close(): Promise<void>;
}

/** Launches Chromium with a fresh --user-data-dir (Playwright passes it for a persistent context). */
export async function launchBrowser(
  options: {
    locale?: string;
    env?: NodeJS.ProcessEnv;
    /** More command-line flags (--host-resolver-rules, --ip-address-space-overrides…). */
    args?: readonly string[];
    /** Accept any certificate (a user who clicked through the warning): attack tests only. */
    ignoreHTTPSErrors?: boolean;
  } = {},
): Promise<Browser> {
  const profile = mkdtempSync(path.join(tmpdir(), "passerelle-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [...CHROMIUM_FLAGS, ...(options.args ?? [])],
    ...(options.ignoreHTTPSErrors ? { ignoreHTTPSErrors: true } : {}),
    viewport: { width: 1280, height: 900 },
    locale: options.locale ?? "fr-FR",
    timeout: 60_000,
    ...(options.env ? { env: options.env } : {}),
  });
  context.setDefaultTimeout(UI_TIMEOUT_MS);
  return {
    context,
    newPage: () => context.newPage(),
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Everything a page writes to its console, and its uncaught errors. */
export interface ConsoleLog {
  readonly messages: string[];
  readonly errors: string[];
}

export function watchConsole(page: Page, log: ConsoleLog = { messages: [], errors: [] }): ConsoleLog {
  page.on("console", (message) => log.messages.push(`${message.type()}: ${message.text()}`));
  page.on("pageerror", (error) => log.errors.push(error.message));
  return log;
}

/** Fails when any console line contains one of the values (names, NIR, INS, birth dates). */
export function assertNoPersonalData(log: ConsoleLog, values: readonly string[]): void {
  const all = [...log.messages, ...log.errors];
  for (const value of values) {
    if (value.length < 4) continue; // too short to mean anything (a sex, a key)
    const leak = all.find((line) => line.includes(value));
    if (leak) throw new Error(`personal data in the page's console: ${leak}`);
  }
}

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  targets: string[];
}

const require = createRequire(import.meta.url);
const AXE_SCRIPT = require.resolve("axe-core/axe.min.js");

/**
 * Runs axe-core inside the page (WCAG 2.x A and AA rules); returns the serious and critical
 * violations. axe is evaluated through the DevTools protocol rather than added as a <script>: the
 * pages' CSP (script-src 'self') rightly refuses an injected script, and must stay on for the test.
 */
export async function seriousAxeViolations(page: Page): Promise<AxeViolation[]> {
  await page.evaluate(`${readFileSync(AXE_SCRIPT, "utf8")}\n;void 0`);
  const violations = await page.evaluate(async () => {
    const axe = (
      globalThis as unknown as { axe: { run(context: unknown, options: unknown): Promise<unknown> } }
    ).axe;
    const result = (await axe.run(document, {
      runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"] },
      resultTypes: ["violations"],
    })) as {
      violations: Array<{
        id: string;
        impact: string | null;
        help: string;
        nodes: Array<{ target: string[] }>;
      }>;
    };
    return result.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      targets: v.nodes.map((node) => node.target.join(" ")),
    }));
  });
  return violations.filter((v) => v.impact === "serious" || v.impact === "critical");
}

/** Saves a full-page screenshot as artifacts/<name>.png; returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.evaluate(() => window.scrollTo(0, 0)); // sticky banners where they belong
  const file = path.join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

/** Where the README and the guides take their screenshots from. */
export const DOC_SCREENSHOTS = path.join(REPO_ROOT, "docs", "screenshots");

/**
 * A screenshot the docs show: what fits in the window (small files), written to docs/screenshots/
 * when PASSERELLE_DOC_SCREENSHOTS=1 (then look at them and commit them), else under artifacts/ like
 * the others — so an ordinary test run leaves the repository as it was.
 */
export async function docScreenshot(page: Page, name: string): Promise<string> {
  const dir = process.env["PASSERELLE_DOC_SCREENSHOTS"] === "1" ? DOC_SCREENSHOTS : ARTIFACTS;
  mkdirSync(dir, { recursive: true });
  await page.evaluate(() => window.scrollTo(0, 0));
  const file = path.join(dir, `${name}.png`);
  await page.screenshot({ path: file, fullPage: false });
  return file;
}

/** The NIR key: 97 - (NIR mod 97), Corsica's 2A/2B counted as 19/18 (décret 82-103). */
export function nirKey(nir13: string): string {
  // The department sits at positions 6-7 (sex, year, month come first).
  const department = nir13.slice(5, 7).replace("2A", "19").replace("2B", "18");
  const digits = nir13.slice(0, 5) + department + nir13.slice(7);
  const key = 97n - (BigInt(digits) % 97n);
  return key.toString().padStart(2, "0");
}
