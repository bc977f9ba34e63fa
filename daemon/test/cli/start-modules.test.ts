/**
 * What a start loads: node-forge (865 KB of source) only when a certificate is to be made, never
 * for an ordinary start (cli/start.ts and everything it imports) nor for reusing the local CA.
 * Each check runs in a fresh Node process, whose require cache lists the CommonJS modules loaded.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const src = fileURLToPath(new URL("../../src/", import.meta.url));

/** Runs `body` as an ES module under tsx; returns the node-forge files in its require cache. */
function forgeLoadedAfter(body: string): number {
  const script = `import { createRequire } from "node:module";
${body}
const cache = createRequire(import.meta.url).cache;
console.log(JSON.stringify(Object.keys(cache).filter((file) => file.includes("node-forge")).length));`;
  const run = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
    encoding: "utf8",
    timeout: 60_000,
  });
  assert.equal(run.status, 0, `the child failed (${run.signal ?? run.status}): ${run.stderr}`);
  return Number(run.stdout.trim().split("\n").at(-1));
}

test("an ordinary start does not load node-forge", () => {
  assert.equal(forgeLoadedAfter(`await import(${JSON.stringify(path.join(src, "cli/start.ts"))});`), 0);
});

test("the local CA is checked without node-forge, which is loaded only to make one", () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), "passerelle-start-modules-"));
  const localCa = JSON.stringify(path.join(src, "tls/local-ca.ts"));
  const made = `const { ensureLocalTls } = await import(${localCa});
await ensureLocalTls(${JSON.stringify(dataDir)});`;
  assert.ok(forgeLoadedAfter(made) > 0, "making the CA loads node-forge");
  assert.equal(forgeLoadedAfter(made), 0, "reusing the CA made by the previous process");
});
