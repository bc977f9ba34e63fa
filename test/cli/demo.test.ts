/**
 * `bash scripts/demo.sh` as a newcomer meets it: the pages to open come first on screen, then only
 * warnings; it keeps nothing (its own temporary data folder, removed on exit, nothing under HOME);
 * every audit record it writes says `"simulation": true`; a taken example port gives one line and
 * the demo stops.
 */
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, test } from "node:test";
import WebSocket from "ws";
import { REPO_ROOT, RpcPeer } from "../helpers/daemon.ts";

const home = mkdtempSync(path.join(tmpdir(), "passerelle-demo-home-"));
after(() => rmSync(home, { recursive: true, force: true }));

function listen(port = 0): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve(server));
  });
}

function portOf(server: Server): number {
  const address = server.address();
  return typeof address === "object" && address ? address.port : 0;
}

async function freePort(): Promise<number> {
  const server = await listen();
  const port = portOf(server);
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function demo(examplePort: number): { child: ChildProcess; output: () => string } {
  const child = spawn("bash", ["scripts/demo.sh"], {
    cwd: REPO_ROOT,
    env: {
      PATH: process.env["PATH"],
      HOME: home,
      TMPDIR: process.env["TMPDIR"] ?? tmpdir(),
      PASSERELLE_PORT: "0",
      PASSERELLE_EXAMPLE_PORT: String(examplePort),
    },
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")));
  child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")));
  return { child, output: () => output };
}

async function waitFor(output: () => string, text: RegExp, ms = 120_000): Promise<RegExpExecArray> {
  const end = Date.now() + ms;
  for (;;) {
    const match = text.exec(output());
    if (match) return match;
    if (Date.now() > end) throw new Error(`no ${text} in time:\n${output()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once("exit", (code) => resolve(code)));
}

test("the demo: the pages first, its own throwaway data folder, audit records marked simulation", async () => {
  const examplePort = await freePort();
  const { child, output } = demo(examplePort);
  try {
    const [, daemonPage] = await waitFor(output, /the daemon's page: +(http:\/\/localhost:\d+)\//);
    const [, dataDir] = await waitFor(output, /Data folder, removed on exit: (\S+)/);
    assert.ok(daemonPage && dataDir);
    // Nothing before the pages to open (no log line, no build chatter).
    assert.match(output(), /^\s*SIMULATION — virtual cards/);
    assert.doesNotMatch(output(), /"level":"info"/, "quiet logs: warnings and errors only");
    assert.match(output(), /ws:\/\/ and http:\/\/: the demo runs without TLS/);

    // One audited call from the example page's origin (in simulation it may send the PIN itself).
    const socket = new WebSocket(`${daemonPage.replace("http", "ws")}/v1`, "passerelle.v1", {
      origin: `http://localhost:${examplePort}`,
    });
    await new Promise((resolve, reject) => socket.once("open", resolve).once("error", reject));
    const rpc = new RpcPeer(socket);
    const answer = await rpc.call("cps.verifyPin", { pin: "1234" });
    assert.deepEqual(answer["result"], { verified: true, triesRemaining: 3 });
    rpc.close();

    const records = readFileSync(path.join(dataDir, "audit", "audit.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as { kind: string; simulation?: boolean });
    assert.ok(records.some((record) => record.kind === "pin"));
    for (const record of records) assert.equal(record.simulation, true, JSON.stringify(record));
    assert.equal(existsSync(path.join(home, ".local/share/passerelle")), false, "nothing in HOME");

    process.kill(-(child.pid as number), "SIGINT");
    await exited(child);
    assert.equal(existsSync(dataDir), false, "the data folder goes with the demo");
  } finally {
    try {
      process.kill(-(child.pid as number), "SIGTERM");
    } catch {
      // already gone
    }
  }
});

test("a taken example port: one line naming it, and the demo stops", async () => {
  const taken = await listen();
  try {
    const { child, output } = demo(portOf(taken));
    const code = await Promise.race([
      exited(child),
      new Promise<"running">((resolve) => setTimeout(() => resolve("running"), 120_000)),
    ]);
    if (code === "running") process.kill(-(child.pid as number), "SIGTERM");
    assert.equal(code, 1, output());
    const lines = output().trim().split("\n");
    assert.equal(lines.length, 1, output());
    assert.match(lines[0] ?? "", new RegExp(`port ${portOf(taken)}.*PASSERELLE_EXAMPLE_PORT`));
  } finally {
    taken.close();
  }
});
