/**
 * `passerelle trust install|uninstall|status`: puts the local CA (local-ca.ts) in the stores the
 * browsers read, and takes it out again. One result per store; every action is idempotent (an
 * install over the same CA says "already installed"; over an older CA, after a renewal, it replaces
 * it — same nickname).
 *
 * - NSS databases (certutil from libnss3-tools): the user's Chromium/Chrome/Edge database
 *   ~/.pki/nssdb on Linux (created when missing), and every Firefox profile found.
 * - The OS store: Debian/Ubuntu /usr/local/share/ca-certificates + update-ca-certificates, Fedora
 *   /etc/pki/ca-trust/source/anchors + update-ca-trust (both need root; skipped otherwise, and said
 *   so), macOS the login keychain (security add-trusted-cert), Windows the user's Root store or,
 *   with `windowsStore: "machine"`, the machine's (crypt32 through koffi: windows-roots.ts). The
 *   Linux paths run in the default tests: NSS with real certutil databases, the Debian store
 *   through `systemRoot` (a throwaway folder standing in for `/`, handed to the real
 *   update-ca-certificates); the macOS commands are recorded through `run`; the Windows user store
 *   runs under wine (installers/test/windows.test.ts).
 */
import { spawnSync } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { openWindowsRoots, type WindowsRootStore } from "./windows-roots.ts";

export const CA_NICKNAME = "Passerelle local CA";
const SYSTEM_FILE_NAME = "passerelle-local-ca";

export type TrustAction = "install" | "uninstall" | "status";

export interface StoreResult {
  readonly store: string;
  readonly outcome:
    | "installed"
    | "already installed"
    | "replaced an older CA"
    | "an older CA is installed"
    | "not installed"
    | "removed"
    | "skipped"
    | "failed";
  readonly detail?: string;
}

export interface TrustOptions {
  readonly caPem: string;
  readonly caFile: string;
  readonly home: string;
  /** Also the OS store (default true). */
  readonly system?: boolean;
  /**
   * The Linux OS store under this folder instead of `/` (Debian/Ubuntu's update-ca-certificates
   * only, which takes its folders as options): for tests and for building a system image. The
   * machine's own store is then left alone, and root is not needed.
   */
  readonly systemRoot?: string;
  readonly platform?: NodeJS.Platform;
  /** Environment for the tools (APPDATA on Windows…). */
  readonly env?: NodeJS.ProcessEnv;
  /**
   * Runs the OS store's commands (macOS `security`): by default the real ones. Tests hand a recorder,
   * which fixes here the exact commands a Mac would run.
   */
  readonly run?: TrustRunner;
  /**
   * Windows: the user's Root store (default; adding asks the user to confirm) or the machine's
   * (administrator, no dialog, trusted by every user of the machine).
   */
  readonly windowsStore?: WindowsRootStore;
  /** Windows machine store, uninstall: every Passerelle CA in it, not only this user's. */
  readonly everyCa?: boolean;
  /** For tests: another opener of the Windows stores. */
  readonly openWindowsRoots?: typeof openWindowsRoots;
}

/** Runs one command; `ok` is exit 0, `out` its stdout then stderr. */
export type TrustRunner = (command: string, args: string[]) => { ok: boolean; out: string };

function run(command: string, args: string[], env?: NodeJS.ProcessEnv): { ok: boolean; out: string } {
  const result = spawnSync(command, args, { encoding: "utf8", env: env ?? process.env });
  return { ok: result.status === 0, out: `${result.stdout ?? ""}${result.stderr ?? ""}`.trim() };
}

function hasCommand(command: string): boolean {
  const result = spawnSync(
    process.platform === "win32" ? "where" : "sh",
    process.platform === "win32" ? [command] : ["-c", `command -v ${command}`],
    { encoding: "utf8" },
  );
  return result.status === 0;
}

function base64Of(pem: string): string[] {
  return [...pem.matchAll(/-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/g)].map((m) =>
    (m[1] ?? "").replace(/\s+/g, ""),
  );
}

// ---------------------------------------------------------------------------------------------
// NSS
// ---------------------------------------------------------------------------------------------

/** The NSS databases of this user: ~/.pki/nssdb (Linux) and every Firefox profile. */
export function nssDatabases(home: string, platform: NodeJS.Platform, env: NodeJS.ProcessEnv): string[] {
  const found: string[] = [];
  if (platform === "linux") found.push(`sql:${path.join(home, ".pki", "nssdb")}`);
  const profileRoots =
    platform === "darwin"
      ? [path.join(home, "Library", "Application Support", "Firefox", "Profiles")]
      : platform === "win32"
        ? [
            path.join(
              env["APPDATA"] ?? path.join(home, "AppData", "Roaming"),
              "Mozilla",
              "Firefox",
              "Profiles",
            ),
          ]
        : [
            path.join(home, ".mozilla", "firefox"),
            path.join(home, "snap", "firefox", "common", ".mozilla", "firefox"),
            path.join(home, ".var", "app", "org.mozilla.firefox", ".mozilla", "firefox"),
          ];
  for (const root of profileRoots) {
    let names: string[];
    try {
      names = readdirSync(root);
    } catch {
      continue;
    }
    for (const name of names.sort()) {
      const profile = path.join(root, name);
      if (existsSync(path.join(profile, "cert9.db"))) found.push(`sql:${profile}`);
      else if (existsSync(path.join(profile, "cert8.db"))) found.push(`dbm:${profile}`);
    }
  }
  return found;
}

function nssState(db: string, caPem: string): "current" | "older" | "absent" {
  const listed = run("certutil", ["-d", db, "-L", "-n", CA_NICKNAME, "-a"]);
  if (!listed.ok) return "absent";
  const ours = base64Of(caPem)[0];
  return base64Of(listed.out).includes(ours ?? "") ? "current" : "older";
}

function nssRemoveAll(db: string): boolean {
  let removed = false;
  // Renewals may have left several certificates under the nickname: delete until none is left.
  for (let i = 0; i < 20 && run("certutil", ["-d", db, "-D", "-n", CA_NICKNAME]).ok; i++) removed = true;
  return removed;
}

function nssStore(action: TrustAction, db: string, options: TrustOptions): StoreResult {
  const store = `NSS ${db}`;
  if (!hasCommand("certutil"))
    return {
      store,
      outcome: "skipped",
      detail:
        (options.platform ?? process.platform) === "darwin"
          ? "certutil not found (brew install nss; or Firefox's security.enterprise_roots.enabled reads the keychain)"
          : "certutil not found (Debian: apt install libnss3-tools)",
    };
  const dir = db.replace(/^(sql|dbm):/, "");
  if (action === "status") {
    const state = nssState(db, options.caPem);
    return {
      store,
      outcome:
        state === "current" ? "installed" : state === "older" ? "an older CA is installed" : "not installed",
    };
  }
  if (action === "uninstall") {
    if (!existsSync(dir)) return { store, outcome: "not installed" };
    return { store, outcome: nssRemoveAll(db) ? "removed" : "not installed" };
  }
  if (!existsSync(path.join(dir, "cert9.db")) && !existsSync(path.join(dir, "cert8.db"))) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const created = run("certutil", ["-d", db, "-N", "--empty-password"]);
    if (!created.ok) return { store, outcome: "failed", detail: created.out };
  }
  const state = nssState(db, options.caPem);
  if (state === "current") return { store, outcome: "already installed" };
  nssRemoveAll(db);
  const added = run("certutil", ["-d", db, "-A", "-t", "C,,", "-n", CA_NICKNAME, "-i", options.caFile]);
  if (!added.ok) return { store, outcome: "failed", detail: added.out };
  return { store, outcome: state === "older" ? "replaced an older CA" : "installed" };
}

// ---------------------------------------------------------------------------------------------
// The OS store
// ---------------------------------------------------------------------------------------------

interface LinuxAnchors {
  readonly name: string;
  readonly file: string;
  readonly update: [string, ...string[]];
}

function linuxAnchors(systemRoot: string | undefined): LinuxAnchors | null {
  if (systemRoot !== undefined) {
    if (!hasCommand("update-ca-certificates")) return null;
    // update-ca-certificates reads and writes only the folders it is given (and runs the hooks of
    // the hooks folder given): nothing of the machine's own store is touched.
    const under = (...parts: string[]) => path.join(path.resolve(systemRoot), ...parts);
    const local = under("usr/local/share/ca-certificates");
    const etc = under("etc/ssl/certs");
    for (const dir of [local, etc, under("usr/share/ca-certificates")]) mkdirSync(dir, { recursive: true });
    return {
      name: `system (update-ca-certificates, under ${path.resolve(systemRoot)})`,
      file: path.join(local, `${SYSTEM_FILE_NAME}.crt`),
      update: [
        "update-ca-certificates",
        "--certsconf",
        under("etc/ca-certificates.conf"),
        "--certsdir",
        under("usr/share/ca-certificates"),
        "--localcertsdir",
        local,
        "--etccertsdir",
        etc,
        "--hooksdir",
        under("etc/ca-certificates/update.d"),
      ],
    };
  }
  if (hasCommand("update-ca-certificates"))
    return {
      name: "system (update-ca-certificates)",
      file: `/usr/local/share/ca-certificates/${SYSTEM_FILE_NAME}.crt`,
      update: ["update-ca-certificates"],
    };
  if (hasCommand("update-ca-trust"))
    return {
      name: "system (update-ca-trust)",
      file: `/etc/pki/ca-trust/source/anchors/${SYSTEM_FILE_NAME}.pem`,
      update: ["update-ca-trust", "extract"],
    };
  return null;
}

function linuxSystemStore(action: TrustAction, options: TrustOptions): StoreResult {
  const anchors = linuxAnchors(options.systemRoot);
  if (!anchors)
    return {
      store: "system",
      outcome: "skipped",
      detail:
        options.systemRoot === undefined
          ? "no update-ca-certificates or update-ca-trust"
          : "--system-root needs update-ca-certificates (Debian, Ubuntu)",
    };
  const store = anchors.name;
  const present = existsSync(anchors.file) ? readFileSync(anchors.file, "utf8") : null;
  const current = present !== null && base64Of(present)[0] === base64Of(options.caPem)[0];
  if (action === "status")
    return {
      store,
      outcome: present === null ? "not installed" : current ? "installed" : "an older CA is installed",
    };
  if (options.systemRoot === undefined && process.getuid?.() !== 0)
    return { store, outcome: "skipped", detail: "needs root: sudo passerelle trust " + action };
  if (action === "uninstall") {
    if (present === null) return { store, outcome: "not installed" };
    rmSync(anchors.file, { force: true });
    const updated = run(anchors.update[0], [
      ...anchors.update.slice(1),
      ...(anchors.update[0] === "update-ca-certificates" ? ["--fresh"] : []),
    ]);
    return updated.ok ? { store, outcome: "removed" } : { store, outcome: "failed", detail: updated.out };
  }
  if (current) return { store, outcome: "already installed" };
  writeFileSync(anchors.file, options.caPem, { mode: 0o644 });
  const updated = run(anchors.update[0], anchors.update.slice(1));
  if (!updated.ok) return { store, outcome: "failed", detail: updated.out };
  return { store, outcome: present === null ? "installed" : "replaced an older CA" };
}

function sha1Of(caPem: string): string {
  return new X509Certificate(caPem).fingerprint.replace(/:/g, "");
}

/**
 * The login keychain. In the keychain is not enough: `add-trusted-cert` puts the certificate there
 * first and then asks the user for the trust settings; a refused prompt leaves it there untrusted.
 * So "installed" is: in the keychain and accepted as an anchor by `security verify-cert` (basic
 * X.509 policy, the CA as leaf, no network); otherwise install runs `add-trusted-cert` again (the
 * prompt comes back at the next try). Older CAs of ours (same name, another hash: a renewal) are
 * deleted, as are ours on uninstall, with their user trust settings (`delete-certificate -t`).
 * None of this has run on a Mac: daemon/test/tls/trust-store-macos.test.ts fixes the commands
 * through `run`.
 */
function macosStore(action: TrustAction, options: TrustOptions): StoreResult {
  const exec = options.run ?? ((command: string, args: string[]) => run(command, args, options.env));
  const keychain = path.join(options.home, "Library", "Keychains", "login.keychain-db");
  const store = `macOS login keychain`;
  const sha1 = sha1Of(options.caPem);
  const listed = exec("security", ["find-certificate", "-a", "-Z", "-c", CA_NICKNAME, keychain]);
  const hashes = listed.ok
    ? [...new Set([...listed.out.matchAll(/SHA-1 hash: ([0-9A-Fa-f]{40})/g)].map((m) => m[1]!.toUpperCase()))]
    : [];
  const present = hashes.includes(sha1);
  const older = hashes.filter((hash) => hash !== sha1);
  const trusted =
    present && exec("security", ["verify-cert", "-c", options.caFile, "-l", "-L", "-p", "basic", "-q"]).ok;
  const remove = (hash: string) => exec("security", ["delete-certificate", "-t", "-Z", hash, keychain]);
  if (action === "status") {
    if (trusted) return { store, outcome: "installed" };
    if (present)
      return {
        store,
        outcome: "not installed",
        detail: "in the login keychain but not trusted (the password prompt was refused?)",
      };
    return { store, outcome: older.length > 0 ? "an older CA is installed" : "not installed" };
  }
  if (action === "uninstall") {
    if (hashes.length === 0) return { store, outcome: "not installed" };
    const failed = hashes.map(remove).find((result) => !result.ok);
    return failed ? { store, outcome: "failed", detail: failed.out } : { store, outcome: "removed" };
  }
  const failedRemoval = older.map(remove).find((result) => !result.ok);
  if (failedRemoval) return { store, outcome: "failed", detail: failedRemoval.out };
  if (trusted) return { store, outcome: older.length > 0 ? "replaced an older CA" : "already installed" };
  const added = exec("security", ["add-trusted-cert", "-r", "trustRoot", "-k", keychain, options.caFile]);
  if (!added.ok) return { store, outcome: "failed", detail: added.out };
  return { store, outcome: older.length > 0 ? "replaced an older CA" : "installed" };
}

function windowsStore(action: TrustAction, options: TrustOptions): StoreResult {
  const where = options.windowsStore ?? "user";
  const store = where === "machine" ? "Windows machine Root store" : "Windows user Root store";
  // No CA at all is fine for `everyCa` (the MSI's uninstall runs as an account that has none).
  const sha1 = options.caPem ? sha1Of(options.caPem) : "";
  let roots;
  try {
    roots = (options.openWindowsRoots ?? openWindowsRoots)(where, action === "status");
  } catch (error) {
    return { store, outcome: "failed", detail: (error as Error).message };
  }
  try {
    const present = roots.find(CA_NICKNAME);
    const current = present.includes(sha1);
    if (action === "status")
      return {
        store,
        outcome: current ? "installed" : present.length > 0 ? "an older CA is installed" : "not installed",
      };
    // In the user's store every Passerelle CA is this user's (older ones after a renewal); in the
    // machine's they may be other users': only `everyCa` (the per-machine MSI's uninstall) takes them.
    const ours = where === "user" || options.everyCa ? present : present.filter((hash) => hash === sha1);
    if (action === "uninstall") {
      if (ours.length === 0) return { store, outcome: "not installed" };
      for (const hash of ours) roots.remove(hash);
      return { store, outcome: "removed" };
    }
    const older = where === "user" ? present.filter((hash) => hash !== sha1) : [];
    if (current && older.length === 0) return { store, outcome: "already installed" };
    if (!current) roots.add(new X509Certificate(options.caPem).raw);
    for (const hash of older) roots.remove(hash);
    return { store, outcome: older.length > 0 ? "replaced an older CA" : "installed" };
  } catch (error) {
    return { store, outcome: "failed", detail: (error as Error).message };
  } finally {
    roots.close();
  }
}

/** Runs `action` on every store; one result per store, in a stable order. */
export function trust(action: TrustAction, options: TrustOptions): StoreResult[] {
  const platform = options.platform ?? process.platform;
  const env = options.env ?? process.env;
  const results: StoreResult[] = [];
  if (options.system !== false) {
    if (platform === "linux") results.push(linuxSystemStore(action, options));
    else if (platform === "darwin") results.push(macosStore(action, options));
    else if (platform === "win32") results.push(windowsStore(action, options));
  }
  // Windows has no NSS certutil (its certutil is another tool): Firefox there reads the Windows
  // store itself (security.enterprise_roots.enabled, see the admin guide).
  if (platform !== "win32")
    for (const db of nssDatabases(options.home, platform, env)) results.push(nssStore(action, db, options));
  return results;
}
