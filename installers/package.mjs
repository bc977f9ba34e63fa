// `npm run package`: everything a clinic installs, built on this Linux machine into artifacts/:
//   artifacts/<target>/passerelle[.exe] + koffi.node   single executables (sea.mjs)
//   artifacts/passerelle_<version>_amd64.deb            Debian/Ubuntu (linux/build-deb.mjs)
//   artifacts/passerelle-<version>-x64-{user,machine}.msi   Windows (windows/build-msi.mjs, wixl)
//   artifacts/passerelle-<version>-macos-{x64,arm64}.tar.gz   macOS (macos/build-tarball.mjs)
//   artifacts/SHA256SUMS                                what was built, to compare two builds
// Node binaries and koffi's native files come from npm packages, cached outside the repository
// (lib/npm-files.mjs). A step whose tool is missing fails with the package to install.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { buildExecutable, TARGETS } from "./sea.mjs";
import { buildDeb } from "./linux/build-deb.mjs";
import { buildMacTarball, MAC_ARCHS } from "./macos/build-tarball.mjs";
import { buildMsis } from "./windows/build-msi.mjs";

const root = fileURLToPath(new URL("../", import.meta.url));
const artifacts = path.join(root, "artifacts");

function step(what, fn) {
  const started = Date.now();
  const result = fn();
  return Promise.resolve(result).then((value) => {
    process.stderr.write(`package: ${what} (${((Date.now() - started) / 1000).toFixed(1)} s)\n`);
    return value;
  });
}

function files(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) out.push(...files(full));
    else if (name !== "SHA256SUMS" && !name.endsWith(".tmp")) out.push(full);
  }
  return out;
}

await step("bundle dist/passerelle.cjs", () =>
  execFileSync(process.execPath, [path.join(root, "scripts/build.mjs")], { stdio: "inherit" }),
);
for (const name of Object.keys(TARGETS.targets)) {
  await step(`${name} executable`, () => buildExecutable(name, { out: artifacts }));
}
await step("Debian package", () => buildDeb({ artifacts }));
await step("Windows MSIs (per-user, per-machine)", () => buildMsis({ artifacts }));
for (const arch of MAC_ARCHS)
  await step(`macOS tarball (${arch})`, () => buildMacTarball({ artifacts, arch }));

const sums = files(artifacts).map((file) => {
  const digest = createHash("sha256").update(readFileSync(file)).digest("hex");
  const size = statSync(file).size;
  process.stdout.write(`${(size / 1e6).toFixed(1).padStart(7)} MB  ${path.relative(root, file)}\n`);
  return `${digest}  ${path.relative(artifacts, file)}`;
});
writeFileSync(path.join(artifacts, "SHA256SUMS"), `${sums.join("\n")}\n`);
