// Builds the browser bundle of the client SDK (ESM, no dependencies) into protocol/dist/, where the
// daemon serves it as /sdk/passerelle-client.js for its own page and for integrators' examples.
import { build } from "esbuild";
import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../", import.meta.url));
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

// Written through a temporary file and a rename: a daemon serving the bundle while it is rebuilt
// (tests, the demo) never reads half a file.
mkdirSync(`${root}protocol/dist`, { recursive: true });
const temporary = `${outfile}.${process.pid}.tmp`;
writeFileSync(temporary, result.outputFiles[0].contents);
renameSync(temporary, outfile);
