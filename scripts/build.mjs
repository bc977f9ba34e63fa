// Builds the browser bundle of the client SDK (ESM, no dependencies) into protocol/dist/, where the
// daemon serves it as /sdk/passerelle-client.js for its own page and for integrators' examples.
import { build } from "esbuild";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../", import.meta.url));
await build({
  entryPoints: [`${root}protocol/src/client.ts`],
  outfile: `${root}protocol/dist/passerelle-client.js`,
  bundle: true,
  format: "esm",
  platform: "browser",
  target: ["es2022"],
  sourcemap: false,
  minify: false,
  legalComments: "none",
  logLevel: "warning",
});
