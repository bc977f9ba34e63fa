/**
 * The daemon's web pages and the browser SDK bundle, wherever this build keeps them: inside
 * itself when built (embedded.ts, filled by scripts/build.mjs), or in the source tree when run
 * from a checkout in development (so a page edited there is served at once).
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { EMBEDDED_FILES } from "./embedded.ts";

/** Where the SDK bundle is served from, as a key of the embedded files. */
export const SDK_KEY = "sdk/passerelle-client.js";
/** The prefix of the daemon's own pages among the embedded files. */
export const WEB_PREFIX = "web/";

export interface WebFiles {
  /** A file of the daemon's web root by its path relative to that root ("index.html"), or null. */
  page(relative: string): Promise<Uint8Array | null>;
  /** The browser SDK bundle, or null when it was not built (`npm run build`). */
  sdk(): Promise<Uint8Array | null>;
  /** Where the files come from, for logs and `passerelle doctor`. */
  readonly source: "embedded" | "source tree";
}

async function readOrNull(file: string): Promise<Uint8Array | null> {
  try {
    return await readFile(file);
  } catch {
    return null;
  }
}

/** The web files of this build. */
export function webFiles(): WebFiles {
  const embedded = EMBEDDED_FILES;
  if (embedded) {
    return {
      source: "embedded",
      page: async (relative) => embedded.get(WEB_PREFIX + relative) ?? null,
      sdk: async () => embedded.get(SDK_KEY) ?? null,
    };
  }
  const webRoot = fileURLToPath(new URL("../../web/", import.meta.url));
  const sdkFile = fileURLToPath(new URL("../../../protocol/dist/passerelle-client.js", import.meta.url));
  return {
    source: "source tree",
    page: (relative) => readOrNull(path.join(webRoot, relative)),
    sdk: () => readOrNull(sdkFile),
  };
}

/** True when this process runs a build (bundle or single executable), not the source tree. */
export function isBuilt(): boolean {
  return EMBEDDED_FILES !== null;
}
