/**
 * Two users, one workstation: each gets a daemon on its own port of the range, and the SDK finds its
 * own user's (another user's daemon refuses the upgrade, 403). A second start by the same user is
 * refused in one line naming the running one (exit 5); a fixed port held by the other user's daemon
 * is named as such (exit 3). The other user is created by the test (needs root on Linux, as CI).
 */
import assert from "node:assert/strict";
import { execFileSync, spawn, spawnSync, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, chownSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import WebSocket from "ws";
import { PasserelleClient, type WebSocketLike } from "@passerelle/protocol";
import { cliCommand, REPO_ROOT, startDaemon, type DaemonProcess } from "../helpers/daemon.ts";
import { DAEMON_VERSION } from "../../daemon/src/version.ts";

const ORIGIN = "https://ehr.example.fr";
const canCreateUsers = process.platform === "linux" && process.getuid?.() === 0;
const USER = `psp${randomBytes(4).toString("hex")}`;
const START_TIMEOUT_MS = 60_000;

let uid = -1;
let otherDir = "";
let other: ChildProcess | null = null;
let otherPort = 0;
let mine: DaemonProcess | null = null;
let first = 0;

function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once("error", () => resolve(false));
    server.listen({ port, host: "127.0.0.1", exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** Three consecutive free ports (a free port from the system, and the next two also free). */
async function freeRange(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = await new Promise<number>((resolve) => {
      const server = net.createServer().listen(0, "127.0.0.1", () => {
        const { port } = server.address() as net.AddressInfo;
        server.close(() => resolve(port));
      });
    });
    if (port > 65000) continue;
    if ((await canBind(port)) && (await canBind(port + 1)) && (await canBind(port + 2))) return port;
  }
  throw new Error("no three consecutive free ports");
}

const range = () => `${first}-${first + 2}`;

/** Runs `passerelle …` as this user with an empty config; returns status and output. */
function cli(args: string[]) {
  const { command, args: argv } = cliCommand(args);
  const dir = mkdtempSync(path.join(tmpdir(), "passerelle-ppt-"));
  writeFileSync(path.join(dir, "config.json"), "{}");
  try {
    return spawnSync(command, argv, {
      cwd: REPO_ROOT,
      encoding: "utf8",
      env: { ...process.env, PASSERELLE_CONFIG: path.join(dir, "config.json") },
      timeout: 60_000,
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Starts the other user's daemon on the range; resolves with the port it took. */
function startAsOtherUser(): Promise<number> {
  const gid = Number(execFileSync("id", ["-g", USER], { encoding: "utf8" }).trim());
  otherDir = mkdtempSync(path.join(tmpdir(), "passerelle-other-"));
  chmodSync(otherDir, 0o755);
  writeFileSync(path.join(otherDir, "config.json"), JSON.stringify({ openPinPage: false }));
  chownSync(otherDir, uid, gid);
  chownSync(path.join(otherDir, "config.json"), uid, gid);
  const { command, args } = cliCommand([
    "start",
    "--plaintext",
    "--port",
    range(),
    "--data-dir",
    path.join(otherDir, "data"),
    "--allow-origin",
    ORIGIN,
  ]);
  const child = spawn(command, args, {
    cwd: REPO_ROOT,
    uid,
    gid,
    env: {
      PATH: process.env["PATH"] ?? "/usr/bin:/bin",
      HOME: otherDir,
      PASSERELLE_CONFIG: path.join(otherDir, "config.json"),
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  other = child;
  let stderr = "";
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`the other user's daemon did not start in ${START_TIMEOUT_MS / 1000} s:\n${stderr}`));
    }, START_TIMEOUT_MS);
    let stdout = "";
    child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
      stdout += chunk;
      const match = /^listening ws:\/\/localhost:(\d+)\/v1$/m.exec(stdout);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    });
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`the other user's daemon exited with ${code}:\n${stderr}`));
    });
  });
}

describe(
  "two users' daemons on one workstation",
  { skip: canCreateUsers ? false : "needs root on Linux to create a user" },
  () => {
    before(async () => {
      execFileSync("useradd", ["--system", "--no-create-home", "--shell", "/usr/sbin/nologin", USER]);
      uid = Number(execFileSync("id", ["-u", USER], { encoding: "utf8" }).trim());
      first = await freeRange();
      otherPort = await startAsOtherUser();
      mine = await startDaemon({ plaintext: true, args: ["--allow-origin", ORIGIN, "--port", range()] });
    });
    after(async () => {
      await mine?.stop();
      if (other && other.exitCode === null) {
        const exited = new Promise((resolve) => other?.once("exit", resolve));
        other.kill("SIGTERM");
        await exited;
      }
      if (otherDir) rmSync(otherDir, { recursive: true, force: true });
      try {
        execFileSync("userdel", [USER]);
      } catch {
        // already gone
      }
    });

    test("the first user took the range's first port; this user's daemon the next free one", () => {
      assert.equal(otherPort, first);
      assert.equal(mine?.port, first + 1);
    });

    test("the SDK, given the range, finds this user's daemon and not the other user's", async () => {
      const client = new PasserelleClient({
        url: "ws://localhost/v1",
        ports: [first, first + 1, first + 2],
        createWebSocket: (url, protocol) =>
          new WebSocket(url, protocol, { origin: ORIGIN }) as unknown as WebSocketLike,
        reconnect: false,
      });
      try {
        await client.connect();
        assert.equal(client.daemonUrl, `ws://localhost:${first + 1}/v1`);
        const hello = await client.call("system.hello", { client: { name: "discovery-test", version: "1" } });
        assert.equal(hello.access, "granted");
      } finally {
        client.close();
      }
    });

    test("passerelle status, given the range, finds this user's daemon", () => {
      const result = cli(["status", "--plaintext", "--port", range(), "--data-dir", mine!.dataDir]);
      assert.equal(result.status, 0, result.stdout + result.stderr);
      assert.match(
        result.stdout,
        new RegExp(`^running: passerelle ${DAEMON_VERSION} at http://localhost:${first + 1}`),
      );
    });

    test("a second start by this user on the range: exit 5, one line naming the running daemon", () => {
      const dataDir = mkdtempSync(path.join(tmpdir(), "passerelle-second-"));
      try {
        const result = cli(["start", "--plaintext", "--port", range(), "--data-dir", dataDir]);
        assert.equal(result.status, 5, result.stderr);
        assert.equal(result.stdout, "");
        assert.deepEqual(result.stderr.trim().split("\n"), [
          `passerelle: Passerelle ${DAEMON_VERSION} is already running for this user on port ${first + 1} (pid ${mine!.child.pid}); stop it first (passerelle status)`,
        ]);
      } finally {
        rmSync(dataDir, { recursive: true, force: true });
      }
    });

    test("a fixed port held by the other user's daemon: exit 3, one line naming that user", () => {
      const dataDir = mkdtempSync(path.join(tmpdir(), "passerelle-fixed-"));
      try {
        const result = cli(["start", "--plaintext", "--port", String(first), "--data-dir", dataDir]);
        assert.equal(result.status, 3, result.stderr);
        // Run as root here, so the other user's process is visible: its pid is named too.
        assert.deepEqual(result.stderr.trim().split("\n"), [
          `passerelle: port ${first} is held by another user's program (user ${USER}, uid ${uid}, pid ${other!.pid})`,
        ]);
      } finally {
        rmSync(dataDir, { recursive: true, force: true });
      }
    });
  },
);
