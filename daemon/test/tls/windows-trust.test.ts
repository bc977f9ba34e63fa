/**
 * The Windows stores' outcomes in trust-store.ts, against an in-memory stand-in for crypt32 (the
 * real one is exercised under wine by installers/test/windows.test.ts, the user's store only):
 * the user's store replaces this user's older CAs; the machine's keeps other users' unless
 * `everyCa`, which needs no CA of its own.
 */
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { test } from "node:test";
import forge from "node-forge";
import { trust, type TrustOptions } from "../../src/tls/trust-store.ts";
import type { WindowsRoots, WindowsRootStore } from "../../src/tls/windows-roots.ts";

function caPem(commonName: string): string {
  const keys = forge.pki.rsa.generateKeyPair(1024);
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = "01";
  cert.validity.notBefore = new Date();
  cert.validity.notAfter = new Date(Date.now() + 86_400_000);
  cert.setSubject([{ name: "commonName", value: commonName }]);
  cert.setIssuer([{ name: "commonName", value: commonName }]);
  cert.sign(keys.privateKey);
  return forge.pki.certificateToPem(cert);
}

const sha1 = (pem: string) => new X509Certificate(pem).fingerprint.replaceAll(":", "");

/** Root stores as maps from SHA-1 to subject; `opened` records the store and read-only flag. */
function fakeStores() {
  const stores: Record<WindowsRootStore, Map<string, string>> = { user: new Map(), machine: new Map() };
  const opened: string[] = [];
  const open = (where: WindowsRootStore, readOnly = false): WindowsRoots => {
    opened.push(`${where}${readOnly ? " ro" : ""}`);
    const store = stores[where];
    return {
      find: (name) => [...store].filter(([, subject]) => subject.includes(name)).map(([hash]) => hash),
      add: (der) => {
        const cert = new X509Certificate(der);
        store.set(cert.fingerprint.replaceAll(":", ""), cert.subject);
      },
      remove: (hash) => store.delete(hash),
      close: () => undefined,
    };
  };
  return { stores, opened, open };
}

const OLD = caPem("Passerelle local CA 2025-01-01");
const CURRENT = caPem("Passerelle local CA 2026-12-01");
const OTHER_USER = caPem("Passerelle local CA 2026-11-30");

function run(action: "install" | "uninstall" | "status", pem: string, extra: Partial<TrustOptions>) {
  return trust(action, {
    caPem: pem,
    caFile: "ca.pem",
    home: "C:\\Users\\u",
    platform: "win32",
    ...extra,
  }).map((r) => `${r.store}: ${r.outcome}`);
}

test("Windows user store: installed, already, an older CA replaced, status, uninstall takes every one of this user's", () => {
  const { stores, opened, open } = fakeStores();
  stores.user.set(sha1(OLD), new X509Certificate(OLD).subject);
  const options = { openWindowsRoots: open };
  assert.deepEqual(run("status", CURRENT, options), ["Windows user Root store: an older CA is installed"]);
  assert.deepEqual(run("install", CURRENT, options), ["Windows user Root store: replaced an older CA"]);
  assert.deepEqual([...stores.user.keys()], [sha1(CURRENT)]);
  assert.deepEqual(run("install", CURRENT, options), ["Windows user Root store: already installed"]);
  assert.deepEqual(run("status", CURRENT, options), ["Windows user Root store: installed"]);
  assert.deepEqual(run("uninstall", CURRENT, options), ["Windows user Root store: removed"]);
  assert.equal(stores.user.size, 0);
  assert.deepEqual(run("uninstall", CURRENT, options), ["Windows user Root store: not installed"]);
  assert.deepEqual(opened, ["user ro", "user", "user", "user ro", "user", "user"]);
  assert.equal(stores.machine.size, 0);
});

test("Windows machine store: another user's CA is left alone, except by uninstall with everyCa (no CA needed)", () => {
  const { stores, open } = fakeStores();
  stores.machine.set(sha1(OTHER_USER), new X509Certificate(OTHER_USER).subject);
  const options = { openWindowsRoots: open, windowsStore: "machine" as const };
  assert.deepEqual(run("install", CURRENT, options), ["Windows machine Root store: installed"]);
  assert.equal(stores.machine.size, 2, "the other user's CA stays");
  assert.deepEqual(run("uninstall", CURRENT, options), ["Windows machine Root store: removed"]);
  assert.deepEqual([...stores.machine.keys()], [sha1(OTHER_USER)]);
  assert.deepEqual(run("uninstall", "", { ...options, everyCa: true }), [
    "Windows machine Root store: removed",
  ]);
  assert.equal(stores.machine.size, 0);
  assert.equal(stores.user.size, 0);
});

test("Windows: a store that cannot be opened or refuses is 'failed' with the reason, never a throw", () => {
  const refusing = (): WindowsRoots => ({
    find: () => [],
    add: () => {
      throw new Error("CertAddEncodedCertificateToStore: the user said no");
    },
    remove: () => false,
    close: () => undefined,
  });
  const [result] = trust("install", {
    caPem: CURRENT,
    caFile: "ca.pem",
    home: "C:\\Users\\u",
    platform: "win32",
    openWindowsRoots: refusing,
  });
  assert.deepEqual(result, {
    store: "Windows user Root store",
    outcome: "failed",
    detail: "CertAddEncodedCertificateToStore: the user said no",
  });
  const [unopened] = trust("status", {
    caPem: CURRENT,
    caFile: "ca.pem",
    home: "C:\\Users\\u",
    platform: "win32",
    openWindowsRoots: () => {
      throw new Error("CertOpenStore(user Root): Windows error 5");
    },
  });
  assert.equal(unopened?.outcome, "failed");
  assert.match(unopened?.detail ?? "", /Windows error 5/);
});
