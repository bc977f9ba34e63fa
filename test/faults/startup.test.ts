/**
 * Faults at start: a corrupted configuration file, a damaged data folder. The daemon refuses to
 * start with one line on stderr and the documented exit code, and a failed start leaves nothing
 * open behind it (the process can end by itself). A taken port (exit 3) and an invalid key
 * (exit 4) are test/cli/start.test.ts.
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, test } from "node:test";
import { cliCommand, REPO_ROOT } from "../helpers/daemon.ts";

const dir = mkdtempSync(path.join(tmpdir(), "passerelle-faults-start-"));
after(() => rmSync(dir, { recursive: true, force: true }));

function start(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const { command, args: argv } = cliCommand(["start", "--port", "0", ...args]);
  const result = spawnSync(command, argv, { cwd: REPO_ROOT, encoding: "utf8", timeout: 60_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

test("a corrupted config file (truncated, binary, empty, not an object): exit 4, one line naming the file, nothing listening", () => {
  const variants: Record<string, string | Buffer> = {
    truncated: '{"port": 9712, "allowedOrigins": ["https://ehr.exa',
    binary: Buffer.from([0x00, 0xff, 0xfe, 0x7b, 0x00, 0x0a]),
    empty: "",
    array: "[1, 2, 3]",
  };
  for (const [name, content] of Object.entries(variants)) {
    const config = path.join(dir, `${name}.json`);
    writeFileSync(config, content);
    const result = start(["--config", config, "--data-dir", path.join(dir, `data-${name}`)]);
    assert.equal(result.status, 4, `${name}: ${result.stderr}`);
    assert.equal(result.stdout, "", `${name}: never "listening"`);
    const lines = result.stderr.trim().split("\n");
    assert.equal(lines.length, 1, `${name}: one line on stderr:\n${result.stderr}`);
    assert.match(lines[0] ?? "", /^passerelle: invalid configuration: /);
    assert.ok(lines[0]?.includes(config), `${name}: the line names the file`);
    // …and never echoes its content (a passphrase may be in it; control bytes would break the line).
    assert.ok(
      !result.stderr.includes("ehr.exa") &&
        ![...result.stderr].some((c) => c !== "\n" && (c < " " || c > "~")),
    );
  }
});

test("a damaged audit salt in the data folder: exit 1 with one line, nothing listening", () => {
  const dataDir = path.join(dir, "damaged-salt");
  mkdirSync(path.join(dataDir, "audit"), { recursive: true });
  writeFileSync(path.join(dataDir, "audit", "audit-salt"), "not hex at all");
  const config = path.join(dir, "ok.json");
  writeFileSync(config, "{}");
  const result = start(["--simulate", "--plaintext", "--config", config, "--data-dir", dataDir]);
  assert.equal(result.status, 1, result.stderr);
  assert.equal(result.stdout, "");
  assert.match(result.stderr, /^passerelle: cannot start: audit salt file .* is damaged\n$/m);
});

test("a start that fails after the readers, the audit trail and the INSi simulator are open closes them all", async () => {
  // The TLS folder is a file: the start fails at the local CA, after everything before it opened.
  const dataDir = path.join(dir, "tls-blocked");
  mkdirSync(dataDir);
  writeFileSync(path.join(dataDir, "config.json"), "{}");
  writeFileSync(path.join(dataDir, "tls"), "");
  const child = spawn(
    process.execPath,
    ["--import", "tsx", path.join(REPO_ROOT, "test/faults/fixtures/failing-start.ts"), dataDir],
    { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "pipe"] },
  );
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  const exited = await new Promise<number | null | "still running">((resolve) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      resolve("still running");
    }, 45_000);
    child.once("exit", (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
  assert.match(stdout, /^failed: .*tls/m, stderr);
  assert.equal(exited, 0, `the process must end by itself once the start failed:\n${stdout}${stderr}`);
});
