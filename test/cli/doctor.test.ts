/** `passerelle doctor` says what is missing, one line each, and fails only on real problems. */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { REPO_ROOT, cliCommand } from "../helpers/daemon.ts";
import { acquirePcscd, type PcscdLab } from "../helpers/pcscd.ts";

// doctor asks the PC/SC service: hold the lab lock so that no other test file restarts pcscd meanwhile.
let lab: PcscdLab | undefined;
before(async () => {
  lab = await acquirePcscd();
});
after(async () => {
  await lab?.release();
});

function doctor(config: unknown) {
  const dir = mkdtempSync(path.join(tmpdir(), "passerelle-doctor-"));
  const file = path.join(dir, "config.json");
  writeFileSync(file, typeof config === "string" ? config : JSON.stringify(config));
  const { command, args } = cliCommand(["doctor", "--config", file, "--data-dir", dir]);
  return spawnSync(command, args, { cwd: REPO_ROOT, encoding: "utf8", timeout: 30_000 });
}

test("a minimal configuration passes with warnings for what is not set up yet", () => {
  const result = doctor({});
  assert.equal(result.status, 0, result.stdout + result.stderr);
  assert.match(result.stdout, /^ok {3}config {2}read /m);
  assert.match(result.stdout, /^warn access {2}no allowed origin/m);
  assert.match(result.stdout, /^warn insi {4}insi: no INSi configuration/m);
});

test("an incomplete INSi configuration fails and names each missing key", () => {
  const result = doctor({
    allowedOrigins: ["https://ehr.example.fr"],
    insi: { mode: "organisation", endpoints: { organisation: "https://insi.example/lps" } },
  });
  assert.equal(result.status, 1);
  assert.match(result.stdout, /^ok {3}access {2}allowed: https:\/\/ehr\.example\.fr$/m);
  assert.match(result.stdout, /^FAIL insi {4}insi\.organisation\.pkcs12Path: /m);
  assert.match(result.stdout, /^FAIL insi {4}insi\.caBundlePath: /m);
  assert.match(result.stdout, /^FAIL insi {4}insi\.lps: /m);
});

test("an invalid configuration file fails with the key's path", () => {
  const result = doctor({ insi: { mode: "card", endpoint: "x" } });
  assert.equal(result.status, 1);
  assert.match(result.stdout, /^FAIL config .*unknown key insi\.endpoint/m);
});

test("card mode: the assertion PS attributes are checked, a missing specialty is a warning", () => {
  const result = doctor({
    allowedOrigins: ["https://ehr.example.fr"],
    insi: {
      mode: "card",
      endpoints: { card: "https://insi.example/lps" },
      lps: { default: { idam: "A1", softwareName: "Ehr", softwareVersion: "1" } },
      attributes: { default: { identifiantFacturation: "991234567" } },
    },
  });
  assert.equal(result.status, 1);
  assert.match(result.stdout, /^FAIL insi {4}insi\.attributes\.default\.secteurActivite: /m);
  assert.doesNotMatch(result.stdout, /identifiantFacturation: card mode/);
  assert.match(result.stdout, /^warn insi {4}insi\.attributes\.codeSpecialite: /m);
});
