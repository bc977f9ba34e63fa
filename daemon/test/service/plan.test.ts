/**
 * `passerelle service`: the steps each OS gets, carried out against a recording runner (the commands
 * that would run on Windows and macOS are fixed here; they are not run on this Linux machine), the
 * files they write judged by independent tools (systemd-analyze for the unit, Python's plistlib for
 * the LaunchAgent), and idempotence.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, test } from "node:test";
import {
  carryOut,
  launchAgent,
  planService,
  servicePaths,
  systemdUnit,
  windowsArg,
  windowsLogonCommand,
  type RunResult,
  type ServiceContext,
} from "../../src/service/index.ts";

const scratch = mkdtempSync(path.join(tmpdir(), "passerelle-service-"));
after(() => rmSync(scratch, { recursive: true, force: true }));

function context(overrides: Partial<ServiceContext> = {}): ServiceContext {
  return {
    os: "linux",
    home: mkdtempSync(path.join(scratch, "home-")),
    uid: 501,
    command: [process.execPath, "/opt/Pass erelle/passerelle.cjs"],
    configFile: "/etc/passerelle/config.json",
    userSystemd: true,
    machineWide: null,
    ...overrides,
  };
}

/** A runner that records each command and answers from a table (exit 0 by default). */
function recorder(answers: Record<string, Partial<RunResult>> = {}) {
  const ran: string[] = [];
  const run = (argv: string[]): RunResult => {
    const line = argv.join(" ");
    ran.push(line);
    return { status: 0, stdout: "", stderr: "", ...answers[line] };
  };
  return { ran, run };
}

test("Linux with a user manager: the unit in ~/.config/systemd/user, then daemon-reload and enable --now; again: already", () => {
  const ctx = context();
  const { ran, run } = recorder();
  const first = carryOut("install", planService("install", ctx), ctx, run);
  assert.ok(first.ok);
  const unit = servicePaths(ctx).unit;
  assert.equal(unit, path.join(ctx.home, ".config/systemd/user/passerelle.service"));
  assert.deepEqual(first.lines, [`user unit: written ${unit}`, "daemon-reload: done", "enable --now: done"]);
  assert.deepEqual(ran, [
    "systemctl --user daemon-reload",
    "systemctl --user enable --now passerelle.service",
  ]);
  const again = carryOut("install", planService("install", ctx), ctx, run);
  assert.equal(again.lines[0], `user unit: already ${unit}`);
  const removed = carryOut("uninstall", planService("uninstall", ctx), ctx, recorder().run);
  assert.deepEqual(removed.lines, [
    "disable --now: done",
    `user unit: removed ${unit}`,
    "daemon-reload: done",
    "autostart: already absent",
  ]);
  assert.equal(existsSync(unit), false);
});

test("the generated unit passes systemd-analyze --user verify (its ExecStart exists: this node)", (t) => {
  if (spawnSync("systemd-analyze", ["--version"]).status !== 0) return t.skip("no systemd-analyze");
  const script = path.join(scratch, "passerelle cli.cjs");
  writeFileSync(script, "");
  const unitText = systemdUnit(
    context({ command: [process.execPath, script], configFile: "/etc/p 100%.json" }),
  );
  assert.match(unitText, /^ExecStart=\S+ "\S*passerelle cli\.cjs" start$/m);
  assert.match(unitText, /^Environment="PASSERELLE_CONFIG=\/etc\/p 100%%\.json"$/m);
  const dir = mkdtempSync(path.join(scratch, "units-"));
  writeFileSync(path.join(dir, "passerelle.service"), unitText);
  const result = spawnSync("systemd-analyze", ["--user", "verify", path.join(dir, "passerelle.service")], {
    encoding: "utf8",
    env: { ...process.env, XDG_RUNTIME_DIR: mkdtempSync(path.join(scratch, "runtime-")) },
  });
  assert.equal(result.status, 0, result.stderr);
  assert.equal(result.stderr.trim(), "", "systemd-analyze found problems");
});

test("Linux where the package installed the unit for every user: that one is enabled, no file written", () => {
  const ctx = context({ machineWide: "/usr/lib/systemd/user/passerelle.service" });
  const { ran, run } = recorder();
  const result = carryOut("install", planService("install", ctx), ctx, run);
  assert.deepEqual(result.lines, [
    "package unit: /usr/lib/systemd/user/passerelle.service is installed for every user: using it",
    "enable --now: done",
  ]);
  assert.deepEqual(ran, ["systemctl --user enable --now passerelle.service"]);
  assert.equal(existsSync(servicePaths(ctx).unit), false);
});

test("Linux status: asks systemd; exit 1 when not enabled", () => {
  const ctx = context();
  const disabled = recorder({
    "systemctl --user is-enabled passerelle.service": { status: 1, stdout: "disabled\n" },
    "systemctl --user is-active passerelle.service": { status: 3, stdout: "inactive\n" },
  });
  const status = carryOut("status", planService("status", ctx), ctx, disabled.run);
  assert.deepEqual(status.lines, ["user unit: absent", "enabled: disabled", "running: inactive"]);
  assert.equal(status.ok, false);
});

test("a command that fails is one line with its exit code and first message, and the run fails", () => {
  const ctx = context();
  const { run } = recorder({
    "systemctl --user enable --now passerelle.service": {
      status: 1,
      stderr: "Failed to enable unit: boom\n",
    },
  });
  const result = carryOut("install", planService("install", ctx), ctx, run);
  assert.equal(result.ok, false);
  assert.equal(
    result.lines.at(-1),
    "enable --now: failed (systemctl --user enable --now passerelle.service: exit 1, Failed to enable unit: boom)",
  );
});

test("Windows: the HKCU Run value starts the no-window launcher beside passerelle.exe, quoted as Windows splits a command line; reg delete's 'not found' is already", () => {
  const ctx = context({
    os: "win32",
    command: ["C:\\Program Files\\Passerelle\\passerelle.exe"],
    configFile: null,
  });
  const { ran, run } = recorder();
  carryOut("install", planService("install", ctx), ctx, run);
  assert.deepEqual(ran, [
    'reg add HKCU\\Software\\Microsoft\\Windows\\CurrentVersion\\Run /v Passerelle /t REG_SZ /d "C:\\Program Files\\Passerelle\\passerelle-background.exe" start /f',
  ]);
  // Only the single executable has the launcher beside it; run through node, as is.
  assert.deepEqual(windowsLogonCommand(["C:\\P\\PASSERELLE.EXE"]), ["C:\\P\\passerelle-background.exe"]);
  const node = ["C:\\node\\node.exe", "C:\\src\\passerelle.cjs"];
  assert.deepEqual(windowsLogonCommand(node), node);
  assert.deepEqual(windowsLogonCommand(["C:\\bin\\other.exe"]), ["C:\\bin\\other.exe"]);
  const gone = recorder({
    "reg delete HKCU\\Software\\Microsoft\\Windows\\CurrentVersion\\Run /v Passerelle /f": { status: 1 },
  });
  assert.deepEqual(carryOut("uninstall", planService("uninstall", ctx), ctx, gone.run).lines, [
    "Run value: already",
  ]);
  assert.equal(windowsArg('a "b" c\\'), '"a \\"b\\" c\\\\"');
  const machine = context({
    os: "win32",
    machineWide: "HKLM\\Software\\Microsoft\\Windows\\CurrentVersion\\Run\\Passerelle",
  });
  const missing = recorder({
    "reg query HKCU\\Software\\Microsoft\\Windows\\CurrentVersion\\Run /v Passerelle": { status: 1 },
  });
  assert.equal(
    carryOut("status", planService("status", machine), machine, missing.run).ok,
    true,
    "HKLM starts it",
  );
  // The per-machine MSI's HKLM value starts it for everyone: install adds no second value.
  const again = recorder();
  const installed = carryOut("install", planService("install", machine), machine, again.run);
  assert.ok(installed.ok);
  assert.deepEqual(installed.lines, [
    "machine-wide: already started for everyone at logon by HKLM\\Software\\Microsoft\\Windows\\CurrentVersion\\Run\\Passerelle: no Run value added for this user",
  ]);
  assert.deepEqual(again.ran, [], "no reg add");
});

test("macOS: the LaunchAgent in ~/Library/LaunchAgents (a valid plist), bootout then bootstrap gui/<uid>", (t) => {
  const ctx = context({ os: "darwin", command: ["/Applications/Passerelle & co/passerelle"] });
  const { ran, run } = recorder({ "launchctl bootout gui/501/fr.passerelle.daemon": { status: 3 } });
  const result = carryOut("install", planService("install", ctx), ctx, run);
  const agent = path.join(ctx.home, "Library/LaunchAgents/fr.passerelle.daemon.plist");
  assert.deepEqual(result.lines, [`LaunchAgent: written ${agent}`, "bootout: already", "bootstrap: done"]);
  assert.deepEqual(ran, [
    "launchctl bootout gui/501/fr.passerelle.daemon",
    `launchctl bootstrap gui/501 ${agent}`,
  ]);
  if (spawnSync("python3", ["--version"]).status !== 0) return t.skip("no python3 to judge the plist");
  const parsed = spawnSync(
    "python3",
    ["-c", "import json,plistlib,sys; print(json.dumps(plistlib.load(open(sys.argv[1],'rb'))))", agent],
    { encoding: "utf8" },
  );
  assert.equal(parsed.status, 0, parsed.stderr);
  const plist = JSON.parse(parsed.stdout) as Record<string, unknown>;
  assert.deepEqual(plist["ProgramArguments"], ["/Applications/Passerelle & co/passerelle", "start"]);
  assert.equal(plist["Label"], "fr.passerelle.daemon");
  assert.equal(plist["RunAtLoad"], true);
  assert.deepEqual(plist["KeepAlive"], { SuccessfulExit: false });
  assert.deepEqual(plist["EnvironmentVariables"], { PASSERELLE_CONFIG: "/etc/passerelle/config.json" });
  assert.equal(readFileSync(agent, "utf8"), launchAgent(ctx));
});
