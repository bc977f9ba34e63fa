/**
 * The SDK as docs/integration-guide.md says to get it: `npm run build` packs
 * dist/passerelle-protocol-<version>.tgz (built JavaScript and .d.ts, no TypeScript source), and a
 * throwaway project outside the repository installs that file with `npm install`, imports it as an
 * ES module (every documented entry point), compiles against its types with tsc (a wrong method
 * name or parameter is a type error), and connects to a real daemon through it; the daemon serves
 * the package's browser bundle at /sdk/passerelle-client.js.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { REPO_ROOT, startDaemon, type DaemonProcess } from "../helpers/daemon.ts";

const ORIGIN = "http://localhost:3000";
const { name, version } = JSON.parse(readFileSync(path.join(REPO_ROOT, "protocol/package.json"), "utf8")) as {
  name: string;
  version: string;
};
const TARBALL = path.join(REPO_ROOT, "dist", `passerelle-protocol-${version}.tgz`);
const WS_VERSION = (
  JSON.parse(readFileSync(path.join(REPO_ROOT, "node_modules/ws/package.json"), "utf8")) as {
    version: string;
  }
).version;
/** npm install from the local cache when it can (CI's npm ci filled it), else from the registry. */
const INSTALL_TIMEOUT_MS = 180_000;

let workspace: string;
let project: string;
let daemon: DaemonProcess | undefined;

function run(command: string, args: string[], cwd: string, timeout = INSTALL_TIMEOUT_MS) {
  const result = spawnSync(command, args, {
    cwd,
    encoding: "utf8",
    timeout,
    env: {
      ...process.env,
      npm_config_prefer_offline: "true",
      npm_config_audit: "false",
      npm_config_fund: "false",
    },
  });
  assert.equal(
    result.status,
    0,
    `${command} ${args.join(" ")} (exit ${result.status}${result.error ? `, ${result.error.message}` : ""}):\n${result.stdout}${result.stderr}`,
  );
  return result.stdout;
}

/** The guide's install line: the shell block marked for this test. */
function guideInstallBlock(): string {
  const guide = readFileSync(path.join(REPO_ROOT, "docs/integration-guide.md"), "utf8");
  const block = /<!-- test: test\/build\/sdk-package\.test\.ts -->\s*```sh\n([\s\S]*?)```/.exec(guide)?.[1];
  assert.ok(
    block,
    "docs/integration-guide.md has no install block marked for test/build/sdk-package.test.ts",
  );
  return block;
}

before(() => {
  // `npm run build`, as the guide says (the pack is skipped when its inputs did not change).
  run("npm", ["run", "--silent", "build"], REPO_ROOT);
  // The guide's layout: the application `my-ehr` beside the clone `passerelle`.
  workspace = mkdtempSync(path.join(tmpdir(), "passerelle-sdk-consumer-"));
  symlinkSync(REPO_ROOT, path.join(workspace, "passerelle"));
  project = path.join(workspace, "my-ehr");
  mkdirSync(project);
  writeFileSync(
    path.join(project, "package.json"),
    JSON.stringify({ name: "my-ehr", version: "1.0.0", private: true, type: "module" }),
  );
  run("bash", ["-c", `set -eo pipefail\n${guideInstallBlock()}`], workspace);
  // For the Node client below (a browser brings its own WebSocket).
  run("npm", ["install", `ws@${WS_VERSION}`], project);
});

after(async () => {
  await daemon?.stop();
  if (workspace) rmSync(workspace, { recursive: true, force: true });
});

test("the guide installs the tarball npm run build writes", () => {
  assert.ok(
    guideInstallBlock().includes(`dist/${path.basename(TARBALL)}`),
    `the guide's install line does not name ${path.basename(TARBALL)}`,
  );
});

test("the tarball holds built JavaScript and .d.ts for every entry point, no TypeScript source", () => {
  const listing = run("tar", ["tzf", TARBALL], REPO_ROOT).trim().split("\n");
  assert.deepEqual(
    listing.filter((file) => /\.ts$/.test(file) && !file.endsWith(".d.ts")),
    [],
    "TypeScript sources in the package",
  );
  for (const file of ["dist/index.js", "dist/client.js", "dist/client.d.ts", "dist/errors.d.ts"])
    assert.ok(listing.includes(`package/${file}`), `${file} missing from ${listing.join(", ")}`);
  assert.ok(listing.includes("package/browser/passerelle-client.js"));
  const manifest = JSON.parse(
    readFileSync(path.join(project, "node_modules", name, "package.json"), "utf8"),
  ) as { exports: Record<string, unknown> };
  const targets = Object.values(manifest.exports).flatMap((target) =>
    typeof target === "string" ? [target] : Object.values(target as Record<string, string>),
  );
  assert.ok(targets.length > 5);
  for (const target of targets) assert.match(target, /\.js$|\.d\.ts$/, `export ${target}`);
});

test("installed from the tarball: imported as ES modules, and connected to a daemon", async () => {
  daemon = await startDaemon({ args: ["--simulate", "--allow-origin", ORIGIN], plaintext: true });
  writeFileSync(
    path.join(project, "index.mjs"),
    `import WebSocket from "ws";
import { PasserelleClient } from "@passerelle/protocol/client";
import { ERROR_REASON_NAMES } from "@passerelle/protocol/errors";
import { assessIdentity } from "@passerelle/protocol/identity";
import * as root from "@passerelle/protocol";
import * as browser from "@passerelle/protocol/browser";

// In Node, the SDK takes its WebSocket from the ws package (a browser has its own).
const passerelle = new PasserelleClient({
  url: process.argv[2],
  createWebSocket: (url, protocol) => new WebSocket(url, protocol, { origin: ${JSON.stringify(ORIGIN)} }),
  reconnect: false,
});
await passerelle.connect();
const hello = await passerelle.call("system.hello", { client: { name: "my-ehr", version: "1.0.0" } });
const { readers } = await passerelle.call("readers.list", {});
passerelle.close();
console.log(JSON.stringify({
  access: hello.access,
  simulation: hello.simulation,
  readers: readers.length,
  reasons: ERROR_REASON_NAMES.length,
  identity: typeof assessIdentity,
  rootClient: root.PasserelleClient === PasserelleClient,
  browserClient: typeof browser.PasserelleClient,
}));
`,
  );
  const out = JSON.parse(run(process.execPath, ["index.mjs", daemon.url], project, 60_000)) as Record<
    string,
    unknown
  >;
  assert.equal(out["access"], "granted");
  assert.equal(out["simulation"], true);
  assert.ok((out["readers"] as number) >= 2, JSON.stringify(out));
  assert.ok((out["reasons"] as number) > 10);
  assert.equal(out["identity"], "function");
  assert.equal(out["rootClient"], true);
  assert.equal(out["browserClient"], "function");
  // The daemon serves the same browser bundle at /sdk/passerelle-client.js, to allowed origins.
  const served = await fetch(new URL("/sdk/passerelle-client.js", daemon.url.replace(/^ws/, "http")), {
    headers: { Origin: ORIGIN },
  });
  assert.equal(served.status, 200);
  assert.match(served.headers.get("content-type") ?? "", /javascript/);
  assert.equal(served.headers.get("access-control-allow-origin"), ORIGIN);
  assert.equal(
    await served.text(),
    readFileSync(path.join(project, "node_modules", name, "browser/passerelle-client.js"), "utf8"),
  );
});

test("its types compile with tsc, and a wrong method or parameter does not", () => {
  writeFileSync(
    path.join(project, "types.ts"),
    `import { PasserelleClient, PasserelleError } from "@passerelle/protocol/client";
import type { ErrorReason } from "@passerelle/protocol/errors";

export async function check(passerelle: PasserelleClient): Promise<string> {
  const { readers } = await passerelle.call("readers.list", {});
  const first: string | undefined = readers[0]?.id;
  try {
    await passerelle.call("cps.verifyPin", {}, { timeoutMs: 120_000 });
  } catch (error) {
    if (error instanceof PasserelleError) {
      const reason: ErrorReason | string = error.reason;
      return reason;
    }
  }
  // @ts-expect-error: no such method
  await passerelle.call("readers.lis", {});
  // @ts-expect-error: readerId is a string
  await passerelle.call("vitale.read", { readerId: 1 });
  return first ?? "";
}
`,
  );
  writeFileSync(
    path.join(project, "tsconfig.json"),
    JSON.stringify({
      compilerOptions: {
        target: "ES2022",
        module: "NodeNext",
        moduleResolution: "NodeNext",
        lib: ["ES2022", "DOM"],
        strict: true,
        noEmit: true,
        types: [],
      },
      files: ["types.ts"],
    }),
  );
  run(
    process.execPath,
    [path.join(REPO_ROOT, "node_modules/typescript/bin/tsc"), "-p", "."],
    project,
    120_000,
  );
});
