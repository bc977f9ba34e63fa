// Builds what runs outside development:
// - the browser bundle of the client SDK (ESM, no dependencies) into protocol/dist/, where the
//   daemon serves it as /sdk/passerelle-client.js in development;
// - the SDK as an npm package, dist/passerelle-protocol-<version>.tgz (`npm pack` of its built
//   JavaScript and .d.ts, compiled by tsc with protocol/tsconfig.build.json, plus the browser
//   bundle), for `npm install ./dist/passerelle-protocol-<version>.tgz` in a web application;
// - the daemon: one CommonJS bundle dist/passerelle.cjs with its web pages and the SDK bundle
//   embedded (daemon/src/runtime/embedded.ts is replaced by the files), and koffi's native file for
//   this machine beside it (dist/koffi.node). `node dist/passerelle.cjs` starts from any folder;
//   the same bundle is the main script of the single executables (installers/sea.mjs).
// Same inputs, same bytes: files are embedded in sorted order and nothing carries a date.
//
// Options: --update-key FILE (repeatable; or PASSERELLE_UPDATE_KEY=FILE, several separated by ":")
// pins the release key(s) that `passerelle version --check` verifies update manifests with: the
// Ed25519 PUBLIC key, as PEM (the update-key.pub.pem of `installers/sign-manifest.mjs
// --generate-key`) or the SPKI base64 it prints. A private key is refused: it stays offline. Without
// one the build pins no key and says so (docs/admin-guide.md, "Updates"). --outdir DIR writes the
// daemon bundle and koffi.node there instead of dist/ (the tests' builds with a test key).
import { build } from "esbuild";
import { spawnSync } from "node:child_process";
import { createHash, createPublicKey } from "node:crypto";
import {
  copyFileSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../", import.meta.url));

/** Writes through a temporary file and a rename: a process reading it meanwhile never sees half a file. */
function writeAtomically(file, contents) {
  mkdirSync(path.dirname(file), { recursive: true });
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, contents);
  renameSync(temporary, file);
}

async function buildSdk() {
  const outfile = `${root}protocol/dist/passerelle-client.js`;
  const result = await build({
    entryPoints: [`${root}protocol/src/client.ts`],
    outfile,
    write: false,
    bundle: true,
    format: "esm",
    platform: "browser",
    target: ["es2022"],
    sourcemap: false,
    minify: false,
    legalComments: "none",
    logLevel: "warning",
  });
  // A daemon serving the bundle while it is rebuilt (tests, the demo) never reads half a file.
  writeAtomically(outfile, result.outputFiles[0].contents);
  return result.outputFiles[0].contents;
}

/** Every file under dir, as [relative path with "/", absolute path], sorted. */
function listFiles(dir, prefix = "") {
  const entries = [];
  for (const name of readdirSync(dir).sort()) {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) entries.push(...listFiles(full, `${prefix}${name}/`));
    else entries.push([`${prefix}${name}`, full]);
  }
  return entries;
}

/** The generated daemon/src/runtime/embedded.ts: the web pages and the SDK bundle, base64. */
function embeddedModule(sdk) {
  const files = listFiles(`${root}daemon/web`).map(([relative, full]) => [
    `web/${relative}`,
    readFileSync(full),
  ]);
  files.push(["sdk/passerelle-client.js", Buffer.from(sdk)]);
  const lines = files.map(
    ([key, bytes]) => `  [${JSON.stringify(key)}, ${JSON.stringify(bytes.toString("base64"))}],`,
  );
  return [
    "const files = [",
    ...lines,
    "];",
    'export const EMBEDDED_FILES = new Map(files.map(([key, data]) => [key, Buffer.from(data, "base64")]));',
    "",
  ].join("\n");
}

/** koffi's native file for a platform, from its per-platform npm package. */
export function koffiNativeFile(
  platform = process.platform,
  arch = process.arch,
  nodeModules = `${root}node_modules`,
) {
  const folder = { linux: `linux_${arch}`, win32: `win32_${arch}`, darwin: `darwin_${arch}` }[platform];
  return path.join(nodeModules, "@koromix", `koffi-${platform}-${arch}`, folder ?? "", "koffi.node");
}

export const KOFFI_VERSION = JSON.parse(
  readFileSync(`${root}node_modules/koffi/package.json`, "utf8"),
).version;

/** The id daemon/src/updates/keys.ts shows a key by (updateKeyId there: keep the two equal). */
function updateKeyId(spki) {
  return `sha256:${createHash("sha256").update(Buffer.from(spki, "base64")).digest("hex").slice(0, 16)}`;
}

/**
 * The release keys to pin, from --update-key files (or PASSERELLE_UPDATE_KEY): [{id, spki}]. Each
 * file is an Ed25519 public key, PEM or SPKI base64; anything else stops the build with its name.
 */
export function readUpdateKeys(files) {
  return files.map((file) => {
    let text;
    try {
      text = readFileSync(file, "utf8").trim();
    } catch (error) {
      throw new Error(`build: --update-key ${file}: cannot read it (${error.code ?? error.message})`, {
        cause: error,
      });
    }
    if (/PRIVATE KEY/.test(text)) {
      throw new Error(
        `build: --update-key ${file} is a private key: give the public half (update-key.pub.pem); the private key stays offline`,
      );
    }
    let key;
    try {
      key = /^-----BEGIN /.test(text)
        ? createPublicKey(text)
        : createPublicKey({ key: Buffer.from(text, "base64"), format: "der", type: "spki" });
    } catch {
      throw new Error(`build: --update-key ${file} is not a public key (PEM, or SPKI in base64)`);
    }
    if (key.asymmetricKeyType !== "ed25519") {
      throw new Error(`build: --update-key ${file} is a ${key.asymmetricKeyType} key, not Ed25519`);
    }
    const spki = key.export({ type: "spki", format: "der" }).toString("base64");
    return { id: updateKeyId(spki), spki };
  });
}

/** --update-key FILE (repeatable), else PASSERELLE_UPDATE_KEY (FILE[:FILE…]). */
export function updateKeyFiles(argv = process.argv.slice(2), env = process.env) {
  const files = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--update-key") {
      if (!argv[i + 1]) throw new Error("build: --update-key needs a FILE");
      files.push(argv[++i]);
    } else if (argv[i].startsWith("--update-key=")) files.push(argv[i].slice("--update-key=".length));
  }
  if (files.length === 0 && env.PASSERELLE_UPDATE_KEY)
    files.push(...env.PASSERELLE_UPDATE_KEY.split(path.delimiter).filter(Boolean));
  return files;
}

async function buildDaemon(sdk, { outdir = `${root}dist`, updateKeys = [] } = {}) {
  const embedded = embeddedModule(sdk);
  const runtimeDir = path.join(root, "daemon/src/runtime");
  const outfile = path.join(outdir, "passerelle.cjs");
  const result = await build({
    entryPoints: [`${root}daemon/src/cli/main.ts`],
    outfile,
    write: false,
    bundle: true,
    format: "cjs",
    platform: "node",
    // Runs on the machine's Node (20 or later) as a bundle and on Node 24 inside the executables.
    target: ["node20"],
    sourcemap: false,
    // Whitespace and comments only: names stay, so stack traces stay readable. Without comments the
    // source is ASCII, which V8 keeps as one byte per character (one non-Latin-1 character in a comment
    // made the whole 3.7 MB source a two-byte string), and a smaller source is compiled sooner.
    minifyWhitespace: true,
    charset: "ascii",
    legalComments: "eof",
    logLevel: "warning",
    // ws tries these optional native speed-ups and does without them.
    external: ["bufferutil", "utf-8-validate"],
    alias: { koffi: path.join(runtimeDir, "koffi-native.ts") },
    define: {
      "import.meta.url": "__passerelle_import_meta_url",
      PASSERELLE_KOFFI_VERSION: JSON.stringify(KOFFI_VERSION),
      PASSERELLE_UPDATE_KEYS_JSON: JSON.stringify(JSON.stringify(updateKeys)),
    },
    banner: {
      js: 'var __passerelle_import_meta_url = require("node:url").pathToFileURL(__filename).href;',
    },
    plugins: [
      {
        name: "embedded-files",
        setup(b) {
          b.onLoad({ filter: /[\\/]runtime[\\/]embedded\.ts$/ }, () => ({
            contents: embedded,
            loader: "js",
          }));
        },
      },
    ],
  });
  // The entry's own hashbang asks for tsx (development); the bundle is plain JavaScript.
  const code = result.outputFiles[0].text.replace(/^#!.*\n/, "#!/usr/bin/env node\n");
  // esbuild escapes strings but not regular expression literals: write those with \uXXXX escapes.
  // eslint-disable-next-line no-control-regex -- every ASCII character is allowed, controls included
  const wide = /[^\x00-\x7f]/.exec(code);
  if (wide) {
    throw new Error(
      `build: the bundle must be ASCII (V8 would hold it as a two-byte string), found U+${wide[0]
        .codePointAt(0)
        .toString(16)
        .toUpperCase()
        .padStart(4, "0")} in …${code.slice(Math.max(0, wide.index - 60), wide.index + 20)}…`,
    );
  }
  writeAtomically(outfile, code);
  // Said when a key is pinned; a build without one stays quiet here (development, the demo):
  // `npm run package` says it, and so do the build's `version --check` and `doctor`.
  if (updateKeys.length > 0)
    process.stderr.write(`build: update key pinned: ${updateKeys.map((key) => key.id).join(", ")}\n`);
  const native = koffiNativeFile();
  try {
    copyFileSync(native, path.join(outdir, `koffi.node.${process.pid}.tmp`));
    renameSync(path.join(outdir, `koffi.node.${process.pid}.tmp`), path.join(outdir, "koffi.node"));
  } catch {
    process.stderr.write(
      `build: koffi's native file for ${process.platform}-${process.arch} not found (${native}); ` +
        "the bundle will run without PC/SC\n",
    );
  }
}

/** A digest of files (folders walked, in sorted order): what the SDK package is made from. */
function digestOf(paths) {
  const hash = createHash("sha256");
  for (const entry of paths) {
    const files = statSync(entry).isDirectory() ? listFiles(entry) : [[path.basename(entry), entry]];
    for (const [relative, full] of files) hash.update(`${relative}\0`).update(readFileSync(full));
  }
  return hash.digest("hex");
}

/**
 * dist/passerelle-protocol-<version>.tgz: the SDK package as a web application installs it. Its
 * exports point to JavaScript and .d.ts (the workspace's protocol/package.json points to the
 * TypeScript sources, for development); `./browser` is the self-contained browser bundle.
 * Skipped when the tarball exists and its inputs did not change (a digest beside it).
 */
export function packSdk() {
  const source = JSON.parse(readFileSync(`${root}protocol/package.json`, "utf8"));
  const tarball = `${root}dist/${source.name.replace(/^@/, "").replace("/", "-")}-${source.version}.tgz`;
  const inputs = [
    `${root}protocol/src`,
    `${root}protocol/package.json`,
    `${root}protocol/tsconfig.build.json`,
    fileURLToPath(import.meta.url),
  ];
  const digest = digestOf(inputs);
  const stamp = `${root}dist/sdk-package.sha256`;
  try {
    if (statSync(tarball).isFile() && readFileSync(stamp, "utf8").trim() === digest) return tarball;
  } catch {
    // no tarball yet, or no stamp
  }
  const stage = `${root}dist/sdk-package`;
  rmSync(stage, { recursive: true, force: true });
  const tsc = spawnSync(
    process.execPath,
    [`${root}node_modules/typescript/bin/tsc`, "-p", `${root}protocol/tsconfig.build.json`],
    { encoding: "utf8" },
  );
  if (tsc.status !== 0)
    throw new Error(`build: tsc could not compile the SDK package:\n${tsc.stdout}${tsc.stderr}`);
  // tsc keeps the ".ts" of relative imports in the .d.ts it writes: point them to the .d.ts files.
  for (const [relative, full] of listFiles(`${stage}/dist`)) {
    if (!relative.endsWith(".d.ts")) continue;
    const text = readFileSync(full, "utf8");
    writeFileSync(full, text.replace(/(from\s+["']\.{1,2}\/[^"']*?)\.ts(["'])/g, "$1.js$2"));
  }
  mkdirSync(`${stage}/browser`, { recursive: true });
  copyFileSync(`${root}protocol/dist/passerelle-client.js`, `${stage}/browser/passerelle-client.js`);
  const entry = (name) => ({ types: `./dist/${name}.d.ts`, default: `./dist/${name}.js` });
  const manifest = {
    name: source.name,
    version: source.version,
    description: source.description,
    license: "UNLICENSED",
    type: "module",
    exports: {
      ".": entry("index"),
      "./client": entry("client"),
      "./errors": entry("errors"),
      "./identity": entry("identity/index"),
      "./browser": "./browser/passerelle-client.js",
    },
    types: "./dist/index.d.ts",
    files: ["dist", "browser"],
    dependencies: source.dependencies,
  };
  writeFileSync(`${stage}/package.json`, `${JSON.stringify(manifest, null, 2)}\n`);
  writeFileSync(
    `${stage}/README.md`,
    [
      `# ${source.name}`,
      "",
      "The Passerelle protocol v1 client SDK: `PasserelleClient` (`@passerelle/protocol/client`), the error",
      "reasons (`/errors`), the identity vigilance helpers (`/identity`), and the same SDK as one",
      "self-contained browser ES module (`/browser`). See docs/integration-guide.md in the Passerelle",
      "repository.",
      "",
    ].join("\n"),
  );
  const pack = spawnSync("npm", ["pack", stage, "--pack-destination", `${root}dist`, "--silent"], {
    encoding: "utf8",
  });
  if (pack.status !== 0) throw new Error(`build: npm pack failed:\n${pack.stdout}${pack.stderr}`);
  writeFileSync(stamp, `${digest}\n`);
  return tarball;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  let updateKeys;
  try {
    updateKeys = readUpdateKeys(updateKeyFiles());
  } catch (error) {
    process.stderr.write(`${error.message}\n`);
    process.exit(2);
  }
  const at = process.argv.indexOf("--outdir");
  const outdir = at === -1 ? `${root}dist` : path.resolve(process.argv[at + 1] ?? "");
  const sdk = await buildSdk();
  if (!process.argv.includes("--no-pack")) packSdk();
  if (!process.argv.includes("--sdk-only")) await buildDaemon(sdk, { outdir, updateKeys });
}
