/**
 * Opens a URL of the daemon's own (the PIN page) in the user's default browser. Best effort: a
 * machine without a desktop session (a server, CI) has none, and the user opens the page from
 * the link the web app shows instead.
 */
import { spawn } from "node:child_process";
import type { Logger } from "../audit/logger.ts";

function opener(url: string): { command: string; args: string[] } | null {
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

/** True when a browser was asked to open the page (it may still fail later: logged). */
export function openInBrowser(url: string, logger: Logger): boolean {
  // Only ever our own loopback pages: never a URL that came from outside.
  if (!/^https?:\/\/(localhost|127\.0\.0\.1|\[::1\]):\d+\//.test(url)) return false;
  const command = opener(url);
  if (!command) {
    logger.info("no desktop session to open the PIN page in", { url });
    return false;
  }
  const child = spawn(command.command, command.args, { stdio: "ignore", detached: true });
  child.on("error", () => logger.warn("could not open the PIN page in a browser", { url }));
  child.unref();
  return true;
}
