#!/usr/bin/env node
// Signs the update manifest that `passerelle version --check` reads (daemon/src/updates/).
//
//   node installers/sign-manifest.mjs --generate-key DIR
//       makes an Ed25519 pair: DIR/update-key.pem (private, mode 0600: keep it offline) and
//       DIR/update-key.pub.pem (public), and prints the public key (SPKI, base64). The public key is
//       the build's input: `npm run package -- --update-key DIR/update-key.pub.pem` pins it.
//   node installers/sign-manifest.mjs --key DIR/update-key.pem --base-url https://downloads.example/0.2.0/ \
//       [--artifacts artifacts] [--version V] [--expires-days 30] [--out artifacts/update-manifest.json]
//       one artefact per installer named in artifacts/SHA256SUMS (the .deb, both MSIs, the macOS
//       tarball), its URL the base URL + file name, its sha256 from SHA256SUMS; the version defaults
//       to daemon/package.json's. Writes {"manifest": "<JSON text>", "signature": "<base64>"}.
//
// The signature covers the exact bytes of the `manifest` string. Publish the output at the URL the
// administrators configure as `updates.manifestUrl` (docs/admin-guide.md, "Updates").
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

/** Installer file names → what the manifest calls them. */
const KINDS = [
  { pattern: /^passerelle_.+_amd64\.deb$/, os: "linux", arch: "x64", kind: "deb" },
  { pattern: /^passerelle-.+-x64-user\.msi$/, os: "win32", arch: "x64", kind: "msi-user" },
  { pattern: /^passerelle-.+-x64-machine\.msi$/, os: "win32", arch: "x64", kind: "msi-machine" },
  { pattern: /^passerelle-.+-macos-x64\.tar\.gz$/, os: "darwin", arch: "x64", kind: "tarball" },
  { pattern: /^passerelle-.+-macos-arm64\.tar\.gz$/, os: "darwin", arch: "arm64", kind: "tarball" },
];

function die(message) {
  process.stderr.write(`sign-manifest: ${message}\n`);
  process.exit(2);
}

const { values } = parseArgs({
  options: {
    "generate-key": { type: "string" },
    key: { type: "string" },
    "base-url": { type: "string" },
    artifacts: { type: "string", default: path.join(root, "artifacts") },
    version: { type: "string" },
    "expires-days": { type: "string", default: "30" },
    released: { type: "string" },
    out: { type: "string" },
  },
});

if (values["generate-key"]) {
  const dir = path.resolve(values["generate-key"]);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  const file = path.join(dir, "update-key.pem");
  writeFileSync(file, privateKey.export({ type: "pkcs8", format: "pem" }), { mode: 0o600, flag: "wx" });
  const publicFile = path.join(dir, "update-key.pub.pem");
  writeFileSync(publicFile, publicKey.export({ type: "spki", format: "pem" }), { mode: 0o644, flag: "wx" });
  process.stdout.write(`private key: ${file} (keep it offline)\n`);
  process.stdout.write(
    `public key file: ${publicFile} (the build input: npm run package -- --update-key ${publicFile})\n`,
  );
  process.stdout.write(
    `public key (pin it): ${publicKey.export({ type: "spki", format: "der" }).toString("base64")}\n`,
  );
  process.exit(0);
}

if (!values.key) die("--key FILE (or --generate-key DIR) is required");
if (!values["base-url"]) die("--base-url https://… is required");
const base = new URL(values["base-url"]);
if (base.protocol !== "https:") die("--base-url must be https://");
if (!base.pathname.endsWith("/")) base.pathname += "/";
const days = Number(values["expires-days"]);
if (!Number.isInteger(days) || days < 1 || days > 366) die("--expires-days is 1 to 366");

const key = createPrivateKey(readFileSync(values.key));
if (key.asymmetricKeyType !== "ed25519") die(`${values.key} is not an Ed25519 private key`);
const version =
  values.version ?? JSON.parse(readFileSync(path.join(root, "daemon/package.json"), "utf8")).version;

const sums = readFileSync(path.join(values.artifacts, "SHA256SUMS"), "utf8");
const artefacts = [];
for (const line of sums.split("\n")) {
  const match = /^([0-9a-f]{64}) {2}(\S+)$/.exec(line.trim());
  if (!match) continue;
  const [, sha256, file] = match;
  const name = path.basename(file);
  const kind = KINDS.find((k) => k.pattern.test(name));
  if (!kind) continue; // the bare executables and the bundle are not installers
  artefacts.push({ os: kind.os, arch: kind.arch, kind: kind.kind, url: new URL(name, base).href, sha256 });
}
if (artefacts.length === 0) die(`no installer named in ${path.join(values.artifacts, "SHA256SUMS")}`);

const released = values.released ? new Date(values.released) : new Date();
if (Number.isNaN(released.getTime())) die("--released is an ISO date");
const manifest = JSON.stringify({
  product: "passerelle",
  version,
  released: released.toISOString(),
  expires: new Date(released.getTime() + days * 86_400_000).toISOString(),
  artefacts,
});
const signature = sign(null, Buffer.from(manifest, "utf8"), key).toString("base64");
const out = values.out ?? path.join(values.artifacts, "update-manifest.json");
writeFileSync(out, `${JSON.stringify({ manifest, signature }, null, 2)}\n`);
const publicKey = createPublicKey(key).export({ type: "spki", format: "der" }).toString("base64");
process.stdout.write(
  `${out}: passerelle ${version}, ${artefacts.length} artefacts, signed by ${publicKey}\n`,
);
