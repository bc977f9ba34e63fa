// The Debian package: artifacts/passerelle_<version>_amd64.deb, from the linux-x64 single
// executable (installers/sea.mjs) and the files of this folder. dpkg-deb only (no debhelper).
//
//   /usr/lib/passerelle/{passerelle, koffi.node, passerelle-trust}
//   /usr/bin/passerelle -> ../lib/passerelle/passerelle
//   /usr/lib/systemd/user/passerelle.service   enabled for all users (systemctl --global)
//   /etc/passerelle/{config.json (conffile), config.example.json, README.policy}
//   /usr/share/doc/passerelle/{admin-guide.md, copyright}
//
// Reproducible: every file's time is SOURCE_DATE_EPOCH (default: the last commit's time), owners
// are root (--root-owner-group), and dpkg-deb takes the ar member times from SOURCE_DATE_EPOCH.
import { execFileSync } from "node:child_process";
import {
  chmodSync,
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = fileURLToPath(new URL("./", import.meta.url));
const root = fileURLToPath(new URL("../../", import.meta.url));

export function sourceDateEpoch() {
  if (process.env.SOURCE_DATE_EPOCH) return Number(process.env.SOURCE_DATE_EPOCH);
  try {
    return Number(
      execFileSync("git", ["-C", root, "log", "-1", "--format=%ct"], { encoding: "utf8" }).trim(),
    );
  } catch {
    return 0;
  }
}

function walk(dir) {
  const all = [dir];
  for (const name of readdirSync(dir)) {
    const full = path.join(dir, name);
    if (statSync(full, { throwIfNoEntry: false })?.isDirectory() && !isLink(full)) all.push(...walk(full));
    else all.push(full);
  }
  return all;
}

function isLink(file) {
  try {
    return readdirSync(path.dirname(file), { withFileTypes: true })
      .find((e) => e.name === path.basename(file))
      ?.isSymbolicLink();
  } catch {
    return false;
  }
}

function install(from, to, mode) {
  mkdirSync(path.dirname(to), { recursive: true });
  copyFileSync(from, to);
  chmodSync(to, mode);
}

/** Builds the .deb from artifacts/linux-x64/; returns its path. */
/**
 * Builds the .deb from artifacts/linux-x64/; returns its path. compression: dpkg-deb's -Z/-z
 * (default xz level 1: 35 MB in about a minute here; level 6 saves 5 MB for four more minutes).
 */
export function buildDeb({
  artifacts = path.join(root, "artifacts"),
  version,
  compression = ["-Zxz", "-z1"],
  out,
} = {}) {
  version ??= JSON.parse(readFileSync(path.join(root, "daemon/package.json"), "utf8")).version;
  const exeDir = path.join(artifacts, "linux-x64");
  const stage = mkdtempSync(path.join(tmpdir(), "passerelle-deb-"));
  chmodSync(stage, 0o755);
  try {
    const lib = path.join(stage, "usr/lib/passerelle");
    install(path.join(exeDir, "passerelle"), path.join(lib, "passerelle"), 0o755);
    install(path.join(exeDir, "koffi.node"), path.join(lib, "koffi.node"), 0o644);
    install(path.join(here, "passerelle-trust"), path.join(lib, "passerelle-trust"), 0o755);
    mkdirSync(path.join(stage, "usr/bin"), { recursive: true });
    symlinkSync("../lib/passerelle/passerelle", path.join(stage, "usr/bin/passerelle"));
    install(
      path.join(here, "passerelle.service"),
      path.join(stage, "usr/lib/systemd/user/passerelle.service"),
      0o644,
    );
    for (const file of ["config.json", "config.example.json", "README.policy"]) {
      install(path.join(here, file), path.join(stage, "etc/passerelle", file), 0o644);
    }
    const doc = path.join(stage, "usr/share/doc/passerelle");
    install(path.join(root, "docs/admin-guide.md"), path.join(doc, "admin-guide.md"), 0o644);
    writeFileSync(
      path.join(doc, "copyright"),
      [
        "Passerelle: see the project's licence (UNLICENSED, private).",
        "It embeds Node.js (MIT and the licences in Node's LICENSE file, https://nodejs.org),",
        "koffi (MIT) and the npm packages listed at the end of its bundled JavaScript.",
        "",
      ].join("\n"),
    );
    chmodSync(path.join(doc, "copyright"), 0o644);

    const control = path.join(stage, "DEBIAN");
    mkdirSync(control);
    const installedKiB = Math.ceil(
      walk(stage)
        .filter((f) => !f.includes("/DEBIAN") && statSync(f).isFile())
        .reduce((sum, f) => sum + statSync(f).size, 0) / 1024,
    );
    writeFileSync(
      path.join(control, "control"),
      [
        "Package: passerelle",
        `Version: ${version}`,
        "Architecture: amd64",
        "Maintainer: Passerelle maintainers <passerelle@localhost>",
        `Installed-Size: ${installedKiB}`,
        "Depends: libc6 (>= 2.28), libstdc++6, libpcsclite1, pcscd",
        "Recommends: libnss3-tools",
        "Section: misc",
        "Priority: optional",
        "Homepage: https://localhost/passerelle",
        "Description: Vitale and CPS card readers and INSi calls for web health software",
        " Passerelle is a per-user background daemon that lets browser-based health",
        " software use the workstation's smart-card readers (Vitale, CPS) and make",
        " signed INSi calls, over a guarded wss://localhost WebSocket.",
        "",
      ].join("\n"),
    );
    writeFileSync(path.join(control, "conffiles"), "/etc/passerelle/config.json\n");
    for (const script of ["postinst", "prerm", "postrm"])
      install(path.join(here, script), path.join(control, script), 0o755);
    chmodSync(path.join(control, "control"), 0o644);
    chmodSync(path.join(control, "conffiles"), 0o644);

    const epoch = sourceDateEpoch();
    for (const file of walk(stage).reverse()) {
      execFileSync("touch", ["-h", "-d", `@${epoch}`, file]);
    }
    mkdirSync(artifacts, { recursive: true });
    const deb = out ?? path.join(artifacts, `passerelle_${version}_amd64.deb`);
    const temporary = `${deb}.${process.pid}.tmp`;
    execFileSync("dpkg-deb", ["--root-owner-group", ...compression, "--build", stage, temporary], {
      env: { ...process.env, SOURCE_DATE_EPOCH: String(epoch) },
      stdio: ["ignore", "ignore", "inherit"],
    });
    renameSync(temporary, deb);
    return deb;
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const at = process.argv.indexOf("--version");
  console.log(buildDeb(at === -1 ? {} : { version: process.argv[at + 1] }));
}
