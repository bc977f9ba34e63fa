import { readFileSync } from "node:fs";

/** The daemon's version, from daemon/package.json (inlined by the bundler in the single executable). */
export const DAEMON_VERSION: string = (
  JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string }
).version;
