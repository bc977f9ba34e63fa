import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, open, readFile, readdir, rm, stat, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  AUDIT_FILE_NAME,
  AuditTrail,
  hashIdNat,
  loadOrCreateSalt,
  readAuditTail,
  auditArchives,
  pruneAuditArchives,
} from "../../src/audit/audit-trail.ts";
import { isPasserelleError } from "../../src/errors.ts";

async function withDir(run: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "audit-"));
  try {
    await run(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test("one JSON line per event, idNat hashed with the installation's salt, nothing else added", () =>
  withDir(async (dir) => {
    const trail = await AuditTrail.open({ dir });
    await trail.record({
      kind: "insi",
      origin: "https://ehr.example",
      method: "insi.searchByTraits",
      idNat: "810100012345",
      messageId: "uuid:1",
      cr: "00",
      durationMs: 12.6,
      time: new Date("2026-01-01T00:00:00Z"),
    });
    await trail.record({
      kind: "pin",
      origin: "https://ehr.example",
      method: "cps.verifyPin",
      reason: "PIN_INCORRECT",
      durationMs: 3,
    });
    await trail.close();
    const lines = (await readFile(join(dir, AUDIT_FILE_NAME), "utf8")).trim().split("\n");
    assert.equal(lines.length, 2);
    const salt = await loadOrCreateSalt(dir);
    assert.deepEqual(JSON.parse(lines[0]!), {
      time: "2026-01-01T00:00:00.000Z",
      kind: "insi",
      origin: "https://ehr.example",
      method: "insi.searchByTraits",
      idNatHash: hashIdNat("810100012345", salt),
      messageId: "uuid:1",
      cr: "00",
      durationMs: 13,
    });
    assert.doesNotMatch(lines.join("\n"), /810100012345/);
    assert.equal(JSON.parse(lines[1]!).reason, "PIN_INCORRECT");
  }));

test("the salt is per installation: created once (0600), reused, different elsewhere", () =>
  withDir(async (dir) => {
    const a = await loadOrCreateSalt(join(dir, "one"));
    assert.deepEqual(await loadOrCreateSalt(join(dir, "one")), a);
    const b = await loadOrCreateSalt(join(dir, "two"));
    assert.notDeepEqual(a, b);
    assert.notEqual(hashIdNat("810100012345", a), hashIdNat("810100012345", b));
    if (process.platform !== "win32")
      assert.equal((await stat(join(dir, "one", "audit-salt"))).mode & 0o777, 0o600);
  }));

test("concurrent records are all written, each promise resolves after its line is on disk", () =>
  withDir(async (dir) => {
    const trail = await AuditTrail.open({ dir });
    await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        trail.record({ kind: "insi", origin: "o", method: "m", messageId: `uuid:${i}`, durationMs: 1 }),
      ),
    );
    const lines = (await readFile(join(dir, AUDIT_FILE_NAME), "utf8")).trim().split("\n");
    assert.deepEqual(
      lines.map((l) => JSON.parse(l).messageId).sort(),
      Array.from({ length: 100 }, (_, i) => `uuid:${i}`).sort(),
    );
    await trail.close();
    await assert.rejects(trail.record({ kind: "insi", origin: "o", method: "m", durationMs: 1 }), /closed/);
  }));

test("rotation by size into dated archives that are never deleted; tail reads across them", () =>
  withDir(async (dir) => {
    const trail = await AuditTrail.open({ dir, maxFileBytes: 1_000 });
    for (let i = 0; i < 100; i += 1)
      await trail.record({ kind: "insi", origin: "o", method: "m", messageId: `uuid:${i}`, durationMs: 1 });
    await trail.close();
    const archives = (await readdir(dir)).filter((f) => /^audit-\d{8}T\d{9}Z(-\d+)?\.jsonl$/.test(f));
    assert.ok(archives.length >= 10, `${archives.length} archives`);
    for (const file of [AUDIT_FILE_NAME, ...archives]) assert.ok((await stat(join(dir, file))).size <= 1_000);
    const tail = await readAuditTail(dir, 5);
    assert.deepEqual(
      tail.records.map((r) => r.messageId),
      ["uuid:95", "uuid:96", "uuid:97", "uuid:98", "uuid:99"],
    );
    // Nothing was lost to rotation: every record, in order, across the archives.
    const all = await readAuditTail(dir, 1000);
    assert.deepEqual(
      all.records.map((r) => r.messageId),
      Array.from({ length: 100 }, (_, i) => `uuid:${i}`),
    );
  }));

test("passerelle audit prune's function deletes only archives rotated before the date, never the current file", () =>
  withDir(async (dir) => {
    const { writeFile } = await import("node:fs/promises");
    await writeFile(join(dir, "audit-20240101T000000000Z.jsonl"), "{}\n");
    await writeFile(join(dir, "audit-20250101T000000000Z.jsonl"), "{}\n");
    await writeFile(join(dir, "audit-20250101T000000000Z-2.jsonl"), "{}\n");
    await writeFile(join(dir, AUDIT_FILE_NAME), "{}\n");
    const archives = await auditArchives(dir);
    assert.deepEqual(
      archives.map((a) => a.file.slice(dir.length + 1)),
      [
        "audit-20250101T000000000Z-2.jsonl",
        "audit-20250101T000000000Z.jsonl",
        "audit-20240101T000000000Z.jsonl",
      ],
      "newest first",
    );
    const deleted = await pruneAuditArchives(dir, new Date("2024-06-01T00:00:00Z"));
    assert.deepEqual(deleted, [join(dir, "audit-20240101T000000000Z.jsonl")]);
    assert.deepEqual(
      (await readdir(dir)).sort(),
      [AUDIT_FILE_NAME, "audit-20250101T000000000Z-2.jsonl", "audit-20250101T000000000Z.jsonl"].sort(),
    );
  }));

test("a torn last line (crash during a write) is skipped by the reader, and appending continues", () =>
  withDir(async (dir) => {
    const trail = await AuditTrail.open({ dir });
    await trail.record({ kind: "insi", origin: "o", method: "m", messageId: "uuid:a", durationMs: 1 });
    await trail.close();
    const { appendFile } = await import("node:fs/promises");
    await appendFile(join(dir, AUDIT_FILE_NAME), '{"time":"2026-01-01T00:00:00.000Z","kind":"in');
    const tail = await readAuditTail(dir, 10);
    assert.equal(tail.records.length, 1);
    assert.equal(tail.skippedLines, 1);
  }));

test("record() resolves only after the data is synced to the disk (datasync), not merely written", async () => {
  const dir = await mkdtemp(join(tmpdir(), "passerelle-audit-sync-"));
  // Every FileHandle shares one prototype: watch its datasync.
  const probe = await open(join(dir, "probe"), "w");
  const prototype = Object.getPrototypeOf(probe) as { datasync: () => Promise<void> };
  await probe.close();
  const original = prototype.datasync;
  let release: () => void = () => undefined;
  let syncs = 0;
  prototype.datasync = function (this: unknown) {
    syncs += 1;
    return new Promise<void>((resolve) => {
      release = () => resolve(original.call(this));
    });
  };
  try {
    const trail = await AuditTrail.open({ dir });
    let done = false;
    const recorded = trail
      .record({ kind: "pin", origin: "https://ehr.example.fr", method: "cps.verifyPin", durationMs: 1 })
      .then(() => (done = true));
    for (let i = 0; i < 20 && syncs === 0; i++) await new Promise((resolve) => setTimeout(resolve, 5));
    assert.equal(syncs, 1, "the record was synced");
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(done, false, "record() must wait for datasync");
    release();
    await recorded;
    assert.equal(done, true);
    prototype.datasync = original;
    await trail.close();
  } finally {
    prototype.datasync = original;
    await rm(dir, { recursive: true, force: true });
  }
});

test("a write the disk refuses (ENOSPC, the trail on /dev/full) fails typed: AUDIT_UNAVAILABLE with the system code", () =>
  withDir(async (dir) => {
    await symlink("/dev/full", join(dir, AUDIT_FILE_NAME));
    const trail = await AuditTrail.open({ dir });
    const event = {
      kind: "pin",
      origin: "https://ehr.example",
      method: "cps.verifyPin",
      durationMs: 1,
    } as const;
    await assert.rejects(trail.record(event), (error) => {
      assert.ok(isPasserelleError(error, "AUDIT_UNAVAILABLE"), String(error));
      assert.equal(error.details["code"], "ENOSPC");
      assert.equal(error.retriable, true);
      return true;
    });
    // Every caller of the failed batch hears it, and a closed trail is as typed.
    const both = await Promise.allSettled([trail.record(event), trail.record(event)]);
    assert.deepEqual(
      both.map(
        (outcome) => outcome.status === "rejected" && isPasserelleError(outcome.reason, "AUDIT_UNAVAILABLE"),
      ),
      [true, true],
    );
    await trail.close();
    await assert.rejects(trail.record(event), (error) => isPasserelleError(error, "AUDIT_UNAVAILABLE"));
  }));
