/**
 * The grants the user gave on the consent page, one file per user: `<data dir>/access/grants.json`,
 * beside the audit trail (`<data dir>/audit/`). Written atomically (a temporary file in the same
 * folder, fsynced, renamed over the old one, mode 0600), so a crash leaves the old file or the new
 * one, never half of one. Validated on every read: a damaged or hand-edited file is a
 * GrantStoreError with one line saying what is wrong, never a crash and never a guess.
 *
 * Only origins are stored (with the app's own name and the time): no personal data.
 */
import { randomBytes } from "node:crypto";
import {
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  unlinkSync,
  writeSync,
} from "node:fs";
import path from "node:path";
import { z } from "zod";
import { normalizeOrigin } from "../config/config.ts";

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
  const dir = path.dirname(file);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const temporary = path.join(dir, `.${GRANTS_FILE_NAME}.${randomBytes(6).toString("hex")}.tmp`);
  const text = `${JSON.stringify({ version: 1, grants }, null, 2)}\n`;
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

/**
 * The store of one data folder: each change reads the file again first (the command line may have
 * changed it while the daemon ran), then writes it whole.
 */
export class GrantStore {
  readonly file: string;

  constructor(dataDir: string) {
    this.file = grantsFile(dataDir);
  }

  list(): Grant[] {
    return readGrants(this.file);
  }

  /** Adds or renews the grant of `grant.origin`; returns the whole list as written. */
  add(grant: Grant): Grant[] {
    const grants = [...this.list().filter((g) => g.origin !== grant.origin), grant];
    writeGrants(this.file, grants);
    return grants;
  }

  /** Removes the grant of `origin`; false when there was none (nothing written). */
  remove(origin: string): boolean {
    const grants = this.list();
    const kept = grants.filter((g) => g.origin !== origin);
    if (kept.length === grants.length) return false;
    writeGrants(this.file, kept);
    return true;
  }
}
