/**
 * The grants the user gave on the consent page, one file per user: `<data dir>/access/grants.json`,
 * beside the audit trail (`<data dir>/audit/`). Written atomically (a temporary file in the same
 * folder, fsynced, renamed over the old one, mode 0600), so a crash leaves the old file or the new
 * one, never half of one. Changed under a lock file (file-lock.ts), so two processes never lose
 * each other's change. Validated on every read: a damaged or hand-edited file is a GrantStoreError
 * with one line saying what is wrong, never a crash and never a guess.
 *
 * Only origins are stored (with the app's own name and the time): no personal data.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { z } from "zod";
import { normalizeOrigin } from "../config/config.ts";
import { FileLockError, withFileLock, writeFileAtomic, type LockOptions } from "./file-lock.ts";

export const ACCESS_DIR_NAME = "access";
export const GRANTS_FILE_NAME = "grants.json";
/** Bounds on what is read back: a grants file is small; anything bigger is not ours. */
export const MAX_GRANTS = 1000;
const MAX_FILE_BYTES = 1024 * 1024;

export class GrantStoreError extends Error {
  override readonly name = "GrantStoreError";
}

export interface Grant {
  readonly origin: string;
  readonly appName?: string;
  /** ISO 8601, when the user allowed it. */
  readonly grantedAt: string;
}

const GrantSchema = z.strictObject({
  origin: z
    .string()
    .refine((value) => normalizeOrigin(value) === value, "not an origin (scheme://host[:port])"),
  appName: z.string().min(1).max(100).optional(),
  grantedAt: z.string().datetime(),
});
const GrantsFile = z.strictObject({
  version: z.literal(1),
  grants: z.array(GrantSchema).max(MAX_GRANTS),
});

/** Where a data folder keeps its grants. */
export function grantsFile(dataDir: string): string {
  return path.join(dataDir, ACCESS_DIR_NAME, GRANTS_FILE_NAME);
}

/** Reads and validates; an absent file is no grant. */
export function readGrants(file: string): Grant[] {
  let text: string;
  try {
    const bytes = readFileSync(file);
    if (bytes.length > MAX_FILE_BYTES) throw new GrantStoreError(`${file}: too big to be a grants file`);
    text = bytes.toString("utf8");
  } catch (error) {
    if (error instanceof GrantStoreError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return [];
    throw new GrantStoreError(`${file}: cannot read (${code ?? "error"})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    // Never echo the file's bytes: one line, no control characters from a damaged file.
    throw new GrantStoreError(`${file}: damaged (not valid JSON)`);
  }
  const parsed = GrantsFile.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue && issue.path.length > 0 ? issue.path.join(".") : "(root)";
    throw new GrantStoreError(`${file}: damaged (${where}: ${issue?.message ?? "invalid"})`);
  }
  const seen = new Set<string>();
  for (const grant of parsed.data.grants) {
    if (seen.has(grant.origin)) throw new GrantStoreError(`${file}: damaged (${grant.origin} listed twice)`);
    seen.add(grant.origin);
  }
  return parsed.data.grants as Grant[];
}

/** Replaces the file atomically (temporary file, fsync, rename, fsync of the folder). */
export function writeGrants(file: string, grants: readonly Grant[]): void {
  if (grants.length > MAX_GRANTS) throw new GrantStoreError(`${file}: more than ${MAX_GRANTS} grants`);
  writeFileAtomic(file, `${JSON.stringify({ version: 1, grants }, null, 2)}\n`);
}

/**
 * The store of one data folder: each change reads the file again first (the command line may have
 * changed it while the daemon ran), then writes it whole — both under the file's lock
 * (`grants.json.lock`, file-lock.ts), so that two processes changing it at once (the daemon and
 * `passerelle access revoke`) never lose each other's change. Reading needs no lock: every write
 * is an atomic rename. A lock held too long by another process is a GrantStoreError.
 */
export class GrantStore {
  readonly file: string;
  readonly #lock: LockOptions;

  constructor(dataDir: string, lock: LockOptions = {}) {
    this.file = grantsFile(dataDir);
    this.#lock = lock;
  }

  list(): Grant[] {
    return readGrants(this.file);
  }

  /** Adds or renews the grant of `grant.origin`; returns the whole list as written. */
  add(grant: Grant): Grant[] {
    return this.#change((grants) => [...grants.filter((g) => g.origin !== grant.origin), grant]) ?? [];
  }

  /** Removes the grant of `origin`; false when there was none (nothing written). */
  remove(origin: string): boolean {
    return (
      this.#change((grants) => {
        const kept = grants.filter((g) => g.origin !== origin);
        return kept.length === grants.length ? null : kept;
      }) !== null
    );
  }

  /** Read, change, write under the lock; `edit` returns null for "nothing to write". */
  #change(edit: (grants: Grant[]) => Grant[] | null): Grant[] | null {
    try {
      return withFileLock(
        this.file,
        () => {
          const next = edit(readGrants(this.file));
          if (next !== null) writeGrants(this.file, next);
          return next;
        },
        this.#lock,
      );
    } catch (error) {
      if (error instanceof FileLockError) throw new GrantStoreError(error.message);
      throw error;
    }
  }
}
