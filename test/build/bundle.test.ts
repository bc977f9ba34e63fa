/**
 * The built daemon (`npm run build`: dist/passerelle.cjs + koffi.node) runs by plain node from a
 * folder outside the repository, with its pages, SDK bundle and version inside it, and reaches
 * the real PC/SC library through the koffi.node beside it. Without koffi.node it still starts and
 * says clearly what is missing.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { REPO_ROOT } from "../helpers/daemon.ts";
import { httpGet, startProgram } from "../helpers/program.ts";

const ORIGIN = "https://ehr.example.fr";
const VERSION = (
  JSON.parse(readFileSync(path.join(REPO_ROOT, "daemon/package.json"), "utf8")) as { version: string }
).version;
let dir: string;

before(() => {
  const built = spawnSync(process.execPath, [path.join(REPO_ROOT, "scripts/build.mjs")], {
    encoding: "utf8",
  });
  assert.equal(built.status, 0, built.stderr);
  dir = mkdtempSync(path.join(tmpdir(), "passerelle-bundle-"));
  copyFileSync(path.join(REPO_ROOT, "dist/passerelle.cjs"), path.join(dir, "passerelle.cjs"));
  writeFileSync(path.join(dir, "config.json"), JSON.stringify({ openPinPage: false }));
});

after(() => rmSync(dir, { recursive: true, force: true }));

function start(extra: string[] = []) {
  return startProgram({
    command: process.execPath,
    args: ["passerelle.cjs", "start", "--plaintext", "--port", "0", "--allow-origin", ORIGIN, ...extra],
    cwd: dir,
    env: {
      PATH: process.env["PATH"] ?? "/usr/bin:/bin",
      HOME: dir,
      PASSERELLE_CONFIG: path.join(dir, "config.json"),
    },
  });
}

test("the bundle holds no path into the source tree and asks for no TypeScript loader", () => {
  const code = readFileSync(path.join(dir, "passerelle.cjs"), "utf8");
  assert.match(code.split("\n")[0] ?? "", /^#!\/usr\/bin\/env node$/);
  assert.doesNotMatch(code, /--import tsx/);
  assert.ok(!code.includes(REPO_ROOT), "the bundle names the build folder");
});

test("--version from another folder prints the package version", () => {
  const result = spawnSync(process.execPath, ["passerelle.cjs", "--version"], { cwd: dir, encoding: "utf8" });
  assert.equal(result.status, 0, result.stderr);
  assert.equal(result.stdout.trim(), VERSION);
});

test("started outside the repository, it answers /health and serves its embedded page and SDK", async () => {
  copyFileSync(path.join(REPO_ROOT, "dist/koffi.node"), path.join(dir, "koffi.node"));
  const daemon = await start(["--data-dir", path.join(dir, "data-1")]);
  try {
    const health = await httpGet(daemon.port, "/health", { Origin: ORIGIN });
    assert.equal(health.status, 200);
    const body = JSON.parse(health.body.toString("utf8")) as { status: string; daemon?: { version: string } };
    assert.equal(body.status, "ok");
    assert.equal(body.daemon?.version, VERSION);

    const page = await httpGet(daemon.port, "/");
    assert.equal(page.status, 200);
    assert.deepEqual(page.body, readFileSync(path.join(REPO_ROOT, "daemon/web/index.html")));
    const sdk = await httpGet(daemon.port, "/sdk/passerelle-client.js", { Origin: ORIGIN });
    assert.equal(sdk.status, 200);
    assert.deepEqual(sdk.body, readFileSync(path.join(REPO_ROOT, "protocol/dist/passerelle-client.js")));
    assert.equal((await httpGet(daemon.port, "/no-such-page.html")).status, 404);
    // koffi.node beside the bundle loaded the system PC/SC library: no "not available" error.
    assert.doesNotMatch(daemon.stderr(), /PC\/SC library not available/);
  } finally {
    assert.equal(await daemon.stop(), 0);
  }
});

test("without koffi.node beside it, it still starts and names the missing file", async () => {
  rmSync(path.join(dir, "koffi.node"), { force: true });
  const daemon = await start(["--data-dir", path.join(dir, "data-2")]);
  try {
    assert.equal((await httpGet(daemon.port, "/health")).status, 200);
    assert.match(daemon.stderr(), /PC\/SC library not available/);
    assert.match(daemon.stderr(), /koffi\.node is missing/);
  } finally {
    await daemon.stop();
  }
});
