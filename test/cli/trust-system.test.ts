/**
 * `passerelle trust install|status|uninstall` into the Debian OS store, through the real
 * update-ca-certificates — in a throwaway folder standing in for `/` (`--system-root`), so the
 * machine's own store is never changed (checked: its bundle and folders are the same afterwards).
 * The throwaway store starts like a real one: a configuration listing another CA, and a hook.
 * openssl is the judge: the daemon's localhost certificate verifies against the store's bundle
 * (and its hashed folder) after install, and no more after uninstall; the other CA stays.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { execFileSync, spawnSync } from "node:child_process";
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { cliCommand, REPO_ROOT } from "../helpers/daemon.ts";

const hasUpdateCaCertificates = spawnSync("sh", ["-c", "command -v update-ca-certificates"]).status === 0;
const skip =
  process.platform !== "linux"
    ? "Linux only"
    : !hasUpdateCaCertificates
      ? "no update-ca-certificates (Debian's ca-certificates package)"
      : false;

let work: string;
let root: string;
let dataDir: string;
let home: string;

const under = (...parts: string[]) => path.join(root, ...parts);
const bundle = () => under("etc/ssl/certs/ca-certificates.crt");
const STORE = () => `system (update-ca-certificates, under ${root})`;

function passerelle(...args: string[]): { status: number | null; output: string } {
  const { command, args: argv } = cliCommand([
    "trust",
    ...args,
    "--data-dir",
    dataDir,
    "--system-root",
    root,
  ]);
  const result = spawnSync(command, argv, {
    cwd: REPO_ROOT,
    env: { PATH: process.env["PATH"], HOME: home, LANG: "C.UTF-8" },
    encoding: "utf8",
    timeout: 60_000,
  });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

/** The line the CLI printed for the OS store. */
function systemLine(output: string): string | undefined {
  return output.split("\n").find((line) => line.startsWith(`${STORE()}: `));
}

function verifies(against: string[]): boolean {
  const result = spawnSync("openssl", ["verify", ...against, path.join(dataDir, "tls", "localhost.pem")], {
    encoding: "utf8",
  });
  return result.status === 0 && /: OK$/m.test(result.stdout);
}

/** What the machine's own store looks like: it must be the same at the end. */
function machineStore(): string {
  const hash = (file: string) =>
    existsSync(file) ? createHash("sha256").update(readFileSync(file)).digest("hex") : "absent";
  const list = (dir: string) => (existsSync(dir) ? readdirSync(dir).sort().join(",") : "absent");
  return JSON.stringify({
    bundle: hash("/etc/ssl/certs/ca-certificates.crt"),
    local: list("/usr/local/share/ca-certificates"),
    certs: list("/etc/ssl/certs"),
  });
}

let machineBefore: string;
let otherCa: string;

before(
  () => {
    if (skip) return;
    machineBefore = machineStore();
    work = mkdtempSync(path.join(tmpdir(), "passerelle-trust-system-"));
    root = path.join(work, "root");
    dataDir = path.join(work, "data");
    home = path.join(work, "home");
    mkdirSync(home);
    // A store like a real one: the distribution's CAs (one here) listed in the configuration…
    mkdirSync(under("usr/share/ca-certificates/other"), { recursive: true });
    execFileSync(
      "openssl",
      [
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        path.join(work, "other.key"),
        "-out",
        under("usr/share/ca-certificates/other/other-ca.crt"),
        "-days",
        "2",
        "-subj",
        "/CN=Another CA of the distribution",
      ],
      { stdio: "pipe" },
    );
    otherCa = readFileSync(under("usr/share/ca-certificates/other/other-ca.crt"), "utf8");
    mkdirSync(under("etc/ssl/certs"), { recursive: true });
    writeFileSync(under("etc/ca-certificates.conf"), "other/other-ca.crt\n");
    // …and a hook, as Java's keystore has one: it must be this store's hook that runs, not the machine's.
    mkdirSync(under("etc/ca-certificates/update.d"), { recursive: true });
    const hook = under("etc/ca-certificates/update.d/record");
    writeFileSync(hook, `#!/bin/sh\ncat >> "${path.join(work, "hook.log")}"\n`);
    chmodSync(hook, 0o755);
  },
  { timeout: 30_000 },
);

after(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

test(
  "trust install, status, uninstall in the Debian OS store (real update-ca-certificates, a throwaway root): idempotent, openssl agrees, the machine's store untouched",
  { skip, timeout: 240_000 },
  () => {
    const installed = passerelle("install");
    assert.equal(installed.status, 0, installed.output);
    assert.equal(systemLine(installed.output), `${STORE()}: installed`, installed.output);
    const ca = readFileSync(path.join(dataDir, "tls", "passerelle-local-ca.pem"), "utf8");
    const anchor = under("usr/local/share/ca-certificates/passerelle-local-ca.crt");
    assert.equal(readFileSync(anchor, "utf8"), ca);
    assert.ok(lstatSync(under("etc/ssl/certs/passerelle-local-ca.pem")).isSymbolicLink(), "linked");
    const caBody = ca.trim();
    assert.ok(readFileSync(bundle(), "utf8").includes(caBody), "the CA is in the bundle");
    assert.ok(readFileSync(bundle(), "utf8").includes(otherCa.trim()), "the other CA stays");
    // The judge: openssl trusts the daemon's certificate through this store, both ways it offers.
    assert.ok(verifies(["-CAfile", bundle()]), "verifies against the bundle");
    assert.ok(verifies(["-no-CAfile", "-CApath", under("etc/ssl/certs")]), "and the hashed folder");

    const bundleAfterInstall = readFileSync(bundle(), "utf8");
    const again = passerelle("install");
    assert.equal(systemLine(again.output), `${STORE()}: already installed`, again.output);
    assert.equal(readFileSync(bundle(), "utf8"), bundleAfterInstall, "nothing changed");
    assert.equal(systemLine(passerelle("status").output), `${STORE()}: installed`);

    const removed = passerelle("uninstall");
    assert.equal(removed.status, 0, removed.output);
    assert.equal(systemLine(removed.output), `${STORE()}: removed`, removed.output);
    assert.equal(existsSync(anchor), false);
    assert.throws(() => lstatSync(under("etc/ssl/certs/passerelle-local-ca.pem")), /ENOENT/, "unlinked");
    assert.ok(!readFileSync(bundle(), "utf8").includes(caBody), "out of the bundle");
    assert.ok(readFileSync(bundle(), "utf8").includes(otherCa.trim()), "the other CA still there");
    assert.equal(verifies(["-CAfile", bundle()]), false, "openssl no longer trusts it");
    assert.equal(systemLine(passerelle("status").output), `${STORE()}: not installed`);
    assert.equal(systemLine(passerelle("uninstall").output), `${STORE()}: not installed`);

    // This store's hook ran (told of the CA added; the uninstall's --fresh rebuild re-adds the
    // others, as update-ca-certificates reports it); the machine's store is as it was.
    const hookLog = readFileSync(path.join(work, "hook.log"), "utf8");
    assert.match(hookLog, new RegExp(`^\\+${under("etc/ssl/certs/passerelle-local-ca.pem")}$`, "m"));
    assert.equal(hookLog.match(/other-ca\.pem$/gm)?.length, 2, "the hook ran for install and uninstall");
    assert.equal(machineStore(), machineBefore, "the machine's own store is unchanged");
  },
);
