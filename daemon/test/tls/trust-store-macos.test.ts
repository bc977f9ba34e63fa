/**
 * `passerelle trust` on macOS: the exact `security` commands for the login keychain, through a
 * recording runner that answers as the tool would (exit status, `find-certificate -Z` output). No
 * command runs here: there is no Mac. What this fixes is what a Mac would be asked, in which order,
 * and what each answer leads to (the refused password prompt, a renewal, uninstall).
 */
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, test } from "node:test";
import { generateLocalTls } from "../../src/tls/local-ca-issue.ts";
import { trust, type TrustAction, type TrustRunner } from "../../src/tls/trust-store.ts";

const scratch = mkdtempSync(path.join(tmpdir(), "passerelle-trust-macos-"));
after(() => rmSync(scratch, { recursive: true, force: true }));

const home = path.join(scratch, "Users", "dr house");
const keychain = path.join(home, "Library/Keychains/login.keychain-db");
const current = generateLocalTls();
const older = generateLocalTls();
const caFile = path.join(scratch, "passerelle-local-ca.pem");
writeFileSync(caFile, current.caPem);
const sha1 = (pem: string) => new X509Certificate(pem).fingerprint.replace(/:/g, "");

/** What `security find-certificate -a -Z -c NAME` prints for these certificates (two lines each kept). */
function listing(pems: string[]): string {
  return pems
    .map((pem) => `SHA-256 hash: ${"AB".repeat(32)}\nSHA-1 hash: ${sha1(pem)}\nkeychain: "${keychain}"\n`)
    .join("");
}

/** Records every command; answers from `answer` (exit 0 with no output by default). */
function recorder(answer: (line: string) => { ok: boolean; out?: string } | undefined) {
  const ran: string[] = [];
  const run: TrustRunner = (command, args) => {
    const line = [command, ...args].join(" | ");
    ran.push(line);
    const given = answer(line);
    return { ok: given?.ok ?? true, out: given?.out ?? "" };
  };
  return { ran, run };
}

const FIND = `security | find-certificate | -a | -Z | -c | Passerelle local CA | ${keychain}`;
const VERIFY = `security | verify-cert | -c | ${caFile} | -l | -L | -p | basic | -q`;
const ADD = `security | add-trusted-cert | -r | trustRoot | -k | ${keychain} | ${caFile}`;
const DELETE = (pem: string) => `security | delete-certificate | -t | -Z | ${sha1(pem)} | ${keychain}`;

function macos(action: TrustAction, run: TrustRunner) {
  return trust(action, { caPem: current.caPem, caFile, home, platform: "darwin", env: {}, run });
}

test("install on a keychain without it: find, then add-trusted-cert into the login keychain as a root", () => {
  const { ran, run } = recorder((line) =>
    line === FIND
      ? {
          ok: false,
          out: "security: SecKeychainSearchCopyNext: The specified item could not be found in the keychain.",
        }
      : undefined,
  );
  assert.deepEqual(macos("install", run), [{ store: "macOS login keychain", outcome: "installed" }]);
  assert.deepEqual(ran, [FIND, ADD]);
});

test("install when it is there and trusted: nothing added (no password prompt at every login)", () => {
  const { ran, run } = recorder((line) =>
    line === FIND ? { ok: true, out: listing([current.caPem]) } : undefined,
  );
  assert.deepEqual(macos("install", run), [{ store: "macOS login keychain", outcome: "already installed" }]);
  assert.deepEqual(ran, [FIND, VERIFY]);
});

test("the prompt was refused last time (in the keychain, not trusted): status says so, install asks again", () => {
  const answer = (line: string) =>
    line === FIND ? { ok: true, out: listing([current.caPem]) } : line === VERIFY ? { ok: false } : undefined;
  const status = recorder(answer);
  assert.deepEqual(macos("status", status.run), [
    {
      store: "macOS login keychain",
      outcome: "not installed",
      detail: "in the login keychain but not trusted (the password prompt was refused?)",
    },
  ]);
  const install = recorder(answer);
  assert.deepEqual(macos("install", install.run), [{ store: "macOS login keychain", outcome: "installed" }]);
  assert.deepEqual(install.ran, [FIND, VERIFY, ADD]);
  // The user refuses again: a failure with the tool's words, exit 1 from the CLI.
  const refused = recorder((line) =>
    line === ADD
      ? { ok: false, out: "SecTrustSettingsSetTrustSettings: The authorization was canceled by the user." }
      : answer(line),
  );
  assert.deepEqual(macos("install", refused.run), [
    {
      store: "macOS login keychain",
      outcome: "failed",
      detail: "SecTrustSettingsSetTrustSettings: The authorization was canceled by the user.",
    },
  ]);
});

test("after a renewal: the older CA is deleted with its trust settings, the new one added", () => {
  const { ran, run } = recorder((line) =>
    line === FIND ? { ok: true, out: listing([older.caPem]) } : undefined,
  );
  assert.deepEqual(
    macos(
      "status",
      recorder((line) => (line === FIND ? { ok: true, out: listing([older.caPem]) } : undefined)).run,
    ),
    [{ store: "macOS login keychain", outcome: "an older CA is installed" }],
  );
  assert.deepEqual(macos("install", run), [
    { store: "macOS login keychain", outcome: "replaced an older CA" },
  ]);
  assert.deepEqual(ran, [FIND, DELETE(older.caPem), ADD]);
});

test("uninstall deletes every CA of ours with its user trust settings; again: not installed", () => {
  const both = recorder((line) =>
    line === FIND ? { ok: true, out: listing([current.caPem, older.caPem]) } : undefined,
  );
  assert.deepEqual(macos("uninstall", both.run), [{ store: "macOS login keychain", outcome: "removed" }]);
  assert.deepEqual(both.ran, [FIND, VERIFY, DELETE(current.caPem), DELETE(older.caPem)]);
  const none = recorder((line) => (line === FIND ? { ok: false } : undefined));
  assert.deepEqual(macos("uninstall", none.run), [
    { store: "macOS login keychain", outcome: "not installed" },
  ]);
  assert.deepEqual(none.ran, [FIND]);
});
