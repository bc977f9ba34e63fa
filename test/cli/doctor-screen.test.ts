/**
 * `passerelle doctor`'s one screen against real parts (issue 13, item 6): PC/SC reachable or not
 * (the real pcscd, stopped for one check), each reader with its card (a virtual CPS through vpcd,
 * recognised by its ATR), the port (this user's running daemon, a port held by another program),
 * the local CA per trust store (a real NSS database filled by `passerelle trust install`), the INSi
 * endpoint's TLS handshake with the configured organisation certificate (the INSi simulator,
 * mutual TLS; a certificate it does not trust, a CA bundle that does not match) with no INSi call,
 * and the clock skew against that server (the simulator's clock set 5 minutes ahead). Exit 0/1.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { cliCommand, REPO_ROOT, startDaemon } from "../helpers/daemon.ts";
import { acquirePcscd, type PcscdLab } from "../helpers/pcscd.ts";
import { VpcdBridge } from "../../daemon/src/simulator/vpcd-bridge.ts";
import { Cps3Emulator } from "../../daemon/src/simulator/cards/cps3/emulator.ts";
import { startInsiSimulator, type InsiSimulator } from "../../daemon/src/simulator/insi/server.ts";
import { createInsiTestPki, getInsiTestPki } from "../../daemon/src/simulator/insi/test-pki.ts";

const DOCTOR_TIMEOUT_MS = 60_000;
const scratch = mkdtempSync(path.join(tmpdir(), "passerelle-doctor-screen-"));
after(() => rmSync(scratch, { recursive: true, force: true }));

interface Run {
  status: number | null;
  stdout: string;
}

/** `passerelle doctor` (async: the INSi simulator answers from this process meanwhile). */
function doctor(
  config: unknown,
  options: { dataDir?: string; home?: string; args?: string[] } = {},
): Promise<Run> {
  const dir = mkdtempSync(path.join(scratch, "run-"));
  const file = path.join(dir, "config.json");
  writeFileSync(file, JSON.stringify(config));
  const home = options.home ?? path.join(dir, "home");
  mkdirSync(home, { recursive: true });
  const { command, args } = cliCommand([
    "doctor",
    "--config",
    file,
    "--data-dir",
    options.dataDir ?? path.join(dir, "data"),
    ...(options.args ?? []),
  ]);
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: REPO_ROOT,
      env: portEnv(config, home),
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
    child.stderr.resume();
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`doctor did not end in ${DOCTOR_TIMEOUT_MS / 1000} s:\n${stdout}`));
    }, DOCTOR_TIMEOUT_MS);
    child.on("exit", (status) => {
      clearTimeout(timer);
      resolve({ status, stdout });
    });
  });
}

/** The environment: HOME, and any free port (PASSERELLE_PORT=0) unless the config names one. */
function portEnv(config: unknown, home: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, HOME: home };
  delete env["PASSERELLE_PORT"];
  if (!(typeof config === "object" && config !== null && "port" in config)) env["PASSERELLE_PORT"] = "0";
  return env;
}

function listen(): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve(server));
  });
}

test("PC/SC: each reader and its card by ATR, on one screen; pcscd stopped is a FAIL (exit 1)", async () => {
  const lab: PcscdLab = await acquirePcscd();
  const bridge = new VpcdBridge({ emulator: new Cps3Emulator(), slot: 0, reconnect: false });
  try {
    await bridge.start();
    let run: Run = { status: null, stdout: "" };
    // The card reaches pcscd shortly after the bridge connects: ask again until it shows (bounded).
    for (const deadline = Date.now() + 20_000; Date.now() < deadline;) {
      run = await doctor({});
      if (/reader: \S.* 00 00: .*\(cps\)$/m.test(run.stdout)) break;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    assert.match(run.stdout, /^ok {3}pcsc {4}PC\/SC service reachable, \d+ reader\(s\)$/m);
    assert.match(run.stdout, /^ok {3}pcsc {4}reader: .* 00 00: .*CPS.* \(cps\)$/im, run.stdout);
    assert.match(run.stdout, /^ok {3}pcsc {4}reader: .* 00 01: no card$/m, run.stdout);
    await bridge.close();

    await lab.stop();
    const down = await doctor({});
    assert.equal(down.status, 1, down.stdout);
    assert.match(down.stdout, /^FAIL pcsc {4}the PC\/SC service is not reachable .*is pcscd running\?$/m);
  } finally {
    await bridge.close();
    await lab.release();
  }
});

test("port: this user's running daemon is named; a port held by another program is a FAIL", async () => {
  const daemon = await startDaemon({ args: ["--simulate"], plaintext: true });
  const holder = await listen();
  try {
    const running = await doctor({ port: daemon.port }, { dataDir: daemon.dataDir, args: ["--simulate"] });
    assert.match(
      running.stdout,
      new RegExp(
        `^ok {3}port {4}Passerelle \\S+ runs for this user on port ${daemon.port} \\(pid \\d+\\)$`,
        "m",
      ),
    );
    const heldPort = (holder.address() as net.AddressInfo).port;
    const held = await doctor({ port: heldPort }, { args: ["--simulate"] });
    assert.equal(held.status, 1, held.stdout);
    assert.match(
      held.stdout,
      new RegExp(
        `^FAIL port {4}port ${heldPort} is held by another program of this user: pid ${process.pid}\\b.*\\(exit 3\\)$`,
        "m",
      ),
    );
  } finally {
    holder.close();
    await daemon.stop();
  }
});

test("trust: per store; no store trusting an existing CA is a FAIL, the user's NSS database after trust install is ok", async () => {
  const home = mkdtempSync(path.join(scratch, "home-"));
  const dataDir = path.join(home, "data");
  // A local CA, as the daemon's first start makes it, in no store yet (doctor runs as a user here:
  // --no-system keeps the machine's own store out of it).
  const { command, args } = cliCommand(["trust", "install", "--no-system", "--data-dir", dataDir]);
  const before_ = await doctor(
    {},
    { dataDir, home: mkdtempSync(path.join(scratch, "empty-home-")), args: ["--simulate"] },
  );
  assert.doesNotMatch(before_.stdout, /^\S+ +trust /m, "no CA yet: nothing to say per store");
  const installed = await new Promise<number | null>((resolve) => {
    const child = spawn(command, args, {
      cwd: REPO_ROOT,
      env: { ...process.env, HOME: home },
      stdio: "ignore",
    });
    child.on("exit", resolve);
  });
  assert.equal(installed, 0);
  const trusted = await doctor({}, { dataDir, home, args: ["--simulate"] });
  assert.match(trusted.stdout, /^ok {3}trust {3}.*\.pki\/nssdb.*: trusts the local CA$/m, trusted.stdout);

  const otherHome = mkdtempSync(path.join(scratch, "other-home-"));
  mkdirSync(path.join(otherHome, ".pki/nssdb"), { recursive: true });
  const untrusted = await doctor({}, { dataDir, home: otherHome, args: ["--simulate"] });
  assert.match(
    untrusted.stdout,
    /^warn trust {3}.*nssdb.*: not installed: passerelle trust install$/m,
    untrusted.stdout,
  );
  if (!/^ok {3}trust /m.test(untrusted.stdout)) {
    assert.equal(untrusted.status, 1, untrusted.stdout);
    assert.match(untrusted.stdout, /^FAIL trust {3}no store trusts the local CA/m);
  }
});

let sim: InsiSimulator;
let clockOffsetMs = 0;
before(async () => {
  sim = await startInsiSimulator({ mode: "organisation", now: () => new Date(Date.now() + clockOffsetMs) });
});
after(() => sim?.close());

function organisationConfig(options: { pkcs12?: Buffer; passphrase?: string; caPem?: string } = {}) {
  const pki = getInsiTestPki();
  const auto = pki.organisation("INSI-AUTO");
  const dir = mkdtempSync(path.join(scratch, "insi-"));
  writeFileSync(path.join(dir, "auto.p12"), options.pkcs12 ?? auto.pkcs12);
  writeFileSync(path.join(dir, "ca.pem"), options.caPem ?? sim.caPem);
  return {
    insi: {
      mode: "organisation",
      endpoints: { organisation: sim.url },
      organisation: {
        pkcs12Path: path.join(dir, "auto.p12"),
        passphrase: options.passphrase ?? auto.passphrase,
      },
      caBundlePath: path.join(dir, "ca.pem"),
      lps: { default: { idam: "TEST-IDAM", softwareName: "DoctorTest", softwareVersion: "1.0" } },
    },
  };
}

/** The INSi checks run doctor without --simulate, so it asks pcscd too: hold the lab meanwhile. */
async function withLab(run: () => Promise<void>): Promise<void> {
  const lab = await acquirePcscd();
  try {
    await run();
  } finally {
    await lab.release();
  }
}

test("INSi: a TLS handshake with the organisation certificate, no INSi call; the clock in step", () =>
  withLab(async () => {
    clockOffsetMs = 0;
    const before_ = sim.requests.length;
    const run = await doctor(organisationConfig(), { args: [] });
    const host = new URL(sim.url).host.replace(/[.]/g, "\\.");
    assert.match(
      run.stdout,
      new RegExp(
        `^ok {3}insi {4}TLS with ${host}: TLSv1\\.[23], this workstation's certificate accepted; server .*\\(no INSi call\\)$`,
        "m",
      ),
      run.stdout,
    );
    // In step, give or take the Date header's second and a loaded machine's latency.
    assert.match(
      run.stdout,
      new RegExp(
        `^ok {3}clock {3}(in step with ${host} \\(±1 s\\)|this workstation's clock is [1-5] s ahead of ${host})$`,
        "m",
      ),
      run.stdout,
    );
    assert.equal(sim.requests.length, before_, "no INSi request reached the simulator");
  }));

test("INSi: a certificate the server does not trust, and a CA bundle that does not match, are FAIL lines", async () => {
  clockOffsetMs = 0;
  const strangerCa = createInsiTestPki().caPem;
  const stranger = createInsiTestPki().organisation("INSI-AUTO");
  let refusedClient: Run = { status: null, stdout: "" };
  let refusedServer: Run = { status: null, stdout: "" };
  await withLab(async () => {
    [refusedClient, refusedServer] = await Promise.all([
      doctor(organisationConfig({ pkcs12: stranger.pkcs12, passphrase: stranger.passphrase })),
      doctor(organisationConfig({ caPem: strangerCa })),
    ]);
  });
  assert.equal(refusedClient.status, 1, refusedClient.stdout);
  assert.match(refusedClient.stdout, /^FAIL insi {4}TLS with \S+: /m, refusedClient.stdout);
  assert.doesNotMatch(refusedClient.stdout, /^ok {3}insi {4}TLS/m);
  assert.equal(refusedServer.status, 1, refusedServer.stdout);
  assert.match(
    refusedServer.stdout,
    /^FAIL insi {4}TLS with \S+: the server's certificate is refused \(\w+\): check insi\.caBundlePath$/m,
    refusedServer.stdout,
  );
});

test("clock: 5 minutes behind INSi's server is a FAIL naming the 60 s the assertions allow", async () => {
  clockOffsetMs = 5 * 60_000;
  try {
    let run: Run = { status: null, stdout: "" };
    await withLab(async () => {
      run = await doctor(organisationConfig());
    });
    assert.equal(run.status, 1, run.stdout);
    assert.match(
      run.stdout,
      /^FAIL clock {3}this workstation's clock is (299|300|301) s behind \S+: more than the 60 s the INSi assertions allow; set the clock \(NTP\)$/m,
      run.stdout,
    );
  } finally {
    clockOffsetMs = 0;
  }
});
