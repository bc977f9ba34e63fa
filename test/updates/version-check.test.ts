/**
 * `passerelle version --check` against a local HTTPS server (real TLS: a CA made by openssl for the
 * test, given to the CLI with NODE_EXTRA_CA_CERTS) serving manifests signed by
 * installers/sign-manifest.mjs with a test key (PASSERELLE_UPDATE_TEST_KEY, honoured from the source
 * tree only). Up to date, available, and every refusal with its kind and exit code: tampered, wrong
 * key, downgrade, expired, garbage, too large, HTTP error, timeout, an untrusted server, an http://
 * URL. And the release key as a build input, end to end: a bundle built with `--update-key` (the
 * test key's public half) verifies that key's manifests and refuses others, whatever
 * PASSERELLE_UPDATE_TEST_KEY says (the pin cannot be widened on an installed machine); a bundle built
 * without a key says so (exit 13) before fetching anything, and so does `doctor`; the build refuses
 * a private key. The commands and exit codes are those of docs/admin-guide.md, "Updates".
 */
import assert from "node:assert/strict";
import { execFile, execFileSync, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import https from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { after, before, test } from "node:test";
import { cliCommand, REPO_ROOT } from "../helpers/daemon.ts";
import { DAEMON_VERSION } from "../../daemon/src/version.ts";

const dir = mkdtempSync(path.join(tmpdir(), "passerelle-updates-"));
const SIGN = path.join(REPO_ROOT, "installers/sign-manifest.mjs");
const CLI_TIMEOUT_MS = 60_000;
let server: https.Server;
let port = 0;
let testKey = "";
/** Bundles built for this file into dir: one pinning the test key, one pinning none. */
const keyedBundle = path.join(dir, "keyed/passerelle.cjs");
const keylessBundle = path.join(dir, "keyless/passerelle.cjs");
const BUILD = path.join(REPO_ROOT, "scripts/build.mjs");
const pages = new Map<string, string>();

function openssl(...args: string[]): void {
  execFileSync("openssl", args, { cwd: dir, stdio: ["ignore", "ignore", "pipe"] });
}

function signWith(keyFile: string, name: string, extra: string[]): string {
  execFileSync(process.execPath, [
    SIGN,
    "--key",
    keyFile,
    "--base-url",
    "https://downloads.example.fr/passerelle/",
    "--artifacts",
    path.join(dir, "artifacts"),
    "--out",
    path.join(dir, name),
    ...extra,
  ]);
  return readFileSync(path.join(dir, name), "utf8");
}

before(() => {
  // The test CA and the server's certificate (localhost), with openssl.
  openssl(
    "req",
    "-x509",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:P-256",
    "-nodes",
    "-keyout",
    "ca.key",
    "-out",
    "ca.pem",
    "-days",
    "2",
    "-subj",
    "/CN=Passerelle update test CA",
  );
  openssl(
    "req",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:P-256",
    "-nodes",
    "-keyout",
    "server.key",
    "-out",
    "server.csr",
    "-subj",
    "/CN=localhost",
  );
  writeFileSync(path.join(dir, "ext.cnf"), "subjectAltName=DNS:localhost,IP:127.0.0.1\n");
  openssl(
    "x509",
    "-req",
    "-in",
    "server.csr",
    "-CA",
    "ca.pem",
    "-CAkey",
    "ca.key",
    "-CAcreateserial",
    "-out",
    "server.pem",
    "-days",
    "2",
    "-extfile",
    "ext.cnf",
  );

  // Installers as SHA256SUMS names them, and two keys made by the signing script.
  execFileSync("mkdir", ["-p", path.join(dir, "artifacts")]);
  writeFileSync(
    path.join(dir, "artifacts/SHA256SUMS"),
    [
      `${"a".repeat(64)}  passerelle_9.9.9_amd64.deb`,
      `${"b".repeat(64)}  passerelle-9.9.9-x64-user.msi`,
      `${"c".repeat(64)}  passerelle-9.9.9-x64-machine.msi`,
      `${"d".repeat(64)}  passerelle-9.9.9-macos-x64.tar.gz`,
      `${"e".repeat(64)}  linux-x64/passerelle`,
      "",
    ].join("\n"),
  );
  const made = execFileSync(process.execPath, [SIGN, "--generate-key", path.join(dir, "key")], {
    encoding: "utf8",
  });
  testKey = /public key \(pin it\): (\S+)/.exec(made)?.[1] ?? "";
  execFileSync(process.execPath, [SIGN, "--generate-key", path.join(dir, "other-key")]);
  const key = path.join(dir, "key/update-key.pem");

  const newer = signWith(key, "newer.json", ["--version", "9.9.9"]);
  pages.set("/newer.json", newer);
  pages.set("/current.json", signWith(key, "current.json", ["--version", DAEMON_VERSION]));
  pages.set("/older.json", signWith(key, "older.json", ["--version", "0.0.1"]));
  pages.set(
    "/expired.json",
    signWith(key, "expired.json", ["--version", "9.9.9", "--released", "2020-01-01", "--expires-days", "1"]),
  );
  pages.set(
    "/wrong-key.json",
    signWith(path.join(dir, "other-key/update-key.pem"), "wrong.json", ["--version", "9.9.9"]),
  );
  // Tampered: one artefact's sha256 changed after signing, the signature kept.
  const envelope = JSON.parse(newer) as { manifest: string; signature: string };
  pages.set(
    "/tampered.json",
    JSON.stringify({ ...envelope, manifest: envelope.manifest.replace("aaaa", "aaab") }),
  );
  pages.set("/garbage", "<html>not a manifest</html>");
  pages.set("/big.json", `{"manifest":"${"x".repeat(70_000)}"}`);

  server = https.createServer(
    { key: readFileSync(path.join(dir, "server.key")), cert: readFileSync(path.join(dir, "server.pem")) },
    (request, response) => {
      if (request.url === "/slow") return; // never answers: the check's deadline ends it
      const page = pages.get(request.url ?? "");
      if (page === undefined) return void response.writeHead(404).end("not found");
      response.writeHead(200, { "Content-Type": "application/json" }).end(page);
    },
  );
  return new Promise<void>((resolve) =>
    server.listen(0, "127.0.0.1", () => {
      port = (server.address() as AddressInfo).port;
      resolve();
    }),
  );
});

before(async () => {
  // The release key as a build input: the test key's public half pinned in one bundle, none in the other.
  const build = promisify(execFile);
  const options = { cwd: REPO_ROOT, timeout: 180_000, env: { ...process.env, PASSERELLE_UPDATE_KEY: "" } };
  await Promise.all([
    build(
      process.execPath,
      [
        BUILD,
        "--no-pack",
        "--outdir",
        path.dirname(keyedBundle),
        "--update-key",
        path.join(dir, "key/update-key.pub.pem"),
      ],
      options,
    ),
    build(process.execPath, [BUILD, "--no-pack", "--outdir", path.dirname(keylessBundle)], options),
  ]);
});

after(() => {
  server?.closeAllConnections();
  server?.close();
  rmSync(dir, { recursive: true, force: true });
});

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** `passerelle version --check` with updates.manifestUrl = this path; resolves with its outcome. */
function check(
  page: string,
  options: { trustCa?: boolean; key?: string | null; timeoutMs?: number; url?: string; argv?: string[] } = {},
): Promise<Run> {
  const config = path.join(
    dir,
    `config-${page.replace(/\W/g, "")}-${Math.random().toString(36).slice(2)}.json`,
  );
  writeFileSync(
    config,
    JSON.stringify({
      updates: {
        manifestUrl: options.url ?? `https://localhost:${port}${page}`,
        timeoutMs: options.timeoutMs ?? 5000,
      },
    }),
  );
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env["NODE_EXTRA_CA_CERTS"];
  if (options.trustCa !== false) env["NODE_EXTRA_CA_CERTS"] = path.join(dir, "ca.pem");
  if (options.key !== null) env["PASSERELLE_UPDATE_TEST_KEY"] = options.key ?? testKey;
  const { command, args } = options.argv ? { command: process.execPath, args: options.argv } : cliCommand([]);
  return new Promise((resolve, reject) => {
    const child = spawn(command, [...args, "version", "--check", "--config", config], {
      cwd: REPO_ROOT,
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`version --check did not end in ${CLI_TIMEOUT_MS / 1000} s`));
    }, CLI_TIMEOUT_MS);
    child.on("exit", (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

test("a newer signed version: exit 10, its artefacts for this system with their sha256; nothing installed", async () => {
  const result = await check("/newer.json");
  assert.equal(result.status, 10, result.stderr);
  const lines = result.stdout.trim().split("\n");
  assert.equal(lines[0], `available: passerelle 9.9.9 (this is ${DAEMON_VERSION})`);
  assert.deepEqual(lines.slice(1), [
    `  deb: https://downloads.example.fr/passerelle/passerelle_9.9.9_amd64.deb sha256 ${"a".repeat(64)}`,
  ]);
});

test("the same version: up to date, exit 0", async () => {
  const result = await check("/current.json");
  assert.equal(result.status, 0, result.stderr);
  assert.equal(result.stdout, `up to date: passerelle ${DAEMON_VERSION}\n`);
});

test("refused manifests: one line with the kind, exit 12 — tampered, wrong key, downgrade, expired, garbage", async () => {
  const cases: Array<[string, RegExp]> = [
    [
      "/tampered.json",
      /\(bad-signature\): the update manifest's signature does not verify with the pinned key/,
    ],
    ["/wrong-key.json", /\(bad-signature\)/],
    [
      "/older.json",
      new RegExp(
        `\\(downgrade\\): the update manifest offers 0\\.0\\.1, older than this ${DAEMON_VERSION.replace(/\./g, "\\.")}`,
      ),
    ],
    ["/expired.json", /\(expired\): the update manifest expired on 2020-01-02/],
    ["/garbage", /\(malformed\): the update manifest is not JSON/],
  ];
  const results = await Promise.all(cases.map(([page]) => check(page)));
  results.forEach((result, index) => {
    const [page, expected] = cases[index]!;
    assert.equal(result.status, 12, `${page}: ${result.stderr}`);
    assert.equal(result.stdout, "", page);
    assert.equal(result.stderr.trim().split("\n").length, 1, `${page}: one line`);
    assert.match(result.stderr, expected, page);
  });
});

test("the source tree pins no key: without the test key, exit 13 (no-key) before any fetch", async () => {
  // /slow never answers: a check that fetched would end in a timeout (exit 11) instead.
  const result = await check("/slow", { key: null, timeoutMs: 5000 });
  assert.equal(result.status, 13, result.stderr);
  assert.equal(result.stdout, "");
  assert.match(
    result.stderr,
    /^passerelle: update check failed \(no-key\): this build pins no update key \(it was built without --update-key\)/,
  );
});

test("cannot fetch: exit 11 — too large, HTTP 404, no answer in time, a server this machine does not trust", async () => {
  const [big, missing, slow, untrusted] = await Promise.all([
    check("/big.json"),
    check("/nope.json"),
    check("/slow", { timeoutMs: 1000 }),
    check("/newer.json", { trustCa: false }),
  ]);
  assert.equal(big.status, 11, big.stderr);
  assert.match(big.stderr, /\(too-large\): the update manifest is over 65536 bytes/);
  assert.equal(missing.status, 11);
  assert.match(missing.stderr, /\(http\): localhost:\d+ answered HTTP 404/);
  assert.equal(slow.status, 11);
  assert.match(slow.stderr, /\(timeout\): no complete answer from localhost:\d+ in 1000 ms/);
  assert.equal(untrusted.status, 11);
  assert.match(untrusted.stderr, /\(tls\): TLS with localhost:\d+ failed/);
});

test("an http:// manifest URL is refused by the configuration (exit 4)", async () => {
  const plain = await check("/newer.json", { url: `http://localhost:${port}/newer.json` });
  assert.equal(plain.status, 4);
  assert.match(plain.stderr, /updates\.manifestUrl: an https:\/\/ URL without credentials/);
});

test("a bundle built with --update-key verifies that key's manifests and refuses another key's", async () => {
  const [newer, current, wrong] = await Promise.all([
    check("/newer.json", { argv: [keyedBundle], key: null }),
    check("/current.json", { argv: [keyedBundle], key: null }),
    check("/wrong-key.json", { argv: [keyedBundle], key: null }),
  ]);
  assert.equal(newer.status, 10, newer.stdout + newer.stderr);
  assert.match(newer.stdout, /^available: passerelle 9\.9\.9 /);
  assert.equal(current.status, 0, current.stderr);
  assert.equal(wrong.status, 12, wrong.stderr);
  assert.match(wrong.stderr, /\(bad-signature\)/);
});

test("a build ignores PASSERELLE_UPDATE_TEST_KEY: another key's manifest stays refused with that key in it", async () => {
  const otherPublic = readFileSync(path.join(dir, "other-key/update-key.pub.pem"), "utf8");
  const spki = otherPublic.replace(/-----[^-]+-----|\s/g, "");
  const result = await check("/wrong-key.json", { argv: [keyedBundle], key: spki });
  assert.equal(result.status, 12, result.stdout + result.stderr);
  assert.match(result.stderr, /\(bad-signature\)/);
});

test("a bundle built without a key: version --check exit 13, doctor warns, and fails when a manifest URL is set", async () => {
  const result = await check("/newer.json", { argv: [keylessBundle] });
  assert.equal(result.status, 13, result.stdout + result.stderr);
  assert.match(result.stderr, /\(no-key\): this build pins no update key/);

  const doctor = (bundle: string, config: unknown) => {
    const file = path.join(dir, `doctor-${Math.random().toString(36).slice(2)}.json`);
    writeFileSync(file, JSON.stringify(config));
    return spawnSync(
      process.execPath,
      [bundle, "doctor", "--simulate", "--config", file, "--data-dir", path.join(dir, "doctor-data")],
      { cwd: REPO_ROOT, encoding: "utf8", timeout: CLI_TIMEOUT_MS },
    );
  };
  const updates = { updates: { manifestUrl: `https://localhost:${port}/newer.json` } };
  const keyless = doctor(keylessBundle, {});
  assert.match(
    keyless.stdout,
    /^warn updates this build pins no update key \(built without --update-key\): version --check refuses every manifest; no updates\.manifestUrl$/m,
  );
  const keylessConfigured = doctor(keylessBundle, updates);
  assert.equal(keylessConfigured.status, 1, keylessConfigured.stdout);
  assert.match(keylessConfigured.stdout, /^FAIL updates this build pins no update key .*; manifest https:/m);
  const keyed = doctor(keyedBundle, updates);
  assert.match(
    keyed.stdout,
    new RegExp(
      `^ok {3}updates update key sha256:[0-9a-f]{16} pinned; manifest https://localhost:${port}/`,
      "m",
    ),
  );
});

test("the build refuses a private key, or a file that is not an Ed25519 public key, before building", () => {
  const run = (file: string) =>
    spawnSync(
      process.execPath,
      [BUILD, "--no-pack", "--outdir", path.join(dir, "never"), "--update-key", file],
      {
        cwd: REPO_ROOT,
        encoding: "utf8",
        timeout: CLI_TIMEOUT_MS,
      },
    );
  const privateKey = run(path.join(dir, "key/update-key.pem"));
  assert.equal(privateKey.status, 2);
  assert.match(privateKey.stderr, /is a private key: give the public half/);
  const notKey = run(path.join(dir, "ca.pem"));
  assert.equal(notKey.status, 2);
  assert.match(notKey.stderr, /is not a public key|not Ed25519/);
  assert.equal(existsSync(path.join(dir, "never")), false, "nothing built");
});
