/**
 * `passerelle trust`, `access` and `audit` find the data folder as the daemon does
 * (daemon/src/config/config.ts resolveDataDir): --data-dir > the configuration file's `dataDir`
 * (--config or PASSERELLE_CONFIG) > the per-user default. A policy that moves the data folder must
 * move these commands too (the installers' trust step, `access revoke`), and an invalid
 * configuration is one line and exit 4, as `passerelle status` says it.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, test } from "node:test";
import { cliCommand, REPO_ROOT } from "../helpers/daemon.ts";
import { GrantStore } from "../../daemon/src/access/index.ts";
import { AUDIT_DIR_NAME, AuditTrail } from "../../daemon/src/audit/audit-trail.ts";
import { ensureLocalTls } from "../../daemon/src/tls/local-ca.ts";

const scratch = mkdtempSync(path.join(tmpdir(), "passerelle-data-dir-"));
after(() => rmSync(scratch, { recursive: true, force: true }));

/** A throwaway home (so the per-user default folders are its own) and a config file in it. */
function workstation(config: string | object) {
  const home = mkdtempSync(path.join(scratch, "home-"));
  const configFile = path.join(home, "policy.json");
  writeFileSync(configFile, typeof config === "string" ? config : JSON.stringify(config));
  return { home, configFile };
}

function run(home: string, args: string[], env: Record<string, string> = {}) {
  const { command, args: argv } = cliCommand(args);
  const result = spawnSync(command, argv, {
    cwd: REPO_ROOT,
    env: { PATH: process.env["PATH"], HOME: home, LANG: "C.UTF-8", ...env },
    encoding: "utf8",
    timeout: 60_000,
  });
  assert.equal(result.error, undefined, `${args.join(" ")}: ${String(result.error)}`);
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

async function auditRecord(dataDir: string, origin: string): Promise<void> {
  const audit = await AuditTrail.open({ dir: path.join(dataDir, AUDIT_DIR_NAME) });
  try {
    await audit.record({ kind: "access", origin, method: "access.revoke", durationMs: 0 });
  } finally {
    await audit.close();
  }
}

test("trust status reads the configuration's dataDir; --data-dir wins", async () => {
  const policyDir = path.join(scratch, "policy-data-trust");
  const { home, configFile } = workstation({ dataDir: policyDir });
  await ensureLocalTls(policyDir);

  const fromConfig = run(home, ["trust", "status", "--no-system", "--config", configFile]);
  assert.equal(fromConfig.status, 0, fromConfig.stderr);
  // The CA is found (one line per store), not "no local CA yet" in the per-user default folder.
  assert.doesNotMatch(fromConfig.stdout, /no local CA yet/, fromConfig.stdout);
  assert.match(fromConfig.stdout, /^(NSS sql:.*|no trust store found)$/m);

  const other = path.join(home, "other-data");
  const fromFlag = run(home, ["trust", "status", "--no-system", "--config", configFile, "--data-dir", other]);
  assert.equal(fromFlag.status, 0, fromFlag.stderr);
  assert.equal(
    fromFlag.stdout,
    `no local CA yet in ${path.join(other, "tls", "passerelle-local-ca.pem")} (the daemon has never started)\n`,
  );
});

test("trust install makes the CA in the dataDir of PASSERELLE_CONFIG's file", () => {
  const policyDir = path.join(scratch, "policy-data-install");
  const { home, configFile } = workstation({ dataDir: policyDir });
  const result = run(home, ["trust", "install", "--no-system"], { PASSERELLE_CONFIG: configFile });
  assert.equal(result.status, 0, `${result.stdout}${result.stderr}`);
  const status = run(home, ["trust", "status", "--no-system", "--data-dir", policyDir]);
  assert.doesNotMatch(status.stdout, /no local CA yet/, status.stdout);
});

test("access list and revoke use the configuration's dataDir; --data-dir wins", () => {
  const policyDir = path.join(scratch, "policy-data-access");
  const { home, configFile } = workstation({ dataDir: policyDir });
  mkdirSync(policyDir, { recursive: true });
  const grantedAt = "2026-12-01T10:00:00.000Z";
  new GrantStore(policyDir).add({ origin: "https://ehr.example.fr", appName: "EHR", grantedAt });

  const list = run(home, ["access", "list", "--config", configFile]);
  assert.equal(list.status, 0, list.stderr);
  assert.equal(list.stdout, `https://ehr.example.fr\t${grantedAt}\tEHR\n`);

  const other = path.join(home, "other-data");
  const listOther = run(home, ["access", "list", "--config", configFile, "--data-dir", other]);
  assert.equal(listOther.status, 0, listOther.stderr);
  assert.equal(listOther.stdout, "");

  const revoke = run(home, ["access", "revoke", "https://ehr.example.fr", "--config", configFile]);
  assert.equal(revoke.status, 0, revoke.stderr);
  assert.deepEqual(new GrantStore(policyDir).list(), [], "revoked in the policy's folder");
});

test("audit tail reads the configuration's dataDir; --data-dir wins", async () => {
  const policyDir = path.join(scratch, "policy-data-audit");
  const { home, configFile } = workstation({ dataDir: policyDir });
  await auditRecord(policyDir, "https://policy.example.fr");
  const other = path.join(home, "other-data");
  await auditRecord(other, "https://flag.example.fr");

  const tail = run(home, ["audit", "tail", "--config", configFile]);
  assert.equal(tail.status, 0, tail.stderr);
  const origins = (text: string) =>
    text
      .trim()
      .split("\n")
      .map((line) => (JSON.parse(line) as { origin: string }).origin);
  assert.deepEqual(origins(tail.stdout), ["https://policy.example.fr"]);

  const tailOther = run(home, ["audit", "tail", "--config", configFile, "--data-dir", other]);
  assert.equal(tailOther.status, 0, tailOther.stderr);
  assert.deepEqual(origins(tailOther.stdout), ["https://flag.example.fr"]);
});

test("an invalid configuration: one line and exit 4, for each command, even with --data-dir", () => {
  const { home, configFile } = workstation({ dataDir: "/somewhere", dataDri: "typo" });
  const broken = workstation("{ not json");
  for (const [args, env] of [
    [["trust", "status", "--no-system", "--config", configFile], {}],
    [
      ["trust", "install", "--no-system", "--data-dir", path.join(home, "d")],
      { PASSERELLE_CONFIG: configFile },
    ],
    [["access", "list", "--config", broken.configFile], {}],
    [["access", "revoke", "https://ehr.example.fr", "--config", configFile], {}],
    [["audit", "tail", "--config", broken.configFile, "--data-dir", path.join(home, "d")], {}],
    [["audit", "prune", "--before", "2026-01-01", "--config", path.join(home, "missing.json")], {}],
  ] as Array<[string[], Record<string, string>]>) {
    const result = run(home, args, env);
    assert.equal(result.status, 4, `${args.join(" ")}: ${result.stdout}${result.stderr}`);
    assert.equal(result.stdout, "", args.join(" "));
    assert.match(result.stderr, /^passerelle: invalid configuration: [^\n]+\n$/, args.join(" "));
  }
  assert.ok(!existsSync(path.join(home, "d")), "nothing made in --data-dir");
});
