/**
 * The .deb as an administrator meets it, in a throwaway root (dpkg --root, maintainer scripts run
 * chrootless with DPKG_ROOT): install, the user unit verified by systemd-analyze, the installed
 * executable reading a virtual CPS through the real pcscd, the trust seam filling a real NSS
 * database, an upgrade that keeps the administrator's policy, and a purge that leaves nothing.
 * The README's Debian install line names this package; apt.test.ts runs that line, with apt, in a
 * clean Debian 12 root.
 * Needs `npm run package` first (artifacts/), root, pcscd + vsmartcard-vpcd, certutil.
 */
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { acquirePcscd, type PcscdLab } from "../../test/helpers/pcscd.ts";
import { RpcPeer, openSocket } from "../../test/helpers/daemon.ts";
import { startProgram } from "../../test/helpers/program.ts";
import { VpcdBridge } from "../../daemon/src/simulator/vpcd-bridge.ts";
import { Cps3Emulator } from "../../daemon/src/simulator/cards/cps3/emulator.ts";
// @ts-expect-error -- a plain JavaScript build script without types
import { buildDeb } from "../linux/build-deb.mjs";

const REPO = fileURLToPath(new URL("../../", import.meta.url));
const VERSION = (
  JSON.parse(readFileSync(path.join(REPO, "daemon/package.json"), "utf8")) as { version: string }
).version;
const DEB = path.join(REPO, "artifacts", `passerelle_${VERSION}_amd64.deb`);
const ORIGIN = "https://ehr.example.fr";

let root: string;
let scratch: string;

function dpkg(...args: string[]): string {
  const result = spawnSync(
    "dpkg",
    [`--root=${root}`, "--force-script-chrootless", "--force-depends", "--log=/dev/null", ...args],
    { encoding: "utf8" },
  );
  assert.equal(result.status, 0, `dpkg ${args.join(" ")}:\n${result.stdout}\n${result.stderr}`);
  return result.stdout;
}

/** Every path under the root but dpkg's own database, with symlink targets. */
function listing(): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      const relative = path.relative(root, full);
      if (relative === "var/lib/dpkg") continue;
      out.push(entry.isSymbolicLink() ? `${relative} -> ${readlinkSync(full)}` : relative);
      if (entry.isDirectory()) walk(full);
    }
  };
  walk(root);
  return out.sort();
}

before(() => {
  assert.ok(
    readdirSync(path.dirname(DEB)).includes(path.basename(DEB)),
    `${DEB} missing: npm run package first`,
  );
  root = mkdtempSync(path.join(tmpdir(), "passerelle-deb-root-"));
  scratch = mkdtempSync(path.join(tmpdir(), "passerelle-deb-test-"));
  for (const dir of ["info", "updates", "triggers"])
    mkdirSync(path.join(root, "var/lib/dpkg", dir), { recursive: true });
  writeFileSync(path.join(root, "var/lib/dpkg/status"), "");
  writeFileSync(path.join(root, "var/lib/dpkg/available"), "");
  // The root as a minimal system has it before us: the user unit folder of the systemd package.
  mkdirSync(path.join(root, "etc/systemd/user"), { recursive: true });
});

after(() => {
  rmSync(root, { recursive: true, force: true });
  rmSync(scratch, { recursive: true, force: true });
});

let before_: string[];

test("the README's Debian install line names this very package", () => {
  const readme = readFileSync(path.join(REPO, "README.md"), "utf8");
  const line = /apt install \.\/(\S+\.deb)/.exec(readme);
  assert.ok(line, "README.md has an `apt install ./….deb` line");
  assert.equal(line[1], path.basename(DEB));
});

test("the package declares what it needs and installs its files, command and enabled user unit", () => {
  const fields = execFileSync("dpkg-deb", ["-f", DEB], { encoding: "utf8" });
  assert.match(fields, /^Depends: .*\blibpcsclite1\b.*\bpcscd\b/m);
  assert.match(fields, /^Recommends: libnss3-tools$/m);
  before_ = listing();
  dpkg("-i", DEB);
  const files = listing();
  for (const file of [
    "usr/lib/passerelle/passerelle",
    "usr/lib/passerelle/koffi.node",
    "usr/lib/passerelle/passerelle-trust",
    "usr/bin/passerelle -> ../lib/passerelle/passerelle",
    "usr/lib/systemd/user/passerelle.service",
    "etc/passerelle/config.json",
    "etc/passerelle/config.example.json",
    "etc/passerelle/README.policy",
    "etc/systemd/user/default.target.wants/passerelle.service -> /usr/lib/systemd/user/passerelle.service",
  ]) {
    assert.ok(files.includes(file), `${file} in:\n${files.join("\n")}`);
  }
  const unit = readFileSync(path.join(root, "usr/lib/systemd/user/passerelle.service"), "utf8");
  assert.match(unit, /^WantedBy=default\.target$/m);
  assert.match(unit, /^After=pcscd\.socket$/m);
  const status = spawnSync(path.join(root, "usr/bin/passerelle"), ["--version"], { encoding: "utf8" });
  assert.equal(status.stdout.trim(), VERSION, status.stderr);
});

test("systemd-analyze verify accepts the user unit, pointed at the installed files", () => {
  // The unit names /usr/lib/passerelle/…; verify it with those paths moved into the throwaway root.
  const unit = readFileSync(path.join(root, "usr/lib/systemd/user/passerelle.service"), "utf8").replaceAll(
    "/usr/lib/passerelle/",
    `${root}/usr/lib/passerelle/`,
  );
  const dir = path.join(scratch, "units");
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, "passerelle.service"), unit);
  const runtime = mkdtempSync(path.join(scratch, "runtime-"));
  const result = spawnSync("systemd-analyze", ["--user", "verify", path.join(dir, "passerelle.service")], {
    encoding: "utf8",
    env: { ...process.env, XDG_RUNTIME_DIR: runtime },
  });
  assert.equal(result.status, 0, result.stderr);
  assert.equal(result.stderr.trim(), "", "systemd-analyze found problems");
});

test("the installed executable, with the installed policy, reads a virtual CPS through the real pcscd", async () => {
  const lab: PcscdLab = await acquirePcscd();
  const bridge = new VpcdBridge({ emulator: new Cps3Emulator(), slot: 0, reconnect: false });
  const home = path.join(scratch, "home");
  mkdirSync(home, { recursive: true });
  let daemon;
  try {
    await bridge.start();
    daemon = await startProgram({
      command: path.join(root, "usr/bin/passerelle"),
      args: ["start", "--port", "0", "--allow-origin", ORIGIN],
      cwd: scratch,
      env: {
        PATH: process.env["PATH"],
        HOME: home,
        XDG_DATA_HOME: path.join(home, ".local/share"),
        PASSERELLE_CONFIG: path.join(root, "etc/passerelle/config.json"),
      },
    });
    const caPem = readFileSync(
      path.join(home, ".local/share/passerelle/tls/passerelle-local-ca.pem"),
      "utf8",
    );
    const opened = await openSocket({ url: daemon.url, caPem }, { origin: ORIGIN });
    assert.ok("socket" in opened, "upgrade refused");
    const peer = new RpcPeer(opened.socket);
    await peer.call("system.hello", { client: { name: "deb test", version: "1" } });
    let readers: Array<{ name: string; cardPresent: boolean; card?: { type: string } }> = [];
    for (const deadline = Date.now() + 10_000; Date.now() < deadline;) {
      readers = ((await peer.call("readers.list", {}))["result"] as { readers: typeof readers }).readers;
      if (readers.some((r) => r.name.endsWith(" 00 00") && r.card?.type === "cps")) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const slot = readers.find((r) => r.name.endsWith(" 00 00"));
    assert.equal(slot?.card?.type, "cps", JSON.stringify(readers));
    peer.close();
  } finally {
    await daemon?.stop();
    await bridge.close();
    await lab.release();
  }

  // The trust seam puts that user's CA in their NSS database, and takes it out again. The unit
  // runs it as the session's user, never root: so does the test (as root it would also write the
  // machine's own trust store). nobody (65534) stands in for that user and owns the home folder.
  const asUser = process.getuid?.() === 0;
  if (asUser) {
    for (const dir of [scratch, root]) chmodSync(dir, 0o755);
    execFileSync("chown", ["-R", "65534:65534", home]);
  }
  const trust = (action: string) => {
    const script = path.join(root, "usr/lib/passerelle/passerelle-trust");
    const [file, args] = asUser
      ? ["setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", script, action]]
      : [script, [action]];
    return spawnSync(file, args, {
      encoding: "utf8",
      env: { PATH: process.env["PATH"], HOME: home, PASSERELLE_BIN: path.join(root, "usr/bin/passerelle") },
    });
  };
  const db = `sql:${home}/.pki/nssdb`;
  const installed = trust("install");
  assert.equal(installed.status, 0, installed.stderr);
  assert.match(installed.stdout, /^NSS sql:.*\.pki\/nssdb: installed$/m);
  assert.doesNotMatch(
    installed.stdout,
    /^system.*: installed$/m,
    "a user's trust step never touches the machine's store",
  );
  const listed = execFileSync("certutil", ["-d", db, "-L"], { encoding: "utf8" });
  assert.match(listed, /Passerelle local CA\s+C,,/);
  assert.equal(trust("uninstall").status, 0);
  assert.doesNotMatch(
    execFileSync("certutil", ["-d", db, "-L"], { encoding: "utf8" }),
    /Passerelle local CA/,
  );
});

test("an upgrade keeps the administrator's policy and replaces the executable", () => {
  const policy = path.join(root, "etc/passerelle/config.json");
  writeFileSync(policy, JSON.stringify({ allowedOrigins: [ORIGIN] }, null, 2));
  const next = buildDeb({
    version: `${VERSION}+upgrade1`,
    compression: ["-Znone"],
    out: path.join(scratch, "next.deb"),
  });
  dpkg("--force-confold", "-i", next);
  assert.match(
    dpkg("-s", "passerelle"),
    new RegExp(`^Version: ${VERSION.replaceAll(".", "\\.")}\\+upgrade1$`, "m"),
  );
  assert.deepEqual(JSON.parse(readFileSync(policy, "utf8")), { allowedOrigins: [ORIGIN] });
  assert.ok(
    listing().includes(
      "etc/systemd/user/default.target.wants/passerelle.service -> /usr/lib/systemd/user/passerelle.service",
    ),
  );
});

test("purge leaves nothing behind", () => {
  dpkg("--purge", "passerelle");
  assert.deepEqual(listing(), before_);
});
