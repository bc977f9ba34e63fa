/**
 * `passerelle start` and friends as an administrator meets them: one line on success, one line
 * and a distinct exit code on failure, graceful shutdown.
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { test } from "node:test";
import { REPO_ROOT, RpcPeer, cliCommand, openSocket, startDaemon } from "../helpers/daemon.ts";
import { DAEMON_VERSION } from "../../daemon/src/version.ts";

/** A program that is not Passerelle holding a loopback port; prints the port. */
const HOLDER = `const s = require("node:net").createServer(); s.listen(0, "127.0.0.1", () => console.log(s.address().port));`;

function cli(args: string[], env: NodeJS.ProcessEnv = {}) {
  const { command, args: argv } = cliCommand(args);
  const dir = mkdtempSync(path.join(tmpdir(), "passerelle-cli-"));
  const config = path.join(dir, "empty.json");
  writeFileSync(config, "{}");
  return spawnSync(command, argv, {
    cwd: REPO_ROOT,
    encoding: "utf8",
    env: { ...process.env, PASSERELLE_CONFIG: config, ...env },
    timeout: 30_000,
  });
}

test("--version prints the daemon's version", () => {
  const result = cli(["--version"]);
  const version = (
    JSON.parse(readFileSync(path.join(REPO_ROOT, "daemon/package.json"), "utf8")) as { version: string }
  ).version;
  assert.equal(result.status, 0);
  assert.equal(result.stdout.trim(), version);
});

/** The `passerelle:` lines of a failed start (the one line an administrator reads). */
function failureLines(stderr: string): string[] {
  return stderr
    .trim()
    .split("\n")
    .filter((line) => line.startsWith("passerelle:"));
}

test("a second start on this user's running daemon's port: exit 5, one line naming it, nothing else", async () => {
  const daemon = await startDaemon({ plaintext: true });
  try {
    const result = cli(["start", "--plaintext", "--port", String(daemon.port), "--data-dir", daemon.dataDir]);
    assert.equal(result.status, 5, result.stderr);
    assert.equal(result.stdout, "");
    // Nothing before it either: the port is checked before readers or the audit trail open.
    assert.equal(result.stderr.trim().split("\n").length, 1, result.stderr);
    assert.deepEqual(failureLines(result.stderr), [
      `passerelle: Passerelle ${DAEMON_VERSION} is already running for this user on port ${daemon.port} (pid ${daemon.child.pid}); stop it first (passerelle status)`,
    ]);
  } finally {
    await daemon.stop();
  }
});

test("a port held by another program of this user: exit 3, one line with its pid and command", async () => {
  const holder = spawn(process.execPath, ["-e", HOLDER], { stdio: ["ignore", "pipe", "inherit"] });
  try {
    const port = await new Promise<number>((resolve, reject) => {
      holder.stdout.setEncoding("utf8").once("data", (line: string) => resolve(Number(line.trim())));
      holder.once("exit", (code) => reject(new Error(`holder exited with ${code}`)));
    });
    const result = cli(["start", "--plaintext", "--port", String(port)]);
    assert.equal(result.status, 3, result.stderr);
    assert.equal(result.stderr.trim().split("\n").length, 1, result.stderr);
    const lines = failureLines(result.stderr);
    assert.equal(lines.length, 1, result.stderr);
    assert.match(
      lines[0] ?? "",
      new RegExp(
        `^passerelle: port ${port} is held by another program of this user: pid ${holder.pid} \\(\\S*node -e const s = require`,
      ),
    );
  } finally {
    holder.kill();
  }
});

test("an invalid config file: exit 4 with the bad key's path", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "passerelle-cli-"));
  const config = path.join(dir, "config.json");
  writeFileSync(config, JSON.stringify({ port: 9712, limits: { maxFrameBytez: 10 } }));
  const result = cli(["start", "--config", config]);
  assert.equal(result.status, 4);
  assert.equal(
    result.stderr.trim(),
    `passerelle: invalid configuration: ${config}: unknown key limits.maxFrameBytez`,
  );
});

test("bad arguments: usage error, exit 2", () => {
  assert.equal(cli(["start", "--port", "abc", "--plaintext"]).status, 4);
  assert.equal(cli(["start", "--no-such-flag"]).status, 2);
  assert.equal(cli(["no-such-command"]).status, 2);
});

test("status: running when it runs, exit 1 when it does not", async () => {
  const daemon = await startDaemon();
  const args = ["status", "--port", String(daemon.port), "--data-dir", daemon.dataDir];
  const up = cli(args);
  assert.equal(up.status, 0, up.stderr);
  assert.match(up.stdout, /^running: passerelle \d+\.\d+\.\d+ at https:\/\/localhost:\d+/);
  await daemon.stop();
  const down = cli(args);
  assert.equal(down.status, 1);
  assert.match(down.stdout, /^not running at https:\/\/localhost:/);
});

test("SIGTERM closes every connection with 1001 and exits 0", async () => {
  const daemon = await startDaemon({ args: ["--allow-origin", "https://ehr.example.fr"] });
  const opened = await openSocket(daemon);
  assert.ok("socket" in opened);
  const rpc = new RpcPeer(opened.socket);
  await rpc.call("system.ping", {});
  const closed = new Promise<number>((resolve) => opened.socket.once("close", (code) => resolve(code)));
  const exit = daemon.stop();
  assert.equal(await closed, 1001);
  assert.equal(await exit, 0);
});

test("status finds a daemon started with --plaintext without being told (the demo, development)", async () => {
  const daemon = await startDaemon({ plaintext: true, args: ["--simulate"] });
  try {
    const result = cli(["status", "--port", String(daemon.port), "--data-dir", daemon.dataDir]);
    assert.equal(result.status, 0, result.stdout + result.stderr);
    assert.match(
      result.stdout,
      new RegExp(`^running: passerelle \\S+ at http://localhost:${daemon.port} — SIMULATION`),
    );
  } finally {
    await daemon.stop();
  }
});
