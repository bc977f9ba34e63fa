/**
 * The Windows artefacts, checked on Linux: the executable is a PE32+ console program with the SEA
 * fuse, its OpenJS signature removed (it must be signed again by the publisher), koffi.node a
 * Windows DLL; both MSIs install, upgrade and uninstall cleanly under wine's msiexec (per-user:
 * %LOCALAPPDATA%\Programs, HKCU Run; per-machine: Program Files, HKLM Run with CONFIGFILE); and
 * the executable is smoke-run under wine: --version and /health with --plaintext, PC/SC absent.
 * Needs `npm run package` first, wine64, osslsigncode, file.
 */
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { httpGet, startProgram } from "../../test/helpers/program.ts";
// @ts-expect-error -- plain JavaScript build scripts without types
import { assertSeaFuse } from "../sea.mjs";
// @ts-expect-error -- plain JavaScript build scripts without types
import { buildMsis } from "../windows/build-msi.mjs";

const REPO = fileURLToPath(new URL("../../", import.meta.url));
const ARTIFACTS = path.join(REPO, "artifacts");
const VERSION = (
  JSON.parse(readFileSync(path.join(REPO, "daemon/package.json"), "utf8")) as { version: string }
).version;
const EXE = path.join(ARTIFACTS, "win-x64", "passerelle.exe");
const WINE =
  ["/usr/lib/wine/wine64", "/usr/bin/wine64", "/usr/bin/wine"].find((p) => existsSync(p)) ?? "wine64";
/** Node 24's V8 reserves its pointer tables in a way Debian 12's wine 8.0 does not support. */
const V8_UNDER_OLD_WINE = /SegmentedTable::InitializeTable \(subspace allocation\)/;

let prefix: string;
let scratch: string;

function wine(args: string[], options: { timeout?: number } = {}) {
  return spawnSync(WINE, args, {
    encoding: "utf8",
    env: { ...process.env, WINEPREFIX: prefix, WINEDEBUG: "-all", DISPLAY: "" },
    timeout: options.timeout ?? 120_000,
  });
}

function regQuery(key: string): string {
  return wine(["reg", "query", key, "/s"]).stdout.replaceAll("\r", "");
}

const drive = (windowsPath: string) => path.join(prefix, "drive_c", ...windowsPath.split("\\").slice(1));

before(() => {
  assert.ok(existsSync(EXE), `${EXE} missing: npm run package first`);
  prefix = mkdtempSync(path.join(tmpdir(), "passerelle-wine-"));
  scratch = mkdtempSync(path.join(tmpdir(), "passerelle-msi-test-"));
  const boot = wine(["wineboot", "--init"], { timeout: 300_000 });
  assert.equal(boot.status, 0, boot.stderr);
  // Node 24 refuses to start below Windows 10.
  wine(["winecfg", "/v", "win10"]);
});

after(() => {
  spawnSync("/usr/lib/wine/wineserver", ["-k"], { env: { ...process.env, WINEPREFIX: prefix } });
  rmSync(prefix, { recursive: true, force: true });
  rmSync(scratch, { recursive: true, force: true });
});

test("passerelle.exe is a Windows console single executable, unsigned, with a Windows koffi.node", () => {
  assert.match(
    execFileSync("file", ["-b", EXE], { encoding: "utf8" }),
    /^PE32\+ executable \(console\) x86-64/,
  );
  assertSeaFuse(EXE);
  const signature = spawnSync("osslsigncode", ["verify", "-in", EXE], { encoding: "utf8" });
  assert.match(`${signature.stdout}${signature.stderr}`, /No signature found/);
  assert.match(
    execFileSync("file", ["-b", path.join(ARTIFACTS, "win-x64", "koffi.node")], { encoding: "utf8" }),
    /^PE32\+ executable \(DLL\).*x86-64/,
  );
});

test("per-user MSI: installs without rights, starts at logon, upgrades in place, uninstalls clean", () => {
  const installDir =
    "C:\\users\\" + (process.env["USER"] ?? "root") + "\\AppData\\Local\\Programs\\Passerelle";
  const run = "HKCU\\Software\\Microsoft\\Windows\\CurrentVersion\\Run";
  assert.equal(
    wine(["msiexec", "/i", path.join(ARTIFACTS, `passerelle-${VERSION}-x64-user.msi`), "/qn"]).status,
    0,
  );
  assert.ok(existsSync(path.join(drive(installDir), "passerelle.exe")), "passerelle.exe installed");
  assert.ok(existsSync(path.join(drive(installDir), "koffi.node")), "koffi.node installed");
  assert.match(
    regQuery(run),
    /Passerelle\s+REG_SZ\s+"C:\\users\\[^\\]+\\AppData\\Local\\Programs\\Passerelle\\passerelle\.exe" start/,
  );

  // MajorUpgrade: a newer version replaces the installed one, which leaves the product list.
  const [next] = buildMsis({ artifacts: ARTIFACTS, version: "99.0.0", out: scratch }) as string[];
  assert.equal(wine(["msiexec", "/i", next as string, "/qn"]).status, 0);
  const products = regQuery("HKLM\\Software\\Microsoft\\Windows\\CurrentVersion\\Uninstall");
  const versions = [...products.matchAll(/DisplayVersion\s+REG_SZ\s+(\S+)/g)].map((m) => m[1]);
  assert.deepEqual(
    versions.filter((v) => v === VERSION || v === "99.0.0"),
    ["99.0.0"],
  );

  assert.equal(wine(["msiexec", "/x", next as string, "/qn"]).status, 0);
  assert.ok(!existsSync(drive(installDir)), "install folder removed");
  assert.doesNotMatch(regQuery(run), /Passerelle/);
});

test("per-machine MSI: msiexec /qn CONFIGFILE=… starts every user with that policy; uninstall clean", () => {
  const msi = path.join(ARTIFACTS, `passerelle-${VERSION}-x64-machine.msi`);
  const run = "HKLM\\Software\\Microsoft\\Windows\\CurrentVersion\\Run";
  assert.equal(wine(["msiexec", "/i", msi, "/qn", "CONFIGFILE=C:\\policy\\passerelle.json"]).status, 0);
  assert.ok(existsSync(drive("C:\\Program Files\\Passerelle\\passerelle.exe")));
  assert.match(
    regQuery(run),
    /Passerelle\s+REG_SZ\s+"C:\\Program Files\\Passerelle\\passerelle\.exe" start --config "C:\\policy\\passerelle\.json"/,
  );
  assert.equal(wine(["msiexec", "/x", msi, "/qn"]).status, 0);
  assert.ok(!existsSync(drive("C:\\Program Files\\Passerelle")), "Program Files folder removed");
  assert.doesNotMatch(regQuery(run), /Passerelle/);

  // Without CONFIGFILE the policy is the one the MSI puts in ProgramData.
  assert.equal(wine(["msiexec", "/i", msi, "/qn"]).status, 0);
  assert.match(regQuery(run), /--config "C:\\ProgramData\\Passerelle\\config\.json"/);
  assert.ok(existsSync(drive("C:\\ProgramData\\Passerelle\\config.json")));
  assert.equal(wine(["msiexec", "/x", msi, "/qn"]).status, 0);
});

test("under wine: --version, and /health with --plaintext while PC/SC is absent", async (t) => {
  const version = wine([EXE, "--version"]);
  if (V8_UNDER_OLD_WINE.test(`${version.stdout}${version.stderr}`)) {
    t.skip(
      "Node 24 does not start under this wine (V8: SegmentedTable subspace allocation); needs wine ≥ 9 or Windows",
    );
    return;
  }
  assert.equal(version.stdout.trim(), VERSION, version.stderr);
  const daemon = await startProgram({
    command: WINE,
    args: [EXE, "start", "--plaintext", "--port", "0", "--data-dir", "C:\\passerelle-test"],
    cwd: scratch,
    env: { ...process.env, WINEPREFIX: prefix, WINEDEBUG: "-all", PASSERELLE_CONFIG: "C:\\nonexistent.json" },
    timeoutMs: 120_000,
  });
  try {
    assert.equal((await httpGet(daemon.port, "/health")).status, 200);
    assert.match(daemon.stderr(), /PC\/SC|PCSC_UNAVAILABLE/);
  } finally {
    await daemon.stop();
  }
});
