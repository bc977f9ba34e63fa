/**
 * The ANS Cryptolib CPS, the official PKCS#11 middleware for CPS cards, as an independent judge of the
 * emulated cards: what it accepts, a real middleware accepts; nobody here wrote it.
 *
 *   const judge = cryptolibJudge();            // { module } or { skip: "how to get it" }
 *   if ("skip" in judge) return t.skip(judge.skip);
 *   await judge.clearCache();                  // it caches card files by serial, see below
 *   const { code, out } = await judge.pkcs11(["-L"]);
 *
 * The module comes from the RPM in ../shared/tools/cryptolib/, extracted by scripts/cryptolib.sh
 * (scripts/test.sh exports PASSERELLE_CRYPTOLIB_MODULE). With PASSERELLE_REQUIRE_CRYPTOLIB=1 (CI) a
 * missing module is an error, never a skip.
 */
import { execFile, spawnSync } from "node:child_process";
import { existsSync, readdirSync, rmSync } from "node:fs";
import path from "node:path";
import { REPO_ROOT } from "./daemon.ts";

/** Where the module caches what it read of a card, whatever folder it was extracted to. */
export const CRYPTOLIB_CACHE_DIR = "/etc/opt/santesocial/CPS/cache";

const HOW_TO_GET_IT =
  "the ANS Cryptolib CPS 5.2.2 is not available: put CryptolibCPS-5.2.2-1.x86_64.rpm (ANS repository " +
  "ansforge/dops-cryptolib, folder Linux/5.2.2/) in ../shared/tools/cryptolib/ beside the project, " +
  "apt-get install rpm2cpio cpio opensc, then run `bash scripts/cryptolib.sh`, or set " +
  "PASSERELLE_CRYPTOLIB_MODULE to its libcps3_pkcs11_lux.so";

export interface CryptolibJudge {
  /** Path of libcps3_pkcs11_lux.so. */
  module: string;
  /** Runs pkcs11-tool with this module, without blocking the event loop (the vpcd bridge must answer). */
  pkcs11(args: string[]): Promise<{ code: number; out: string }>;
  /** Removes the module's cached card files (all of them, or those of one card serial). */
  clearCache(serial?: string): void;
}

function findModule(): string | undefined {
  const fromEnv = process.env.PASSERELLE_CRYPTOLIB_MODULE;
  if (fromEnv) return existsSync(fromEnv) ? fromEnv : undefined;
  const extracted = spawnSync("bash", [path.join(REPO_ROOT, "scripts/cryptolib.sh")], { encoding: "utf8" });
  const module = extracted.status === 0 ? extracted.stdout.trim() : "";
  return module && existsSync(module) ? module : undefined;
}

function hasPkcs11Tool(): boolean {
  return spawnSync("pkcs11-tool", ["--help"]).error === undefined;
}

/** The judge, or why it cannot run here; throws instead when PASSERELLE_REQUIRE_CRYPTOLIB=1. */
export function cryptolibJudge(): CryptolibJudge | { skip: string } {
  const module = findModule();
  const missing = !module
    ? HOW_TO_GET_IT
    : !hasPkcs11Tool()
      ? "pkcs11-tool is missing (apt-get install opensc)"
      : undefined;
  if (missing !== undefined || module === undefined) {
    if (process.env.PASSERELLE_REQUIRE_CRYPTOLIB === "1") {
      throw new Error(`PASSERELLE_REQUIRE_CRYPTOLIB=1 but ${missing ?? HOW_TO_GET_IT}`);
    }
    return { skip: missing ?? HOW_TO_GET_IT };
  }
  return {
    module,
    pkcs11: (args) =>
      new Promise((resolve) => {
        execFile(
          "pkcs11-tool",
          ["--module", module, ...args],
          { maxBuffer: 16 * 1024 * 1024, timeout: 60_000 },
          (error, stdout, stderr) => {
            const code = error ? Number((error as { code?: number }).code ?? 1) || 1 : 0;
            resolve({ code, out: `${stdout}${stderr}` });
          },
        );
      }),
    clearCache: (serial) => {
      if (!existsSync(CRYPTOLIB_CACHE_DIR)) return;
      for (const name of readdirSync(CRYPTOLIB_CACHE_DIR)) {
        if (serial === undefined || name.startsWith(serial)) {
          rmSync(path.join(CRYPTOLIB_CACHE_DIR, name), { recursive: true, force: true });
        }
      }
    },
  };
}
