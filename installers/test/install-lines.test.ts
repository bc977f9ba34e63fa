/**
 * Every install line of README.md and docs/admin-guide.md names an artefact `npm run package` really
 * builds (artifacts/SHA256SUMS), and the macOS lines' folder and install.sh are what the tarballs
 * hold. The Debian line is also run as written, with apt (apt.test.ts). Needs `npm run package` first.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const REPO = fileURLToPath(new URL("../../", import.meta.url));
const ARTIFACTS = path.join(REPO, "artifacts");
const built = new Set(
  readFileSync(path.join(ARTIFACTS, "SHA256SUMS"), "utf8")
    .split("\n")
    .map((line) => /^[0-9a-f]{64} {2}(\S+)$/.exec(line)?.[1])
    .filter((name): name is string => name !== undefined),
);
const MAC_ARCHS = ["x64", "arm64"];

/** Installer file names a text names, with the macOS `$a` (or `<arch>`) spelled out for each CPU. */
function installerNames(text: string): string[] {
  const names = new Set<string>();
  for (const match of text.matchAll(/passerelle[-_][0-9A-Za-z.$<>_-]+?\.(?:deb|msi|tar\.gz)\b/g)) {
    const name = match[0];
    if (/\$a|<arch>/.test(name)) for (const arch of MAC_ARCHS) names.add(name.replace(/\$a|<arch>/, arch));
    else names.add(name);
  }
  return [...names].sort();
}

for (const doc of ["README.md", "docs/admin-guide.md"]) {
  test(`${doc}: every installer it names is built by npm run package`, () => {
    const text = readFileSync(path.join(REPO, doc), "utf8");
    const section = text.slice(text.search(/^## Install/m));
    const names = installerNames(section.slice(0, section.slice(3).search(/^## /m) + 3));
    assert.ok(
      names.length >= 4,
      `${doc} names the .deb, the MSIs and the macOS tarballs: ${names.join(", ")}`,
    );
    const missing = names.filter((name) => !built.has(name));
    assert.deepEqual(missing, [], `not in artifacts/SHA256SUMS (${[...built].join(", ")})`);
  });
}

test("the macOS line's folder and install.sh are in each tarball", () => {
  const readme = readFileSync(path.join(REPO, "README.md"), "utf8");
  const line = /^.*tar xzf (\S+) && sudo \.\/(\S+)\/install\.sh.*$/m.exec(readme);
  assert.ok(line?.[1] && line[2], "README.md has the macOS tar xzf … install.sh line");
  for (const arch of MAC_ARCHS) {
    const tarball = line[1].replace("$a", arch);
    const folder = line[2].replace("$a", arch);
    const entries = execFileSync("tar", ["tzf", path.join(ARTIFACTS, tarball)], { encoding: "utf8" }).split(
      "\n",
    );
    assert.ok(entries.includes(`${folder}/install.sh`), `${tarball} holds ${folder}/install.sh`);
  }
});
