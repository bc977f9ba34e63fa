/**
 * The README's Debian install line, as written, with apt, in a clean Debian 12 (bookworm) root
 * (installers/lib/debian-root.sh: debootstrap, cached under the packaging cache; each run works in
 * a fresh copy of it): `sudo apt install ./passerelle_<version>_amd64.deb` pulls pcscd and
 * libpcsclite1 from the Debian mirror, installs the package's files, `passerelle --version` runs in
 * that root, the user unit is enabled for every user, and `apt purge` then `apt autoremove --purge`
 * give back exactly the root as it was. Every step is bounded; without the mirror (no network, or
 * debootstrap missing) the tests skip with the reason and the command that would fix it.
 * Needs `npm run package` first (artifacts/) and root.
 */
import assert from "node:assert/strict";
import { spawnSync, type SpawnSyncReturns } from "node:child_process";
import {
  copyFileSync,
  existsSync,
  lstatSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  rmSync,
} from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
// @ts-expect-error -- a plain JavaScript build script without types
import { cacheDir } from "../lib/npm-files.mjs";

const REPO = fileURLToPath(new URL("../../", import.meta.url));
const VERSION = (
  JSON.parse(readFileSync(path.join(REPO, "daemon/package.json"), "utf8")) as { version: string }
).version;
const DEB_NAME = `passerelle_${VERSION}_amd64.deb`;
const DEB = path.join(REPO, "artifacts", DEB_NAME);

/** The cached clean root: minbase plus sudo, so that the README's line runs with its sudo. */
const CACHED_ROOT = path.join(cacheDir() as string, "roots", "bookworm-apt");
const ROOT_PACKAGES = ["sudo"];
const DEBIAN_ROOT = path.join(REPO, "installers/lib/debian-root.sh");
const IN_ROOT = path.join(REPO, "installers/lib/in-root.sh");
/** debian-root.sh's own bound is per step; the first build downloads ~100 MB. */
const ROOT_BUILD_TIMEOUT_S = 1200;
const STEP_TIMEOUT_S = 600;
/** What apt and dpkg keep about themselves: changed by any install, not the package's files. */
const STATE = [
  "var/lib/apt",
  "var/lib/dpkg",
  "var/cache/apt",
  "var/cache/debconf",
  "var/cache/ldconfig",
  "var/log",
  "etc/ld.so.cache",
];

let skip = "";
let root = "";
let work = "";

function run(command: string, args: string[], timeoutS: number, input?: string): SpawnSyncReturns<string> {
  return spawnSync(command, args, {
    encoding: "utf8",
    timeout: timeoutS * 1000,
    killSignal: "SIGKILL",
    input: input ?? "",
    maxBuffer: 64 * 1024 * 1024,
  });
}

/** A shell command line chrooted in the copy, bounded (in-root.sh: private mounts, a timeout). */
function inRoot(line: string, input?: string): SpawnSyncReturns<string> {
  return run(
    "bash",
    [
      IN_ROOT,
      root,
      "--timeout",
      String(STEP_TIMEOUT_S),
      "--",
      "/usr/bin/env",
      "-i",
      ...ENV,
      "/bin/sh",
      "-c",
      line,
    ],
    STEP_TIMEOUT_S + 30,
    input,
  );
}
const ENV = ["PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root", "LC_ALL=C.UTF-8", "TERM=dumb"];

function output(result: SpawnSyncReturns<string>): string {
  return `exit ${result.status}${result.signal ? ` (${result.signal})` : ""}\n${result.stdout}\n${result.stderr}`;
}

/** Every path of the root but apt's and dpkg's state, with symlink targets. */
function listing(): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      const relative = path.relative(root, full);
      if (STATE.some((state) => relative === state || relative.startsWith(`${state}/`))) continue;
      // The mount points, and debian-root.sh's stamp of the cached root.
      if (["proc", "dev", "sys", "run", "tmp", ".passerelle-root"].includes(relative)) continue;
      out.push(entry.isSymbolicLink() ? `${relative} -> ${readlinkSync(full)}` : relative);
      if (entry.isDirectory()) walk(full);
    }
  };
  walk(root);
  return out.sort();
}

/** Installed packages, `name version` per line. */
function packages(): string[] {
  const result = inRoot("dpkg-query -W -f='${db:Status-Abbrev} ${Package} ${Version}\\n'");
  assert.equal(result.status, 0, output(result));
  return result.stdout
    .split("\n")
    .filter((line) => line.startsWith("ii "))
    .map((line) => line.slice(3).trim())
    .sort();
}

/** Skips every test with the reason when the root cannot be had. */
function guard(t: { skip: (reason: string) => void }): boolean {
  if (skip) t.skip(skip);
  return !skip;
}

before(() => {
  assert.ok(existsSync(DEB), `${DEB} missing: npm run package first`);
  if (!existsSync(DEBIAN_ROOT)) {
    skip = "installers/lib/debian-root.sh is missing";
    return;
  }
  const built = run("bash", [DEBIAN_ROOT, "bookworm", CACHED_ROOT, ...ROOT_PACKAGES], ROOT_BUILD_TIMEOUT_S);
  if (built.status === 3 || (built.status !== 0 && /debootstrap missing/.test(built.stderr))) {
    skip = `no Debian 12 root: ${built.stderr.trim().split("\n").join(" / ")}`;
    return;
  }
  assert.equal(built.status, 0, `debian-root.sh bookworm ${CACHED_ROOT}:\n${output(built)}`);
  work = mkdtempSync(path.join(tmpdir(), "passerelle-apt-"));
  root = path.join(work, "root");
  const copied = run("cp", ["-a", "--reflink=auto", CACHED_ROOT, root], STEP_TIMEOUT_S);
  assert.equal(copied.status, 0, output(copied));
  copyFileSync("/etc/resolv.conf", path.join(root, "etc/resolv.conf"));
  // Today's package lists, as an administrator's machine has them before `apt install`.
  const update = inRoot("apt-get update -q");
  // A mirror that cannot be reached is only a warning to apt-get update (exit 0, the lists kept).
  if (update.status !== 0 || /Failed to fetch|Some index files failed to download/.test(output(update))) {
    if (
      /Could not resolve|Failed to fetch|Temporary failure|Network is unreachable|Connection/i.test(
        output(update),
      )
    ) {
      skip = `the Debian mirror is unreachable from the root (apt-get update): ${update.stderr.trim().split("\n").slice(-2).join(" / ")}`;
      return;
    }
    assert.fail(`apt-get update in the root:\n${output(update)}`);
  }
});

after(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

let before_: string[] = [];
let packagesBefore: string[] = [];

test("the README's line, with apt in a clean Debian 12: pcscd and libpcsclite1 come from the mirror", (t) => {
  if (!guard(t)) return;
  const readme = readFileSync(path.join(REPO, "README.md"), "utf8");
  const line = /^(sudo apt install \.\/(\S+\.deb))/m.exec(readme);
  assert.ok(line?.[1] && line[2], "README.md has a `sudo apt install ./….deb` line");
  assert.equal(line[2], DEB_NAME, "the README names the package npm run package builds");

  packagesBefore = packages();
  for (const name of ["pcscd", "libpcsclite1", "passerelle"])
    assert.ok(!packagesBefore.some((p) => p.startsWith(`${name} `)), `${name} is not in the clean root`);
  before_ = listing();

  // In the folder the administrator downloaded it to, the line exactly as written; apt asks
  // "Do you want to continue? [Y/n]" for the dependencies, and is answered.
  copyFileSync(DEB, path.join(root, "root", DEB_NAME));
  const installed = inRoot(`cd /root && ${line[1]}`, "Y\n");
  assert.equal(installed.status, 0, output(installed));
  assert.match(installed.stdout, /The following NEW packages will be installed:[\s\S]*\bpcscd\b/);
  assert.match(installed.stdout, /\blibpcsclite1\b/);
  const after_ = packages();
  t.diagnostic(`installed by the line: ${after_.filter((p) => !packagesBefore.includes(p)).join(", ")}`);
  for (const name of ["pcscd", "libpcsclite1"])
    assert.ok(
      after_.some((p) => p.startsWith(`${name} `)),
      `${name} installed from the mirror:\n${after_.join("\n")}`,
    );
  assert.ok(after_.includes(`passerelle ${VERSION}`), after_.join("\n"));
  rmSync(path.join(root, "root", DEB_NAME));
});

test("the package's files, the command, and the user unit enabled for every user", (t) => {
  if (!guard(t)) return;
  for (const file of [
    "usr/lib/passerelle/passerelle",
    "usr/lib/passerelle/koffi.node",
    "usr/lib/passerelle/passerelle-trust",
    "usr/lib/systemd/user/passerelle.service",
    "etc/passerelle/config.json",
    "etc/passerelle/config.example.json",
    "etc/passerelle/README.policy",
  ])
    assert.ok(existsSync(path.join(root, file)), `${file} installed`);
  assert.equal(readlinkSync(path.join(root, "usr/bin/passerelle")), "../lib/passerelle/passerelle");
  const wants = path.join(root, "etc/systemd/user/default.target.wants/passerelle.service");
  assert.ok(lstatSync(wants).isSymbolicLink(), "enabled globally (default.target.wants)");
  assert.equal(readlinkSync(wants), "/usr/lib/systemd/user/passerelle.service");

  // The single executable on a stock Debian 12 (its glibc, its libstdc++), from the PATH.
  const version = inRoot("passerelle --version");
  assert.equal(version.status, 0, output(version));
  assert.equal(version.stdout.trim(), VERSION);
  // The installed policy is what an administrator edits; `doctor` reads it as the daemon would.
  const doctor = inRoot(
    "passerelle doctor --config /etc/passerelle/config.json --simulate --data-dir /tmp/doctor",
  );
  assert.match(doctor.stdout, /^ok {3}config {2}read \/etc\/passerelle\/config\.json$/m, output(doctor));
});

test("apt purge, then autoremove of what it pulled in, gives back the root as it was", (t) => {
  if (!guard(t)) return;
  const purged = inRoot("apt purge -y passerelle");
  assert.equal(purged.status, 0, output(purged));
  for (const gone of [
    "usr/lib/passerelle",
    "usr/bin/passerelle",
    "etc/passerelle",
    "usr/lib/systemd/user/passerelle.service",
  ])
    assert.ok(!existsSync(path.join(root, gone)), `${gone} removed by purge`);
  assert.ok(
    !existsSync(path.join(root, "etc/systemd/user/default.target.wants/passerelle.service")),
    "the global enablement link removed",
  );
  assert.deepEqual(
    listing().filter((entry) => /passerelle/i.test(entry)),
    [],
    "nothing named passerelle is left",
  );
  const autoremoved = inRoot("apt autoremove --purge -y");
  assert.equal(autoremoved.status, 0, output(autoremoved));
  assert.deepEqual(packages(), packagesBefore, "the same packages as before the install");
  assert.deepEqual(listing(), before_, "the same files as before the install");
});
