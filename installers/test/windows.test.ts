/**
 * The Windows artefacts, checked on Linux: the executable is a PE32+ console program with the SEA
 * fuse, its OpenJS signature removed (it must be signed again by the publisher), koffi.node a
 * Windows DLL; both MSIs install, upgrade and uninstall cleanly under wine's msiexec (per-user:
 * %LOCALAPPDATA%\Programs, HKCU Run; per-machine: Program Files, HKLM Run with CONFIGFILE); and
 * the executable is smoke-run under wine: --version, /health with --plaintext, and PC/SC absent
 * (wine has winscard.dll but no reader service) answering PCSC_UNAVAILABLE, not a crash.
 * The wine is Debian trixie's wine 10 in a throwaway root (wine.ts: Node 24 does not start under
 * Debian 12's wine 8.0), the host's as the fallback when the mirror is unreachable.
 * Needs `npm run package` first, root (debootstrap, chroot), osslsigncode, file.
 */
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { X509Certificate, createHash } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { RpcPeer, openSocket } from "../../test/helpers/daemon.ts";
import { httpGet } from "../../test/helpers/program.ts";
// @ts-expect-error -- plain JavaScript build scripts without types
import { assertSeaFuse } from "../sea.mjs";
// @ts-expect-error -- plain JavaScript build scripts without types
import { buildLauncher, LAUNCHER as LAUNCHER_NAME, peSubsystem } from "../windows/build-launcher.mjs";
// @ts-expect-error -- plain JavaScript build scripts without types
import { buildMsis } from "../windows/build-msi.mjs";
import { WINE_ROOT, findWine, type Wine } from "./wine.ts";

const REPO = fileURLToPath(new URL("../../", import.meta.url));
const ARTIFACTS = path.join(REPO, "artifacts");
const VERSION = (
  JSON.parse(readFileSync(path.join(REPO, "daemon/package.json"), "utf8")) as { version: string }
).version;
const EXE = path.join(ARTIFACTS, "win-x64", "passerelle.exe");
/** The GUI-subsystem launcher the logon Run values start (installers/windows/background.c). */
const LAUNCHER = path.join(ARTIFACTS, "win-x64", LAUNCHER_NAME as string);
const ORIGIN = "https://ehr.example.fr";
/** Node 24's V8 reserves its pointer tables in a way Debian 12's wine 8.0 does not support. */
const V8_UNDER_OLD_WINE = /SegmentedTable::InitializeTable \(subspace allocation\)/;

let prefix: string;
let scratch: string;
let runtimeDir: string;
let wineRunner: Wine;

function wine(args: string[], options: { timeout?: number } = {}) {
  return wineRunner.run(args, { timeoutMs: options.timeout ?? 120_000 });
}

function regQuery(key: string): string {
  return wine(["reg", "query", key, "/s"]).stdout.replaceAll("\r", "");
}

const drive = (windowsPath: string) => path.join(prefix, "drive_c", ...windowsPath.split("\\").slice(1));

let nodeStarts: { ok: true; ms: number } | { ok: false; why: string } | undefined;

/** Whether the executable starts under this wine (asked once); the smoke tests skip with why not. */
function executableStarts(): { ok: true; ms: number } | { ok: false; why: string } {
  if (nodeStarts) return nodeStarts;
  const started = performance.now();
  const version = wine([EXE, "--version"]);
  const ms = performance.now() - started;
  const output = `${version.stdout}${version.stderr}`;
  if (V8_UNDER_OLD_WINE.test(output)) {
    nodeStarts = {
      ok: false,
      why:
        `Node 24 does not start under ${wineRunner.description} (V8: SegmentedTable subspace allocation): ` +
        (wineRunner.fallbackReason ?? "needs wine ≥ 9 or Windows"),
    };
  } else {
    assert.equal(version.status, 0, output);
    assert.equal(version.stdout.trim(), VERSION, output);
    nodeStarts = { ok: true, ms };
  }
  return nodeStarts;
}

before(() => {
  assert.ok(existsSync(EXE), `${EXE} missing: npm run package first`);
  prefix = mkdtempSync(path.join(tmpdir(), "passerelle-wine-"));
  scratch = mkdtempSync(path.join(tmpdir(), "passerelle-msi-test-"));
  runtimeDir = mkdtempSync(path.join(tmpdir(), "passerelle-wine-run-"));
  wineRunner = findWine({ prefix, binds: [prefix, scratch, runtimeDir, ARTIFACTS], runtimeDir });
  process.stderr.write(
    `wine: ${wineRunner.description}; root ready in ${(wineRunner.rootMs / 1000).toFixed(1)} s\n`,
  );
  const boot = wine(["wineboot", "--init"], { timeout: 300_000 });
  assert.equal(boot.status, 0, boot.stderr);
  // Node 24 refuses to start below Windows 10.
  wine(["winecfg", "/v", "win10"]);
});

after(() => {
  wineRunner?.run(["-k"], { program: "wineserver", timeoutMs: 60_000 });
  for (const dir of [prefix, scratch, runtimeDir]) if (dir) rmSync(dir, { recursive: true, force: true });
  // in-root.sh mounts in a private namespace: nothing of the root may show in the host's table.
  const mounts = readFileSync("/proc/self/mountinfo", "utf8");
  assert.ok(!mounts.includes(WINE_ROOT), `mounts left under ${WINE_ROOT}:\n${mounts}`);
});

test("passerelle-background.exe is a GUI-subsystem program, reproducible, listed in SHA256SUMS, run by the MSIs' trust steps", () => {
  const bytes = readFileSync(LAUNCHER);
  assert.equal((peSubsystem as (b: Buffer) => number)(bytes), 2, "PE Subsystem: 2 (Windows GUI)");
  assert.equal((peSubsystem as (b: Buffer) => number)(readFileSync(EXE)), 3, "passerelle.exe: 3 (console)");
  assert.match(
    execFileSync("file", ["-b", LAUNCHER], { encoding: "utf8" }),
    /^PE32\+ executable \(GUI\) x86-64/,
  );
  // Two more builds, from other folders: the same bytes as the packaged one.
  for (const dir of [
    mkdtempSync(path.join(scratch, "launcher-")),
    mkdtempSync(path.join(scratch, "launcher-")),
  ]) {
    assert.ok(readFileSync((buildLauncher as (d: string) => string)(dir)).equals(bytes), "same bytes");
  }
  // The MSIs' install-time trust steps run through it too (msiinfo: msitools, an independent reader).
  for (const variant of ["user", "machine"]) {
    const msi = path.join(ARTIFACTS, `passerelle-${VERSION}-x64-${variant}.msi`);
    const actions = execFileSync("msiinfo", ["export", msi, "CustomAction"], { encoding: "utf8" });
    const exes = actions.split(/\r?\n/).filter((row) => /^Trust\w+\t/.test(row));
    assert.ok(exes.length > 0, `${variant}: no trust custom action:\n${actions}`);
    for (const row of exes) assert.equal(row.split("\t")[2], "PasserelleBackground", `${variant}: ${row}`);
  }
  const digest = createHash("sha256").update(bytes).digest("hex");
  assert.match(
    readFileSync(path.join(ARTIFACTS, "SHA256SUMS"), "utf8"),
    new RegExp(`^${digest}  win-x64/${LAUNCHER_NAME}$`, "m"),
  );
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

test("per-user MSI: installs without rights, starts at logon, trusts the user's CA, upgrades in place, uninstalls clean", () => {
  const user = process.env["USER"] ?? "root";
  const installDir = `C:\\users\\${user}\\AppData\\Local\\Programs\\Passerelle`;
  const run = "HKCU\\Software\\Microsoft\\Windows\\CurrentVersion\\Run";
  const roots = "HKCU\\Software\\Microsoft\\SystemCertificates\\Root\\Certificates";
  // The trust step runs the executable: only where it starts (see the smoke test's skip).
  const trustChecked = executableStarts().ok;
  if (trustChecked) assert.doesNotMatch(regQuery(roots), /\\[0-9A-F]{40}/, "no CA trusted before");
  assert.equal(
    wine(["msiexec", "/i", path.join(ARTIFACTS, `passerelle-${VERSION}-x64-user.msi`), "/qn"]).status,
    0,
  );
  assert.ok(existsSync(path.join(drive(installDir), "passerelle.exe")), "passerelle.exe installed");
  assert.ok(existsSync(path.join(drive(installDir), "koffi.node")), "koffi.node installed");
  assert.ok(existsSync(path.join(drive(installDir), LAUNCHER_NAME as string)), "the launcher installed");
  // The logon start goes through the no-window launcher.
  assert.match(
    regQuery(run),
    /Passerelle\s+REG_SZ\s+"C:\\users\\[^\\]+\\AppData\\Local\\Programs\\Passerelle\\passerelle-background\.exe" start\n/,
  );
  // `passerelle trust install` made this user's CA and put it in the user's Root store.
  let thumbprint = "";
  if (trustChecked) {
    const ca = drive(`C:\\users\\${user}\\AppData\\Local\\passerelle\\Data\\tls\\passerelle-local-ca.pem`);
    thumbprint = new X509Certificate(readFileSync(ca)).fingerprint.replaceAll(":", "");
    assert.match(regQuery(roots), new RegExp(`\\\\${thumbprint}$`, "m"), "the CA in the user's Root store");
  }

  // MajorUpgrade: a newer version replaces the installed one, which leaves the product list.
  const [next] = buildMsis({ artifacts: ARTIFACTS, version: "99.0.0", out: scratch }) as string[];
  assert.equal(wine(["msiexec", "/i", next as string, "/qn"]).status, 0);
  const products = regQuery("HKLM\\Software\\Microsoft\\Windows\\CurrentVersion\\Uninstall");
  const versions = [...products.matchAll(/DisplayVersion\s+REG_SZ\s+(\S+)/g)].map((m) => m[1]);
  assert.deepEqual(
    versions.filter((v) => v === VERSION || v === "99.0.0"),
    ["99.0.0"],
  );
  // On Windows the older version's removal leaves the trust (UPGRADINGPRODUCTCODE is set); wine's
  // msiexec does not set it and the trust goes: put it back as a user would, to test the uninstall.
  if (trustChecked) {
    const again = wine([path.join(drive(installDir), "passerelle.exe"), "trust", "install"]);
    assert.match(again.stdout, /^Windows user Root store: (installed|already installed)\r?$/m, again.stdout);
    assert.match(regQuery(roots), new RegExp(`\\\\${thumbprint}$`, "m"), "trusted before the uninstall");
  }

  assert.equal(wine(["msiexec", "/x", next as string, "/qn"]).status, 0);
  assert.ok(!existsSync(drive(installDir)), "install folder removed");
  assert.doesNotMatch(regQuery(run), /Passerelle/);
  if (trustChecked) assert.doesNotMatch(regQuery(roots), new RegExp(thumbprint), "trust removed");
});

test("per-machine MSI: msiexec /qn CONFIGFILE=… starts every user with that policy; uninstall clean", () => {
  const msi = path.join(ARTIFACTS, `passerelle-${VERSION}-x64-machine.msi`);
  const run = "HKLM\\Software\\Microsoft\\Windows\\CurrentVersion\\Run";
  assert.equal(wine(["msiexec", "/i", msi, "/qn", "CONFIGFILE=C:\\policy\\passerelle.json"]).status, 0);
  assert.ok(existsSync(drive("C:\\Program Files\\Passerelle\\passerelle.exe")));
  assert.ok(existsSync(drive(`C:\\Program Files\\Passerelle\\${LAUNCHER_NAME}`)));
  // Both logon starts go through the no-window launcher.
  assert.match(
    regQuery(run),
    /Passerelle\s+REG_SZ\s+"C:\\Program Files\\Passerelle\\passerelle-background\.exe" start --config "C:\\policy\\passerelle\.json"\n/,
  );
  // Each user's CA, made by their daemon, is trusted at their logon (the user's Root store).
  assert.match(
    regQuery(run),
    /PasserelleTrust\s+REG_SZ\s+"C:\\Program Files\\Passerelle\\passerelle-background\.exe" trust install --wait 60\n/,
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

test("under wine: --version, /health with --plaintext, and PC/SC absent is PCSC_UNAVAILABLE, not a crash", async (t) => {
  const starts = executableStarts();
  if (!starts.ok) return t.skip(starts.why);
  t.diagnostic(`passerelle.exe --version under ${wineRunner.description}: ${Math.round(starts.ms)} ms`);

  const daemon = wineRunner.start(
    [
      EXE,
      "start",
      "--plaintext",
      "--port",
      "0",
      "--allow-origin",
      ORIGIN,
      "--data-dir",
      "C:\\passerelle-test",
    ],
    300,
  );
  try {
    const [, url = ""] = await daemon.waitFor(/^listening (\S+?)\r?$/m, 120_000);
    const port = Number(new URL(url).port);
    const health = await httpGet(port, "/health");
    assert.equal(health.status, 200);
    assert.deepEqual(JSON.parse(health.body.toString("utf8")), { status: "ok" });
    // Said once at start, in the log (docs/admin-guide.md, "PC/SC service unavailable").
    for (const deadline = Date.now() + 30_000; !/PC\/SC service unavailable/.test(daemon.stderr());) {
      assert.ok(Date.now() < deadline, `no "PC/SC service unavailable" in the log:\n${daemon.stderr()}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const line =
      daemon
        .stderr()
        .split("\n")
        .find((l) => l.includes("PC/SC service unavailable")) ?? "";
    assert.equal((JSON.parse(line) as { level: string }).level, "warn", line);
    t.diagnostic(`log: ${line}`);

    const opened = await openSocket({ url, caPem: "" }, { origin: ORIGIN });
    assert.ok("socket" in opened, "upgrade refused");
    const peer = new RpcPeer(opened.socket);
    try {
      await peer.call("system.hello", { client: { name: "wine test", version: "1" } });
      assert.deepEqual((await peer.call("readers.list", {}))["result"], { readers: [] });
      for (const method of ["cps.read", "vitale.read"]) {
        const answer = (await peer.call(method, {}))["error"] as { code: number; data: { reason: string } };
        assert.equal(answer?.data?.reason, "PCSC_UNAVAILABLE", `${method}: ${JSON.stringify(answer)}`);
        assert.equal(answer.code, -32010);
      }
    } finally {
      peer.close();
    }
    assert.equal((await httpGet(port, "/health")).status, 200, "still answering");
    assert.equal(daemon.child.exitCode, null, "still running");
  } finally {
    await daemon.stop(30_000);
  }
});

test("under wine: started through passerelle-background.exe, the daemon answers /health; the launcher exits with passerelle.exe's code", async (t) => {
  const starts = executableStarts();
  if (!starts.ok) return t.skip(starts.why);
  // The arguments go through unchanged (one with a space), the output where the launcher's goes.
  const version = wine([LAUNCHER, "--version"]);
  assert.equal(version.status, 0, `${version.stdout}${version.stderr}`);
  assert.equal(version.stdout.trim(), VERSION);
  const unknown = wine([LAUNCHER, "frobnicate"]);
  assert.equal(unknown.status, 2, `${unknown.stdout}${unknown.stderr}`);
  assert.match(unknown.stderr, /unknown command 'frobnicate'/);

  const dataDir = "C:\\passerelle launcher test";
  const daemon = wineRunner.start(
    [LAUNCHER, "start", "--plaintext", "--port", "0", "--allow-origin", ORIGIN, "--data-dir", dataDir],
    300,
  );
  let port: number;
  try {
    const [, url = ""] = await daemon.waitFor(/^listening (\S+?)\r?$/m, 120_000);
    port = Number(new URL(url).port);
    const health = await httpGet(port, "/health");
    assert.equal(health.status, 200);
    assert.deepEqual(JSON.parse(health.body.toString("utf8")), { status: "ok" });
    assert.ok(existsSync(drive(dataDir)), `the data folder "${dataDir}", one argument`);
  } finally {
    await daemon.stop(30_000);
  }
  // The daemon is in the launcher's kill-on-close job: the launcher gone, the daemon goes too.
  for (const deadline = Date.now() + 30_000; ;) {
    const answered = await httpGet(port, "/health").then(
      () => true,
      () => false,
    );
    if (!answered) break;
    assert.ok(Date.now() < deadline, "the daemon still answers 30 s after its launcher ended");
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
});

test("under wine: with the per-machine MSI installed, `service install` adds no second start at logon", (t) => {
  const starts = executableStarts();
  if (!starts.ok) return t.skip(starts.why);
  const msi = path.join(ARTIFACTS, `passerelle-${VERSION}-x64-machine.msi`);
  const installed = "C:\\Program Files\\Passerelle\\passerelle.exe";
  const userRun = "HKCU\\Software\\Microsoft\\Windows\\CurrentVersion\\Run";
  assert.equal(wine(["msiexec", "/i", msi, "/qn"]).status, 0);
  try {
    const install = wine([installed, "service", "install"]);
    assert.equal(install.status, 0, `${install.stdout}${install.stderr}`);
    assert.match(
      install.stdout,
      /^machine-wide: already started for everyone at logon by HKLM\\Software\\Microsoft\\Windows\\CurrentVersion\\Run\\Passerelle: no Run value added for this user\r?$/m,
    );
    assert.doesNotMatch(regQuery(userRun), /Passerelle/, "no HKCU Run value");
    const status = wine([installed, "service", "status"]);
    assert.equal(status.status, 0, `started at logon: ${status.stdout}${status.stderr}`);
  } finally {
    assert.equal(wine(["msiexec", "/x", msi, "/qn"]).status, 0);
  }
  // Without the machine-wide value, the same command writes this user's.
  const exe = wine([EXE, "service", "install"]);
  assert.equal(exe.status, 0, `${exe.stdout}${exe.stderr}`);
  assert.match(regQuery(userRun), /Passerelle\s+REG_SZ\s+"?[A-Z]:\\.*\\passerelle-background\.exe"? start\n/);
  assert.equal(wine([EXE, "service", "uninstall"]).status, 0);
  assert.doesNotMatch(regQuery(userRun), /Passerelle/);
});
