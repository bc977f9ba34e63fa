/**
 * A "browser" for the daemon to open its pages in (the consent page): a script named by `BROWSER`
 * that appends the URL it is given to a file. A test reads the URL back — the one-time token
 * included — and opens it in headless Chromium, or talks to the daemon as that page would.
 */
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

export interface RecordingBrowser {
  /** The environment to start the daemon with. */
  readonly env: { BROWSER: string };
  /** The URLs opened so far. */
  urls(): string[];
  /** Waits for the n-th URL (0-based), at most `timeoutMs`. */
  url(index: number, timeoutMs?: number): Promise<string>;
  remove(): void;
}

export function recordingBrowser(): RecordingBrowser {
  const dir = mkdtempSync(path.join(tmpdir(), "passerelle-browser-"));
  const log = path.join(dir, "opened.txt");
  const script = path.join(dir, "browser.sh");
  writeFileSync(script, `#!/bin/sh\nprintf '%s\\n' "$1" >> '${log}'\n`);
  chmodSync(script, 0o700);
  const urls = () => (existsSync(log) ? readFileSync(log, "utf8").split("\n").filter(Boolean) : []);
  return {
    env: { BROWSER: script },
    urls,
    url: async (index, timeoutMs = 15_000) => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const url = urls()[index];
        if (url) return url;
        if (Date.now() > deadline) throw new Error(`the daemon opened no page #${index} in ${timeoutMs} ms`);
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
