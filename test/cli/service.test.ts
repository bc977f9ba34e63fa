/**
 * `passerelle service` as a user runs it on this Linux machine, in a throwaway home: the real
 * `systemctl --user` finds no user manager (the test hides any: an empty XDG_RUNTIME_DIR, no session
 * bus), so the login start is the desktop's autostart entry. Install twice (the second changes
 * nothing), status, uninstall, status again. The systemd path itself is run against a recording
 * runner in daemon/test/service/plan.test.ts (a user manager cannot be started here). The commands
 * are those of docs/admin-guide.md, "Start at login".
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, test } from "node:test";
import { cliCommand, REPO_ROOT } from "../helpers/daemon.ts";

const home = mkdtempSync(path.join(tmpdir(), "passerelle-service-home-"));
const runtime = mkdtempSync(path.join(tmpdir(), "passerelle-service-run-"));
after(() => {
  rmSync(home, { recursive: true, force: true });
  rmSync(runtime, { recursive: true, force: true });
});

function service(...args: string[]) {
  const { command, args: argv } = cliCommand(["service", ...args]);
  const env: NodeJS.ProcessEnv = { ...process.env, HOME: home, XDG_RUNTIME_DIR: runtime };
  delete env["DBUS_SESSION_BUS_ADDRESS"];
  delete env["XDG_CONFIG_HOME"];
  return spawnSync(command, argv, { cwd: REPO_ROOT, encoding: "utf8", env, timeout: 60_000 });
}

const autostart = path.join(home, ".config/autostart/passerelle.desktop");

test("no user manager: install writes the autostart entry, once; status says so; uninstall removes it", (t) => {
  if (process.platform !== "linux") return t.skip("Linux only");
  const first = service("install", "--config", "/etc/passerelle/config.json");
  assert.equal(first.status, 0, first.stdout + first.stderr);
  assert.deepEqual(first.stdout.trim().split("\n"), [
    "systemd: no user manager in this session: the desktop's autostart starts Passerelle at login instead (run `passerelle start` now)",
    `autostart: written ${autostart}`,
  ]);
  const entry = readFileSync(autostart, "utf8");
  assert.match(
    entry,
    /^Exec=env PASSERELLE_CONFIG=\/etc\/passerelle\/config\.json \S+node .*main\.ts start$/m,
  );
  assert.match(entry, /^Type=Application$/m);

  const again = service("install", "--config", "/etc/passerelle/config.json");
  assert.equal(again.status, 0);
  assert.equal(again.stdout.trim().split("\n")[1], `autostart: already ${autostart}`);

  const status = service("status");
  assert.equal(status.status, 0, status.stdout);
  assert.match(status.stdout, new RegExp(`^autostart: ${autostart}$`, "m"));

  const removed = service("uninstall");
  assert.equal(removed.status, 0, removed.stdout);
  assert.match(removed.stdout, new RegExp(`^autostart: removed ${autostart}$`, "m"));
  assert.equal(existsSync(autostart), false);

  const after = service("status");
  assert.equal(after.status, 1, "not set to start at login");
  assert.match(after.stdout, /^autostart: absent$/m);
});

test("--dry-run --os win32 prints the Windows steps and changes nothing", () => {
  const result = service("install", "--dry-run", "--os", "win32");
  assert.equal(result.status, 0, result.stderr);
  assert.match(
    result.stdout,
    /^Run value: would run reg add HKCU\\Software\\Microsoft\\Windows\\CurrentVersion\\Run \/v Passerelle \/t REG_SZ \/d .* start \/f$/m,
  );
  assert.equal(service("install", "--os", "win32").status, 2, "--os only with --dry-run");
});
