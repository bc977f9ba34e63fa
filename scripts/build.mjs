// Builds what runs outside development:
// - the browser bundle of the client SDK (ESM, no dependencies) into protocol/dist/, where the
//   daemon serves it as /sdk/passerelle-client.js in development;
// - the daemon: one CommonJS bundle dist/passerelle.cjs with its web pages and the SDK bundle
//   embedded (daemon/src/runtime/embedded.ts is replaced by the files), and koffi's native file for
//   this machine beside it (dist/koffi.node). `node dist/passerelle.cjs` starts from any folder;
//   the same bundle is the main script of the single executables (installers/sea.mjs).
// Same inputs, same bytes: files are embedded in sorted order and nothing carries a date.
import { build } from "esbuild";
import {
  copyFileSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
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

async function buildDaemon(sdk) {
  const embedded = embeddedModule(sdk);
  const runtimeDir = path.join(root, "daemon/src/runtime");
  const outfile = `${root}dist/passerelle.cjs`;
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
    minify: false,
    keepNames: true,
    legalComments: "eof",
    logLevel: "warning",
    // ws tries these optional native speed-ups and does without them.
    external: ["bufferutil", "utf-8-validate"],
    alias: { koffi: path.join(runtimeDir, "koffi-native.ts") },
    define: {
      "import.meta.url": "__passerelle_import_meta_url",
      PASSERELLE_KOFFI_VERSION: JSON.stringify(KOFFI_VERSION),
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
  writeAtomically(outfile, code);
  const native = koffiNativeFile();
  try {
    copyFileSync(native, `${root}dist/koffi.node.${process.pid}.tmp`);
    renameSync(`${root}dist/koffi.node.${process.pid}.tmp`, `${root}dist/koffi.node`);
  } catch {
    process.stderr.write(
      `build: koffi's native file for ${process.platform}-${process.arch} not found (${native}); ` +
        "the bundle will run without PC/SC\n",
    );
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const sdk = await buildSdk();
  if (!process.argv.includes("--sdk-only")) await buildDaemon(sdk);
}
