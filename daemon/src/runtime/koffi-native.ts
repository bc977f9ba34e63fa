/**
 * Stands in for the `koffi` package in a build (scripts/build.mjs aliases `koffi` to this file):
 * koffi finds its native file under node_modules, which a bundle and a single executable do not
 * have. This loads `koffi.node` from beside the running program instead (the executable, or the
 * bundle's folder), on first use, so that `--version`, `--help` and `--simulate` work without it
 * and a missing file becomes a clear PCSC_UNAVAILABLE state rather than a crash at start.
 *
 * The native module is koffi's whole API (koffi's own index only adds deprecated aliases).
 */
import { existsSync, realpathSync } from "node:fs";
import path from "node:path";
import sea from "node:sea";
import type * as Koffi from "koffi";

/** The native file's name beside the program (the installers put it there). */
export const KOFFI_NATIVE_FILE = "koffi.node";

declare const PASSERELLE_KOFFI_VERSION: string | undefined;

/** The folder a build's files sit in: the executable's (single executable) or the bundle's. */
export function programDir(): string {
  // /usr/bin/passerelle and /usr/local/bin/passerelle are symlinks to the installed executable.
  return sea.isSea() ? path.dirname(realpathSync(process.execPath)) : __dirname;
}

export class KoffiMissingError extends Error {
  override readonly name = "KoffiMissingError";
}

let native: typeof Koffi | undefined;

function load(): typeof Koffi {
  if (native) return native;
  const file = path.join(programDir(), KOFFI_NATIVE_FILE);
  if (!existsSync(file)) {
    throw new KoffiMissingError(
      `${file} is missing: Passerelle needs koffi's native file for ${process.platform}-${process.arch} ` +
        "beside its executable to reach the PC/SC service (reinstall Passerelle)",
    );
  }
  const module = { exports: {} as typeof Koffi };
  process.dlopen(module, file);
  const expected = typeof PASSERELLE_KOFFI_VERSION === "string" ? PASSERELLE_KOFFI_VERSION : undefined;
  if (expected !== undefined && module.exports.version !== expected) {
    throw new KoffiMissingError(
      `${file} is koffi ${String(module.exports.version)}, this build needs koffi ${expected}`,
    );
  }
  native = module.exports;
  return native;
}

/** koffi's API, loaded when first touched. */
const koffi = new Proxy({} as typeof Koffi, {
  get: (_target, property) => Reflect.get(load(), property),
  has: (_target, property) => Reflect.has(load(), property),
});

export default koffi;
