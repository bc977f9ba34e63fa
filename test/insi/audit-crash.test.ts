/**
 * A kill -9 of a process during 200 INSi calls loses no completed call's audit record: every call
 * that returned to its caller (printed `done <messageId>`) has its line in the trail.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { AUDIT_DIR_NAME, readAuditTail } from "../../daemon/src/audit/audit-trail.ts";
import { startInsiSimulator, type InsiSimulator } from "../../daemon/src/simulator/insi/server.ts";
import { HARNESS, runTs, spawnTs } from "./run.ts";

const WORKER = fileURLToPath(new URL("./audit-worker.ts", import.meta.url));
const CALLS = 200;

let sim: InsiSimulator;
let dir: string;
let baseEnv: Record<string, string>;
before(async () => {
  sim = await startInsiSimulator({ mode: "organisation" });
  dir = await mkdtemp(join(tmpdir(), "audit-crash-"));
  const auto = sim.pki.organisation("INSI-AUTO");
  await writeFile(join(dir, "ca.pem"), sim.caPem);
  await writeFile(join(dir, "org.p12"), auto.pkcs12);
  baseEnv = {
    SIM_URL: sim.url,
    CA_FILE: join(dir, "ca.pem"),
    P12_FILE: join(dir, "org.p12"),
    P12_PASSPHRASE: auto.passphrase,
    CALLS: String(CALLS),
    CONCURRENCY: "4",
  };
});
after(async () => {
  await sim.close();
  await rm(dir, { recursive: true, force: true });
});

/** Runs the worker; kills it with SIGKILL once `killAfter` calls completed (never, if undefined). */
function runWorker(
  auditDir: string,
  killAfter?: number,
): Promise<{ completed: string[]; signal: NodeJS.Signals | null }> {
  const child = spawnTs(WORKER, [], { ...baseEnv, AUDIT_DIR: auditDir });
  const completed: string[] = [];
  let buffer = "";
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
  child.stdout?.on("data", (d: Buffer) => {
    buffer += d.toString();
    const lines = buffer.split("\n");
    buffer = lines.pop() ?? "";
    for (const line of lines) {
      if (line.startsWith("done ")) completed.push(line.slice(5));
      if (killAfter !== undefined && completed.length >= killAfter) child.kill("SIGKILL");
    }
  });
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("exit", (code, signal) => {
      if (signal === null && code !== 0) reject(new Error(`worker failed (${code}): ${stderr}`));
      else resolve({ completed, signal });
    });
  });
}

test("without a crash: 200 calls, 200 records, idNat never in clear", async () => {
  const auditDir = join(dir, "complete", AUDIT_DIR_NAME);
  const { completed } = await runWorker(auditDir);
  assert.equal(completed.length, CALLS);
  const { records } = await readAuditTail(auditDir, 10_000);
  assert.equal(records.length, CALLS);
  assert.deepEqual(new Set(records.map((r) => r.messageId)), new Set(completed));
  assert.ok(
    records.every(
      (r) => r.cr === "00" && r.idNatHash !== undefined && !JSON.stringify(r).includes("810100012345"),
    ),
  );

  // `passerelle audit tail` prints the last records of that data folder, oldest first.
  const tail = await runTs(HARNESS, ["audit", "tail", "-n", "3", "--data-dir", join(dir, "complete")]);
  assert.equal(tail.code, 0);
  const lines = tail.stdout
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));
  assert.deepEqual(
    lines.map((l) => l.messageId),
    records.slice(-3).map((r) => r.messageId),
  );
});

test("kill -9 during the calls: every completed call's record is in the trail", async () => {
  const auditDir = join(dir, "killed");
  // Somewhere in the first half, different each run (well before the worker could finish).
  const killAfter = 20 + Math.floor(Math.random() * 80);
  const { completed, signal } = await runWorker(auditDir, killAfter);
  assert.equal(signal, "SIGKILL", "the worker finished before it could be killed");
  assert.ok(completed.length >= killAfter && completed.length < CALLS, `killed after ${completed.length}`);
  const { records, skippedLines } = await readAuditTail(auditDir, 10_000);
  const recorded = new Set(records.map((r) => r.messageId));
  const missing = completed.filter((id) => !recorded.has(id));
  assert.deepEqual(missing, []);
  assert.ok(skippedLines <= 1, "at most the line being written when killed is torn");
});
