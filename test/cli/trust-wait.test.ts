/**
 * `passerelle trust install --wait SECONDS`, what the macOS trust LaunchAgent runs beside the daemon
 * at login: it never makes a CA itself (the daemon does, at its first start), it trusts the one the
 * listening daemon made, byte for byte, and without a daemon it says so and exits 0. The user's NSS
 * database (real certutil) stands in for the login keychain, which needs a Mac.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, test } from "node:test";
import { cliCommand, REPO_ROOT } from "../helpers/daemon.ts";
import { ensureLocalTls } from "../../daemon/src/tls/local-ca.ts";

const scratch = mkdtempSync(path.join(tmpdir(), "passerelle-trust-wait-"));
after(() => rmSync(scratch, { recursive: true, force: true }));

function trust(home: string, dataDir: string, ...args: string[]) {
  const { command, args: argv } = cliCommand(["trust", ...args, "--data-dir", dataDir, "--no-system"]);
  const result = spawnSync(command, argv, {
    cwd: REPO_ROOT,
    env: { PATH: process.env["PATH"], HOME: home, LANG: "C.UTF-8" },
    encoding: "utf8",
    timeout: 60_000,
  });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

test("without a daemon: waits, makes no CA, says why, exit 0", () => {
  const home = mkdtempSync(path.join(scratch, "home-"));
  const dataDir = path.join(home, "data");
  const started = Date.now();
  const result = trust(home, dataDir, "install", "--wait", "1");
  assert.equal(result.status, 0, result.output);
  assert.ok(Date.now() - started >= 1000, "it waited");
  assert.match(
    result.output,
    /no local CA yet in .*passerelle-local-ca\.pem \(no daemon listening after 1 s\)/,
  );
  assert.ok(!existsSync(path.join(dataDir, "tls")), "no CA made");
});

test("with this user's daemon listening: trusts the CA it made, unchanged", async () => {
  const home = mkdtempSync(path.join(scratch, "home-"));
  const dataDir = path.join(home, "data");
  const made = await ensureLocalTls(dataDir);
  // The daemon's instance record, with a live pid (this test's own).
  writeFileSync(
    path.join(dataDir, "instance.json"),
    JSON.stringify({ pid: process.pid, port: 9712, url: "wss://localhost:9712/v1", version: "0.1.0" }),
  );
  const result = trust(home, dataDir, "install", "--wait", "30");
  assert.equal(result.status, 0, result.output);
  assert.doesNotMatch(result.output, /no local CA/);
  assert.match(result.output, /^NSS sql:.*\.pki\/nssdb: (installed|skipped)/m);
  assert.equal(readFileSync(made.caFile, "utf8"), made.caPem, "the daemon's CA, not a new one");
  for (const file of ["localhost.pem", "localhost-key.pem"])
    assert.equal(
      readFileSync(path.join(dataDir, "tls", file), "utf8"),
      file === "localhost.pem" ? made.certPem : made.keyPem,
    );
});

test("--wait is for install only, and a number of seconds", () => {
  const home = mkdtempSync(path.join(scratch, "home-"));
  for (const args of [
    ["uninstall", "--wait", "5"],
    ["install", "--wait", "soon"],
    ["install", "--wait", "-1"],
  ]) {
    const result = trust(home, path.join(home, "data"), ...args);
    assert.equal(result.status, 2, `${args.join(" ")}: ${result.output}`);
    assert.match(result.output, /--wait is a number of seconds \(0–3600\), with install only/);
  }
});
