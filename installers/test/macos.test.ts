/**
 * The macOS artefacts, as far as Linux can judge them: a Mach-O x86_64 single executable (SEA fuse
 * set) with a Mach-O koffi.node, a LaunchAgent that starts at login and restarts on failure only,
 * install/uninstall scripts that parse, and a tarball holding them with the right modes. Running
 * it, signing and notarising need a Mac (installers/README.md).
 * Needs `npm run package` first, python3, file.
 */
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
// @ts-expect-error -- a plain JavaScript build script without types
import { assertSeaFuse } from "../sea.mjs";

const REPO = fileURLToPath(new URL("../../", import.meta.url));
const ARTIFACTS = path.join(REPO, "artifacts");
const VERSION = (
  JSON.parse(readFileSync(path.join(REPO, "daemon/package.json"), "utf8")) as { version: string }
).version;
const HERE = path.join(REPO, "installers/macos");

test("the macOS executable is a Mach-O x86_64 single executable with a Mach-O koffi.node", () => {
  const exe = path.join(ARTIFACTS, "darwin-x64", "passerelle");
  assert.ok(existsSync(exe), `${exe} missing: npm run package first`);
  assert.match(execFileSync("file", ["-b", exe], { encoding: "utf8" }), /^Mach-O 64-bit x86_64 executable/);
  assertSeaFuse(exe);
  assert.match(
    execFileSync("file", ["-b", path.join(ARTIFACTS, "darwin-x64", "koffi.node")], { encoding: "utf8" }),
    /^Mach-O 64-bit x86_64 (bundle|dynamically linked shared library)/,
  );
});

test("the LaunchAgent starts Passerelle at login in the GUI session and restarts it only on failure", () => {
  const script = [
    "import json, plistlib, sys",
    "print(json.dumps(plistlib.load(open(sys.argv[1], 'rb'))))",
  ].join("\n");
  const plist = JSON.parse(
    execFileSync("python3", ["-c", script, path.join(HERE, "fr.passerelle.daemon.plist")], {
      encoding: "utf8",
    }),
  ) as Record<string, unknown>;
  assert.equal(plist["Label"], "fr.passerelle.daemon");
  assert.deepEqual(plist["ProgramArguments"], [
    "/Library/Application Support/Passerelle/passerelle",
    "start",
  ]);
  assert.equal(plist["RunAtLoad"], true);
  assert.deepEqual(plist["KeepAlive"], { SuccessfulExit: false });
  assert.equal(plist["LimitLoadToSessionType"], "Aqua");
  const install = readFileSync(path.join(HERE, "install.sh"), "utf8");
  assert.ok(
    install.includes('dir="/Library/Application Support/Passerelle"'),
    "install.sh installs where the plist points",
  );
  for (const file of ["install.sh", "uninstall.sh"]) {
    const parsed = spawnSync("sh", ["-n", path.join(HERE, file)], { encoding: "utf8" });
    assert.equal(parsed.status, 0, `${file}: ${parsed.stderr}`);
  }
});

test("the tarball holds the executable, koffi.node, the agent and the scripts", () => {
  const tarball = path.join(ARTIFACTS, `passerelle-${VERSION}-macos-x64.tar.gz`);
  const listing = execFileSync("tar", ["-tzvf", tarball], { encoding: "utf8" });
  const dir = `passerelle-${VERSION}-macos-x64`;
  const expected: Array<[string, string]> = [
    ["-rwxr-xr-x", "passerelle"],
    ["-rw-r--r--", "koffi.node"],
    ["-rw-r--r--", "fr.passerelle.daemon.plist"],
    ["-rwxr-xr-x", "install.sh"],
    ["-rwxr-xr-x", "uninstall.sh"],
    ["-rw-r--r--", "config.json"],
  ];
  for (const [mode, file] of expected) {
    assert.match(
      listing,
      new RegExp(`^${mode.replaceAll("-", "\\-")} 0/0 .* ${dir}/${file.replaceAll(".", "\\.")}$`, "m"),
    );
  }
});
