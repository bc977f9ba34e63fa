/**
 * The macOS install.sh and uninstall.sh, run here under dash and bash against a folder standing in
 * for `/` and recording stubs of the Mac's tools (test/helpers/macos-stubs.ts): the files they
 * place or remove, and the exact launchctl/codesign commands a Mac would run — the LaunchAgents of
 * the console user, the ad hoc signature before the executable is moved into place, the trust step
 * in each logged-in user's session at uninstall. Nothing here ran on a Mac.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import {
  chmodSync,
  copyFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, test } from "node:test";
import { fileURLToPath } from "node:url";
import { macStubs, runMacScript, SIGNED_MARK, type MacState } from "../helpers/macos-stubs.ts";

const REPO = fileURLToPath(new URL("../../", import.meta.url));
const MACOS = path.join(REPO, "installers/macos");
const scratch = mkdtempSync(path.join(tmpdir(), "passerelle-macos-scripts-"));
after(() => rmSync(scratch, { recursive: true, force: true }));
const INSTALLED = "/Library/Application Support/Passerelle/passerelle";
const LABELS = ["fr.passerelle.daemon", "fr.passerelle.trust"];
const skip = process.getuid?.() === 0 ? false : "install.sh sets root ownership: run as root (CI does)";

/** A Mach-O 64-bit header (mach-o/loader.h) of that CPU, then some bytes: what `file` needs. */
function fakeMachO(cpuType: number, text: string): Buffer {
  const header = Buffer.alloc(32);
  header.writeUInt32LE(0xfeedfacf, 0);
  header.writeUInt32LE(cpuType, 4);
  header.writeUInt32LE(3, 8); // CPU_SUBTYPE_ALL
  header.writeUInt32LE(2, 12); // MH_EXECUTE
  return Buffer.concat([header, Buffer.alloc(64), Buffer.from(text)]);
}

/** An unpacked tarball: what build-tarball.mjs puts in it, with stand-in binaries. */
function unpacked(name: string, cpuType: number): string {
  const dir = path.join(scratch, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, "passerelle"), fakeMachO(cpuType, "passerelle executable"));
  writeFileSync(path.join(dir, "koffi.node"), fakeMachO(cpuType, "koffi"));
  for (const file of ["install.sh", "uninstall.sh", ...LABELS.map((label) => `${label}.plist`)])
    copyFileSync(path.join(MACOS, file), path.join(dir, file));
  copyFileSync(path.join(REPO, "installers/linux/config.json"), path.join(dir, "config.json"));
  chmodSync(path.join(dir, "install.sh"), 0o755);
  chmodSync(path.join(dir, "uninstall.sh"), 0o755);
  return dir;
}

const arm64Tarball = unpacked("passerelle-macos-arm64", 0x0100000c);
const x64Tarball = unpacked("passerelle-macos-x64", 0x01000007);

for (const shell of ["dash", "bash"]) {
  test(
    `install.sh (${shell}) on an Apple Silicon Mac: files, ad hoc signature then move, both agents for the console user; again: an upgrade that keeps the policy`,
    {
      skip,
    },
    () => {
      const root = mkdtempSync(path.join(scratch, "root-"));
      const stubs = macStubs(mkdtempSync(path.join(scratch, "stubs-")));
      const mac: MacState = { arm64: true, consoleUid: 501, loggedIn: [501] };
      const result = runMacScript(shell, path.join(arm64Tarball, "install.sh"), stubs, root, mac);
      assert.equal(result.status, 0, result.stderr);
      const dir = path.join(root, "Library/Application Support/Passerelle");
      const agents = path.join(root, "Library/LaunchAgents");
      const staged = (file: string) => path.join(dir, `.${file}.new`);
      assert.deepEqual(stubs.take(), [
        "sysctl [-n] [hw.optional.arm64]",
        "stat [-f] [%u] [/dev/console]",
        "launchctl [bootout] [gui/501/fr.passerelle.trust]",
        "launchctl [bootout] [gui/501/fr.passerelle.daemon]",
        `xattr [-d] [com.apple.quarantine] [${staged("passerelle")}]`,
        `codesign [--force] [--sign] [-] [${staged("passerelle")}]`,
        `xattr [-d] [com.apple.quarantine] [${staged("koffi.node")}]`,
        `codesign [--force] [--sign] [-] [${staged("koffi.node")}]`,
        `launchctl [bootstrap] [gui/501] [${agents}/fr.passerelle.daemon.plist]`,
        `launchctl [bootstrap] [gui/501] [${agents}/fr.passerelle.trust.plist]`,
      ]);
      // What runs is the signed file, moved into place; nothing staged is left.
      for (const [file, mode] of [
        ["passerelle", 0o755],
        ["koffi.node", 0o644],
      ] as const) {
        const installed = readFileSync(path.join(dir, file));
        const original = readFileSync(path.join(arm64Tarball, file));
        assert.ok(installed.equals(Buffer.concat([original, Buffer.from(SIGNED_MARK)])), `${file}: signed`);
        assert.equal(statSync(path.join(dir, file)).mode & 0o777, mode, file);
        assert.ok(!existsSync(staged(file)), `${file}: nothing staged left`);
      }
      for (const label of LABELS) {
        const agent = path.join(agents, `${label}.plist`);
        assert.equal(readFileSync(agent, "utf8"), readFileSync(path.join(MACOS, `${label}.plist`), "utf8"));
        const stat = statSync(agent);
        assert.deepEqual([stat.mode & 0o777, stat.uid, stat.gid], [0o644, 0, 0], `${label}: root's, 0644`);
      }
      assert.equal(readlinkSync(path.join(root, "usr/local/bin/passerelle")), INSTALLED);
      assert.ok(existsSync(path.join(dir, "uninstall.sh")));
      assert.match(result.stdout, /started for the user logged in now/);
      assert.match(result.stdout, /asks for that user's password to trust its local CA/);

      // The administrator's policy survives an upgrade; the executable is replaced (a new file).
      writeFileSync(path.join(dir, "config.json"), '{"allowedOrigins":["https://ehr.example"]}\n');
      const before = lstatSync(path.join(dir, "passerelle")).ino;
      const again = runMacScript(shell, path.join(arm64Tarball, "install.sh"), stubs, root, mac);
      assert.equal(again.status, 0, again.stderr);
      assert.equal(
        readFileSync(path.join(dir, "config.json"), "utf8"),
        '{"allowedOrigins":["https://ehr.example"]}\n',
      );
      assert.notEqual(
        lstatSync(path.join(dir, "passerelle")).ino,
        before,
        "a new file, not rewritten in place",
      );
    },
  );
}

test(
  "install.sh refuses the arm64 build on an Intel Mac, and says the x64 one runs under Rosetta 2",
  { skip },
  () => {
    const root = mkdtempSync(path.join(scratch, "root-"));
    const stubs = macStubs(mkdtempSync(path.join(scratch, "stubs-")));
    const intel = runMacScript("sh", path.join(arm64Tarball, "install.sh"), stubs, root, {
      arm64: false,
      consoleUid: 501,
      loggedIn: [501],
    });
    assert.equal(intel.status, 1);
    assert.match(
      intel.stderr,
      /Apple Silicon \(arm64\) build and this Mac is Intel: use passerelle-\*-macos-x64/,
    );
    assert.ok(!existsSync(path.join(root, "Library")), "nothing installed");
    const rosetta = runMacScript("sh", path.join(x64Tarball, "install.sh"), stubs, root, {
      arm64: true,
      consoleUid: 0,
      loggedIn: [],
    });
    assert.equal(rosetta.status, 0, rosetta.stderr);
    assert.match(rosetta.stdout, /runs here under Rosetta 2/);
    // Nobody at the console: no agent loaded now, each user gets them at login.
    assert.ok(!stubs.take().some((line) => line.startsWith("launchctl")));
  },
);

test(
  "uninstall.sh: agents stopped and the CA taken out in each logged-in user's session, files and this executable's per-user agents removed, data kept",
  {
    skip,
  },
  () => {
    const root = mkdtempSync(path.join(scratch, "root-"));
    const stubs = macStubs(mkdtempSync(path.join(scratch, "stubs-")));
    const mac: MacState = { arm64: true, consoleUid: 501, loggedIn: [501, 502] };
    assert.equal(runMacScript("sh", path.join(arm64Tarball, "install.sh"), stubs, root, mac).status, 0);
    stubs.take();
    // `passerelle service install` by alice (this executable), and an agent of the same name bob
    // points at another build: only alice's goes.
    const agentOf = (user: string, program: string) => {
      const file = path.join(root, "Users", user, "Library/LaunchAgents/fr.passerelle.daemon.plist");
      mkdirSync(path.dirname(file), { recursive: true });
      writeFileSync(
        file,
        `<plist><dict><key>ProgramArguments</key><array>\n    <string>${program}</string>\n</array></dict></plist>\n`,
      );
      return file;
    };
    const alice = agentOf("alice", INSTALLED);
    const bob = agentOf("bob", "/Users/bob/dev/passerelle");
    const data = path.join(root, "Users/alice/Library/Application Support/passerelle/tls");
    mkdirSync(data, { recursive: true });
    writeFileSync(path.join(data, "passerelle-local-ca.pem"), "CA");

    const result = runMacScript(
      "sh",
      path.join(root, "Library/Application Support/Passerelle/uninstall.sh"),
      stubs,
      root,
      mac,
    );
    assert.equal(result.status, 0, result.stderr);
    const trustUninstall = (uid: number) =>
      `launchctl [asuser] [${uid}] [sudo] [-u] [#${uid}] [-H] [${INSTALLED}] [trust] [uninstall]`;
    // The trust step runs in the background (a prompt nobody answers must not hold the script):
    // its lines come in any order among the others.
    const ran = stubs.take();
    assert.deepEqual(
      ran.filter((line) => !line.includes("[asuser]")),
      [
        "ps [-axo] [uid=] [-o] [comm=]",
        "launchctl [bootout] [gui/501/fr.passerelle.trust]",
        "launchctl [bootout] [gui/501/fr.passerelle.daemon]",
        "launchctl [bootout] [gui/502/fr.passerelle.trust]",
        "launchctl [bootout] [gui/502/fr.passerelle.daemon]",
      ],
    );
    assert.deepEqual(ran.filter((line) => line.includes("[asuser]")).sort(), [
      trustUninstall(501),
      trustUninstall(502),
    ]);
    for (const gone of [
      "Library/Application Support/Passerelle",
      "Library/LaunchAgents/fr.passerelle.daemon.plist",
      "Library/LaunchAgents/fr.passerelle.trust.plist",
    ])
      assert.ok(!existsSync(path.join(root, gone)), `${gone} removed`);
    assert.throws(() => lstatSync(path.join(root, "usr/local/bin/passerelle")), /ENOENT/);
    assert.ok(!existsSync(alice), "alice's agent for this executable removed");
    assert.ok(existsSync(bob), "bob's agent for another build kept");
    assert.equal(readFileSync(path.join(data, "passerelle-local-ca.pem"), "utf8"), "CA", "data folder kept");
    // Twice: nothing left to do, no error.
    assert.equal(runMacScript("sh", path.join(arm64Tarball, "uninstall.sh"), stubs, root, mac).status, 0);
  },
);

test("the trust LaunchAgent runs `passerelle trust install --wait` once per login in the GUI session", (t) => {
  if (spawnSync("python3", ["--version"]).status !== 0) return t.skip("no python3 to judge the plist");
  const parsed = spawnSync(
    "python3",
    [
      "-c",
      "import json,plistlib,sys; print(json.dumps(plistlib.load(open(sys.argv[1],'rb'))))",
      path.join(MACOS, "fr.passerelle.trust.plist"),
    ],
    { encoding: "utf8" },
  );
  assert.equal(parsed.status, 0, parsed.stderr);
  const plist = JSON.parse(parsed.stdout) as Record<string, unknown>;
  assert.equal(plist["Label"], "fr.passerelle.trust");
  assert.deepEqual(plist["ProgramArguments"], [INSTALLED, "trust", "install", "--wait", "120"]);
  assert.equal(plist["RunAtLoad"], true);
  assert.equal(plist["KeepAlive"], undefined, "once per login, not restarted");
  assert.equal(plist["LimitLoadToSessionType"], "Aqua");
});
