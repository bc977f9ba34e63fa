// `npm run package`: everything a clinic installs, built on this Linux machine into artifacts/:
//   artifacts/<target>/passerelle[.exe] + koffi.node   single executables (sea.mjs)
//   artifacts/passerelle_<version>_amd64.deb            Debian/Ubuntu (linux/build-deb.mjs)
//   artifacts/passerelle-<version>-x64-{user,machine}.msi   Windows (windows/build-msi.mjs, wixl)
//   artifacts/passerelle-<version>-macos-{x64,arm64}.tar.gz   macOS (macos/build-tarball.mjs)
//   artifacts/SHA256SUMS                                what was built, to compare two builds
// `npm run package -- --update-key FILE.pem` (or PASSERELLE_UPDATE_KEY=FILE.pem) pins the release
// key that `passerelle version --check` verifies update manifests with (scripts/build.mjs); without
// one the artefacts pin no key, and this says so.
// Node binaries and koffi's native files come from npm packages, cached outside the repository
// (lib/npm-files.mjs). A step whose tool is missing fails with the package to install.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { readUpdateKeys, updateKeyFiles } from "../scripts/build.mjs";
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

let keyFiles;
try {
  keyFiles = updateKeyFiles();
  readUpdateKeys(keyFiles); // a wrong key file stops here, before anything is built
} catch (error) {
  process.stderr.write(`package: ${error.message}\n`);
  process.exit(2);
}
if (keyFiles.length === 0) {
  process.stderr.write(
    "package: NO UPDATE KEY: these artefacts pin no release key, so their `passerelle version --check` " +
      "refuses every manifest (exit 13); for a release: npm run package -- --update-key update-key.pub.pem\n",
  );
}
await step("bundle dist/passerelle.cjs", () =>
  execFileSync(
    process.execPath,
    [path.join(root, "scripts/build.mjs"), ...keyFiles.flatMap((file) => ["--update-key", file])],
    { stdio: "inherit", env: { ...process.env, PASSERELLE_UPDATE_KEY: "" } },
  ),
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
