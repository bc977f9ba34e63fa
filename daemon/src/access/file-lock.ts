/**
 * Read-modify-write of one small file of the access folder, safe across processes: the daemon and
 * `passerelle access revoke` (another process) may change the grants file at the same moment, and
 * without a lock one of the two changes would be lost (each reads the old list, each writes its own).
 *
 * The lock is a file beside the data file, `<name>.lock`, created with O_EXCL (`wx`): only one
 * process at a time can create it. It holds the owner's pid, host and a random nonce, and is removed
 * when the change is written. It is held for one read, one write and one fsync: milliseconds.
 *
 * A lock left by a process that died while holding it (a crash, a kill -9) is stale, and broken:
 * - its pid does not run on this host any more, or
 * - it is older than LOCK_STALE_MS whoever holds it (a hung or foreign-host owner: no change takes
 *   that long), or it is unreadable (a crash between creating and filling it) and older than that.
 * Breaking renames the lock to a name of our own first, then checks that what was renamed is the
 * lock judged stale (its nonce): another process may have broken it and taken a fresh one meanwhile,
 * which is then put back, never removed.
 *
 * A lock that stays held past the wait (LOCK_WAIT_MS) is a FileLockError, never an endless wait.
 */
import { randomBytes } from "node:crypto";
import {
  closeSync,
  fsyncSync,
  linkSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
} from "node:fs";
import os from "node:os";
import path from "node:path";

/** Past this age a lock is stale whatever its pid says (a change holds it for milliseconds). */
export const LOCK_STALE_MS = 10_000;
/** How long a change waits for another process's lock before it gives up. */
export const LOCK_WAIT_MS = 2_000;

export class FileLockError extends Error {
  override readonly name = "FileLockError";
}

export interface LockOptions {
  readonly waitMs?: number;
  readonly staleMs?: number;
}

interface LockOwner {
  readonly pid: number;
  readonly host: string;
  readonly nonce: string;
}

/** Where the lock of `file` is. */
export function lockFileOf(file: string): string {
  return `${file}.lock`;
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));
/** Waits synchronously (the stores are synchronous; a wait here lasts milliseconds). */
function pause(ms: number): void {
  Atomics.wait(sleeper, 0, 0, ms);
}

function readOwner(lock: string): LockOwner | null {
  try {
    const owner = JSON.parse(readFileSync(lock, "utf8")) as Partial<LockOwner>;
    if (typeof owner.pid !== "number" || typeof owner.host !== "string" || typeof owner.nonce !== "string")
      return null;
    return { pid: owner.pid, host: owner.host, nonce: owner.nonce };
  } catch {
    return null;
  }
}

function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it runs, as another user.
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** True when the lock (as read now) was left by a process that will never remove it. */
function isStale(lock: string, owner: LockOwner | null, staleMs: number): boolean {
  let age: number;
  try {
    age = Date.now() - statSync(lock).mtimeMs;
  } catch {
    return false; // gone already: try to take it again
  }
  if (age > staleMs) return true;
  return owner !== null && owner.host === os.hostname() && owner.pid !== process.pid && !running(owner.pid);
}

/** Removes a stale lock unless another process replaced it meanwhile (then it is put back). */
function breakStale(lock: string, owner: LockOwner | null): void {
  const aside = `${lock}.${randomBytes(6).toString("hex")}.stale`;
  try {
    renameSync(lock, aside);
  } catch {
    return; // someone else broke it first
  }
  const taken = readOwner(aside);
  if (taken !== null && taken.nonce !== owner?.nonce) {
    // A fresh lock, taken after ours was judged stale: give it back (unless yet another one exists).
    try {
      linkSync(aside, lock);
    } catch {
      // a newer lock is there: the process that lost its lock file still finishes its change safely,
      // because its write is atomic; at worst two writers overlap once
    }
  }
  try {
    unlinkSync(aside);
  } catch {
    // already gone
  }
}

/**
 * Runs `change` while holding the lock of `file` (created in the file's folder), and removes the
 * lock afterwards, whatever `change` does. FileLockError when the lock stays held past the wait.
 */
export function withFileLock<T>(file: string, change: () => T, options: LockOptions = {}): T {
  const lock = lockFileOf(file);
  const waitMs = options.waitMs ?? LOCK_WAIT_MS;
  const staleMs = options.staleMs ?? LOCK_STALE_MS;
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const me: LockOwner = { pid: process.pid, host: os.hostname(), nonce: randomBytes(12).toString("hex") };
  const deadline = Date.now() + waitMs;
  let delay = 2;
  for (;;) {
    let fd: number;
    try {
      fd = openSync(lock, "wx", 0o600);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") {
        throw new FileLockError(
          `${lock}: cannot create (${(error as NodeJS.ErrnoException).code ?? "error"})`,
        );
      }
      const owner = readOwner(lock);
      if (isStale(lock, owner, staleMs)) {
        breakStale(lock, owner);
        continue;
      }
      if (Date.now() >= deadline) {
        const who = owner === null ? "another process" : `process ${owner.pid}`;
        throw new FileLockError(`${lock}: held by ${who} for more than ${waitMs} ms`);
      }
      pause(Math.min(delay, Math.max(1, deadline - Date.now())));
      delay = Math.min(50, delay * 2);
      continue;
    }
    try {
      writeSync(fd, JSON.stringify(me));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    break;
  }
  try {
    return change();
  } finally {
    // Only our own lock: if it was broken as stale meanwhile, the newer one is not ours to remove.
    if (readOwner(lock)?.nonce === me.nonce) {
      try {
        unlinkSync(lock);
      } catch {
        // already gone
      }
    }
  }
}

/**
 * Replaces `file` atomically: a temporary file in the same folder (mode 0600), fsynced, renamed over
 * the old one, then the folder fsynced. A crash leaves the old file or the new one, never half of one.
 */
export function writeFileAtomic(file: string, text: string): void {
  const dir = path.dirname(file);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const temporary = path.join(dir, `.${path.basename(file)}.${randomBytes(6).toString("hex")}.tmp`);
  const fd = openSync(temporary, "wx", 0o600);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } catch (error) {
    closeSync(fd);
    unlinkSync(temporary);
    throw error;
  }
  closeSync(fd);
  try {
    renameSync(temporary, file);
  } catch (error) {
    unlinkSync(temporary);
    throw error;
  }
  try {
    const dirFd = openSync(dir, "r");
    try {
      fsyncSync(dirFd);
    } finally {
      closeSync(dirFd);
    }
  } catch {
    // best effort (Windows cannot sync a folder)
  }
}
