/**
 * The grant store: atomic writes of a validated file, and a damaged file is a GrantStoreError with
 * one line naming the file — never a crash, never a guess.
 */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, test } from "node:test";
import { GrantStore, GrantStoreError, grantsFile, readGrants } from "../../src/access/index.ts";

const dirs: string[] = [];
function dataDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), "passerelle-grants-"));
  dirs.push(dir);
  return dir;
}
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const GRANT = { origin: "https://ehr.example.fr", appName: "EHR", grantedAt: "2026-12-01T10:00:00.000Z" };

test("no file: no grant; add, list, remove round-trip through the file (0600, no temporary left)", () => {
  const store = new GrantStore(dataDir());
  assert.deepEqual(store.list(), []);
  store.add(GRANT);
  store.add({ origin: "https://other.example", grantedAt: "2026-12-01T11:00:00.000Z" });
  assert.deepEqual(
    store.list().map((g) => g.origin),
    ["https://ehr.example.fr", "https://other.example"],
  );
  assert.equal(statSync(store.file).mode & 0o777, 0o600);
  assert.deepEqual(readdirSync(path.dirname(store.file)), ["grants.json"]);
  assert.equal(store.remove("https://ehr.example.fr"), true);
  assert.equal(store.remove("https://ehr.example.fr"), false);
  assert.deepEqual(
    store.list().map((g) => g.origin),
    ["https://other.example"],
  );
  // Adding again renews rather than duplicates.
  store.add(GRANT);
  store.add({ ...GRANT, grantedAt: "2026-12-02T10:00:00.000Z" });
  assert.equal(store.list().filter((g) => g.origin === GRANT.origin).length, 1);
});

test("a damaged grants file is a one-line GrantStoreError naming the file, and is never written over", () => {
  const damaged: Array<[string, RegExp]> = [
    ["{not json\n\u0007", /damaged \(not valid JSON\)$/],
    [JSON.stringify({ version: 2, grants: [] }), /damaged \(version: /],
    [
      JSON.stringify({
        version: 1,
        grants: [{ origin: "https://*.example", grantedAt: "2026-12-01T10:00:00Z" }],
      }),
      /grants\.0\.origin/,
    ],
    [
      JSON.stringify({
        version: 1,
        grants: [{ origin: "https://a.example/", grantedAt: "2026-12-01T10:00:00Z" }],
      }),
      /grants\.0\.origin/,
    ],
    [JSON.stringify({ version: 1, grants: [{ ...GRANT, extra: 1 }] }), /damaged/],
    [JSON.stringify({ version: 1, grants: [GRANT, GRANT] }), /listed twice/],
    [JSON.stringify({ version: 1, grants: [{ ...GRANT, grantedAt: "yesterday" }] }), /grantedAt/],
  ];
  for (const [text, expected] of damaged) {
    const dir = dataDir();
    const file = grantsFile(dir);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, text);
    const store = new GrantStore(dir);
    assert.throws(
      () => store.list(),
      (error: unknown) =>
        error instanceof GrantStoreError &&
        expected.test(error.message) &&
        error.message.startsWith(file) &&
        !error.message.includes("\n") &&
        !error.message.includes("\u0007"),
      text,
    );
    assert.throws(() => store.add(GRANT), GrantStoreError);
    assert.equal(readFileSync(file, "utf8"), text, "a damaged file stays as it was for its owner to look at");
  }
});

test("a grants file that cannot be read is a GrantStoreError too (a folder in its place)", () => {
  const dir = dataDir();
  mkdirSync(grantsFile(dir), { recursive: true });
  assert.throws(() => readGrants(grantsFile(dir)), /cannot read \(EISDIR\)/);
});
