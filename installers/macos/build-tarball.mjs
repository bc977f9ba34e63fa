// macOS: artifacts/passerelle-<version>-macos-<arch>.tar.gz (x64, arm64), from artifacts/darwin-<arch>/:
// the executable, koffi.node, the LaunchAgents, install.sh/uninstall.sh and an empty policy. What Linux cannot do
// (Developer ID signing, notarisation, a .pkg) is listed in installers/README.md.
// Reproducible: sorted names, times at SOURCE_DATE_EPOCH, root owners, gzip without name or time.
import { execFileSync } from "node:child_process";
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { sourceDateEpoch } from "../linux/build-deb.mjs";

const here = fileURLToPath(new URL("./", import.meta.url));
const root = fileURLToPath(new URL("../../", import.meta.url));

export const MAC_ARCHS = ["x64", "arm64"];

export function buildMacTarball({ artifacts = path.join(root, "artifacts"), version, arch = "x64" } = {}) {
  if (!MAC_ARCHS.includes(arch)) throw new Error(`no macOS tarball for ${arch} (${MAC_ARCHS.join(", ")})`);
  version ??= JSON.parse(readFileSync(path.join(root, "daemon/package.json"), "utf8")).version;
  const name = `passerelle-${version}-macos-${arch}`;
  const work = mkdtempSync(path.join(tmpdir(), "passerelle-mac-"));
  try {
    const dir = path.join(work, name);
    mkdirSync(dir);
    const files = [
      [path.join(artifacts, `darwin-${arch}`, "passerelle"), "passerelle", 0o755],
      [path.join(artifacts, `darwin-${arch}`, "koffi.node"), "koffi.node", 0o644],
      [path.join(here, "fr.passerelle.daemon.plist"), "fr.passerelle.daemon.plist", 0o644],
      [path.join(here, "fr.passerelle.trust.plist"), "fr.passerelle.trust.plist", 0o644],
      [path.join(here, "install.sh"), "install.sh", 0o755],
      [path.join(here, "uninstall.sh"), "uninstall.sh", 0o755],
      [path.join(here, "..", "linux", "config.json"), "config.json", 0o644],
    ];
    for (const [from, to, mode] of files) {
      copyFileSync(from, path.join(dir, to));
      chmodSync(path.join(dir, to), mode);
    }
    const out = path.join(artifacts, `${name}.tar.gz`);
    const temporary = `${out}.${process.pid}.tmp`;
    const tar = execFileSync(
      "tar",
      [
        "--sort=name",
        `--mtime=@${sourceDateEpoch()}`,
        "--owner=0",
        "--group=0",
        "--numeric-owner",
        "-C",
        work,
        "-cf",
        "-",
        name,
      ],
      { maxBuffer: 1024 * 1024 * 1024 },
    );
    execFileSync("sh", ["-c", `gzip -n -6 > "$1"`, "sh", temporary], {
      input: tar,
      maxBuffer: 1024 * 1024 * 1024,
    });
    renameSync(temporary, out);
    return out;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url))
  for (const arch of MAC_ARCHS) console.log(buildMacTarball({ arch }));
