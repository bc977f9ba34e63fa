/**
 * Opens a URL of the daemon's own (the PIN page, the consent page) in the user's default browser.
 * Best effort: a machine without a desktop session (a server, CI) has none, and the user opens the
 * PIN page from the link the web app shows instead (a consent page cannot be opened that way: its
 * one-time token is only ever handed to the browser the daemon starts).
 *
 * `BROWSER` (the usual convention: a command, given the URL as its one argument) wins over the
 * platform's opener, so a user or a test can choose the browser.
 *
 * The URL's fragment (the consent page's token) is never logged.
 */
import { spawn } from "node:child_process";
import type { Logger } from "../audit/logger.ts";

function opener(url: string): { command: string; args: string[] } | null {
  const browser = process.env["BROWSER"];
  if (browser && !browser.includes("%s")) return { command: browser, args: [url] };
  switch (process.platform) {
    case "win32":
      // `start` is a cmd built-in; the empty title argument keeps the URL from being taken as one.
      return { command: "cmd", args: ["/c", "start", "", url] };
    case "darwin":
      return { command: "open", args: [url] };
    default:
      if (!process.env["DISPLAY"] && !process.env["WAYLAND_DISPLAY"]) return null;
      return { command: "xdg-open", args: [url] };
  }
}

/** The URL as it may be logged: without its fragment. */
function loggable(url: string): string {
  const hash = url.indexOf("#");
  return hash < 0 ? url : url.slice(0, hash);
}

/** True when a browser was asked to open the page (it may still fail later: logged). */
export function openInBrowser(url: string, logger: Logger): boolean {
  // Only ever our own loopback pages: never a URL that came from outside.
  if (!/^https?:\/\/(localhost|127\.0\.0\.1|\[::1\]):\d+\/[a-z0-9._/-]*(#[A-Za-z0-9_-]*)?$/i.test(url))
    return false;
  const command = opener(url);
  if (!command) {
    logger.info("no desktop session to open the daemon's page in", { url: loggable(url) });
    return false;
  }
  const child = spawn(command.command, command.args, { stdio: "ignore", detached: true });
  child.on("error", () =>
    logger.warn("could not open the daemon's page in a browser", { url: loggable(url) }),
  );
  child.unref();
  return true;
}
