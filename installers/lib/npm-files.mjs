// Files taken out of npm packages (the official Node binaries, koffi's per-platform native files),
// fetched with `npm pack` — the npm registry's ordinary client — and kept in a cache outside the
// repository: $PASSERELLE_PACKAGING_CACHE, else $XDG_CACHE_HOME/passerelle/packaging, else
// ~/.cache/passerelle/packaging. Each tarball is checked against the sha512 integrity pinned in
// installers/targets.json ("integrity") and the registry's, on every use; a file is extracted once
// (from a checked tarball) and reused.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from "node:fs";
import { homedir } from "node:os";
import path from "node:path";

export function cacheDir() {
  const base =
    process.env.PASSERELLE_PACKAGING_CACHE ??
    path.join(process.env.XDG_CACHE_HOME ?? path.join(homedir(), ".cache"), "passerelle", "packaging");
  mkdirSync(base, { recursive: true });
  return base;
}

function integrityOf(file) {
  return `sha512-${createHash("sha512").update(readFileSync(file)).digest("base64")}`;
}

/** The registry's integrity of name@version (asked once, then remembered in the cache). */
function registryIntegrity(name, version, cache) {
  const remembered = path.join(cache, `${name.replace("/", "+")}-${version}.integrity`);
  if (existsSync(remembered)) return readFileSync(remembered, "utf8").trim();
  const value = execFileSync("npm", ["view", `${name}@${version}`, "dist.integrity"], {
    encoding: "utf8",
  }).trim();
  if (!value.startsWith("sha512-"))
    throw new Error(`npm view ${name}@${version}: no sha512 integrity (${value})`);
  execFileSync("sh", ["-c", 'printf "%s\\n" "$1" > "$2"', "sh", value, remembered]);
  return value;
}

function checkPinned(name, version, pinned, registry) {
  if (pinned !== undefined && pinned !== registry)
    throw new Error(`${name}@${version}: the registry's integrity ${registry} is not the pinned ${pinned}`);
}

/**
 * The tarball of name@version in the cache, downloaded with `npm pack` if missing, integrity checked.
 * `pinned`: the integrity the build expects; the registry must say the same.
 */
export function packageTarball(name, version, pinned) {
  const cache = cacheDir();
  const tarball = path.join(cache, `${name.replace(/^@/, "").replace("/", "-")}-${version}.tgz`);
  const expected = registryIntegrity(name, version, cache);
  checkPinned(name, version, pinned, expected);
  if (!existsSync(tarball)) {
    process.stderr.write(`package: fetching ${name}@${version} from the npm registry\n`);
    const scratch = mkdtempSync(path.join(cache, ".pack-"));
    try {
      const out = execFileSync(
        "npm",
        ["pack", `${name}@${version}`, "--json", "--pack-destination", scratch],
        {
          encoding: "utf8",
          stdio: ["ignore", "pipe", "inherit"],
        },
      );
      const [{ filename }] = JSON.parse(out);
      renameSync(path.join(scratch, filename), tarball);
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  }
  const actual = integrityOf(tarball);
  if (actual !== expected) {
    rmSync(tarball, { force: true });
    throw new Error(`${tarball}: integrity ${actual} is not the registry's ${expected} (removed; run again)`);
  }
  return tarball;
}

/** One file of name@version (path inside the package, e.g. "bin/node"), extracted into the cache. */
export function packageFile(name, version, file, pinned) {
  const cache = cacheDir();
  const dir = path.join(cache, "files", `${name.replace("/", "+")}@${version}`);
  const target = path.join(dir, file);
  if (existsSync(target)) {
    checkPinned(name, version, pinned, registryIntegrity(name, version, cache));
    return target;
  }
  const tarball = packageTarball(name, version, pinned);
  const scratch = mkdtempSync(path.join(cache, ".extract-"));
  try {
    execFileSync("tar", ["-xzf", tarball, "-C", scratch, `package/${file}`]);
    mkdirSync(path.dirname(target), { recursive: true });
    renameSync(path.join(scratch, "package", file), target);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  return target;
}

/** The newest version of an npm package within a major (e.g. 24), or null. */
export function newestOfMajor(name, major) {
  const versions = JSON.parse(
    execFileSync("npm", ["view", name, "versions", "--json"], { encoding: "utf8" }),
  );
  const matching = versions.filter((v) => /^\d+\.\d+\.\d+$/.test(v) && v.startsWith(`${major}.`));
  matching.sort((a, b) => {
    const [x, y] = [a, b].map((v) => v.split(".").map(Number));
    return x[0] - y[0] || x[1] - y[1] || x[2] - y[2];
  });
  return matching.at(-1) ?? null;
}
