/**
 * Per-user isolation (Linux): a client run as another local user — a user this test creates — is
 * refused by the daemon before the upgrade (403), and for the daemon's page, the PIN page and
 * /health too; the same client run as the daemon's own user is served. The owner of the peer
 * socket is read from /proc/net/tcp{,6}; nothing the client sends can change it.
 * Needs root (CI runs as root) to create the user; skipped otherwise.
 */
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { startDaemon, type DaemonProcess } from "../helpers/daemon.ts";

const ORIGIN = "https://ehr.example.fr";
const canCreateUsers = process.platform === "linux" && process.getuid?.() === 0;
const USER = `pst${randomBytes(4).toString("hex")}`;
let uid = -1;
let gid = -1;
let daemon: DaemonProcess;

/** A raw client (node -e, no files to read): writes one request, prints the status code. */
const CLIENT = `
const [host, port, request] = process.argv.slice(1);
const socket = require("node:net").connect(Number(port), host, () => socket.write(request));
let text = "";
socket.setEncoding("latin1");
socket.on("data", (chunk) => {
  text += chunk;
  const match = /^HTTP\\/1\\.1 (\\d{3})/.exec(text);
  if (match) { console.log(match[1]); socket.destroy(); }
});
socket.on("error", (error) => { console.log("error " + error.code); });
socket.on("close", () => { if (!/^HTTP/.test(text)) console.log("closed"); });
`;

function request(path: string, port: number, upgrade: boolean): string {
  const lines = [`GET ${path} HTTP/1.1`, `Host: localhost:${port}`];
  if (upgrade) {
    lines.push(
      `Origin: ${ORIGIN}`,
      "Upgrade: websocket",
      "Connection: Upgrade",
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
      "Sec-WebSocket-Version: 13",
      "Sec-WebSocket-Protocol: passerelle.v1",
    );
  }
  return `${lines.join("\r\n")}\r\n\r\n`;
}

function runClient(as: "other" | "self", host: string, path: string, upgrade: boolean): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ["-e", CLIENT, host, String(daemon.port), request(path, daemon.port, upgrade)],
      {
        cwd: "/",
        env: { PATH: process.env["PATH"] ?? "/usr/bin:/bin" },
        ...(as === "other" ? { uid, gid } : {}),
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let out = "";
    let err = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (out += chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (err += chunk));
    child.on("error", reject);
    child.on("exit", () =>
      out.trim() ? resolve(out.trim()) : reject(new Error(`client printed nothing: ${err}`)),
    );
  });
}

describe(
  "another local user",
  { skip: canCreateUsers ? false : "needs root on Linux to create a user" },
  () => {
    before(async () => {
      execFileSync("useradd", ["--system", "--no-create-home", "--shell", "/usr/sbin/nologin", USER]);
      uid = Number(execFileSync("id", ["-u", USER], { encoding: "utf8" }).trim());
      gid = Number(execFileSync("id", ["-g", USER], { encoding: "utf8" }).trim());
      daemon = await startDaemon({ plaintext: true, args: ["--allow-origin", ORIGIN] });
    });
    after(async () => {
      await daemon?.stop();
      try {
        execFileSync("userdel", [USER]);
      } catch {
        // already gone
      }
    });

    for (const host of ["127.0.0.1", "::1"]) {
      test(`over ${host}: the upgrade is refused with 403 for the other user, served for the daemon's own`, async () => {
        assert.equal(await runClient("self", host, "/v1", true), "101");
        assert.equal(await runClient("other", host, "/v1", true), "403");
      });
    }

    test("the daemon's page, the PIN page and /health are refused to the other user", async () => {
      for (const path of ["/", "/pin.html", "/health"]) {
        assert.equal(await runClient("self", "127.0.0.1", path, false), "200", path);
        assert.equal(await runClient("other", "127.0.0.1", path, false), "403", path);
      }
    });

    test("the refusal is logged, naming no more than the origin", async () => {
      await new Promise((resolve) => setTimeout(resolve, 200));
      assert.match(daemon.stderr(), /upgrade refused.*another local user/);
    });
  },
);
