/**
 * The denials the user gave on the consent page, kept across a restart of the daemon:
 * `<data dir>/access/denials.json`, beside the grants. A denial stands DENIAL_COOLDOWN_MS (the
 * app's requests are answered `denied` without a page meanwhile); without this file a restart would
 * forget it, and the site could open a consent page again at once.
 *
 * - Bounded: at most MAX_DENIALS entries (the oldest are dropped first), a file under 256 KiB.
 * - Expiring: every read drops the entries whose time is over (and those dated in the future, which
 *   only a changed clock or a hand edit can make: a denial never lasts longer than its cooldown);
 *   every write keeps only the standing ones.
 * - Checked on read (zod): a damaged file is a DenialStoreError with one line naming the file; the
 *   daemon logs it once and remembers nothing from it, and never writes over it (as for grants).
 * - Written atomically under the same kind of lock as the grants (file-lock.ts).
 *
 * Only origins and times are stored: no personal data.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { z } from "zod";
import { normalizeOrigin } from "../config/config.ts";
import { FileLockError, withFileLock, writeFileAtomic } from "./file-lock.ts";
import { ACCESS_DIR_NAME } from "./grant-store.ts";

export const DENIALS_FILE_NAME = "denials.json";
export const MAX_DENIALS = 1000;
const MAX_FILE_BYTES = 256 * 1024;
/** A denial dated later than this past the clock is not trusted (dropped on read). */
const FUTURE_SLACK_MS = 60_000;

export class DenialStoreError extends Error {
  override readonly name = "DenialStoreError";
}

export interface Denial {
  readonly origin: string;
  /** ISO 8601, when the user denied it. */
  readonly deniedAt: string;
}

const DenialSchema = z.strictObject({
  origin: z
    .string()
    .refine((value) => normalizeOrigin(value) === value, "not an origin (scheme://host[:port])"),
  deniedAt: z.string().datetime(),
});
const DenialsFile = z.strictObject({
  version: z.literal(1),
  denials: z.array(DenialSchema).max(MAX_DENIALS),
});

export function denialsFile(dataDir: string): string {
  return path.join(dataDir, ACCESS_DIR_NAME, DENIALS_FILE_NAME);
}

export class DenialStore {
  readonly file: string;
  readonly #cooldownMs: number;
  readonly #now: () => number;

  constructor(dataDir: string, options: { cooldownMs: number; now?: () => number }) {
    this.file = denialsFile(dataDir);
    this.#cooldownMs = options.cooldownMs;
    this.#now = options.now ?? Date.now;
  }

  /** The denials that still stand (an absent file is none); DenialStoreError for a damaged file. */
  list(): Denial[] {
    return this.#standing(this.#read());
  }

  /** Remembers (or renews) the denial of `origin`, dropping the oldest past MAX_DENIALS. */
  add(origin: string): void {
    this.#change((denials) => {
      const kept = denials.filter((denial) => denial.origin !== origin);
      kept.push({ origin, deniedAt: new Date(this.#now()).toISOString() });
      return kept.slice(-MAX_DENIALS);
    });
  }

  #standing(denials: readonly Denial[]): Denial[] {
    const now = this.#now();
    return denials.filter((denial) => {
      const at = Date.parse(denial.deniedAt);
      return now - at < this.#cooldownMs && at <= now + FUTURE_SLACK_MS;
    });
  }

  #change(edit: (denials: Denial[]) => Denial[] | null): void {
    try {
      withFileLock(this.file, () => {
        const next = edit(this.list());
        if (next === null) return;
        writeFileAtomic(this.file, `${JSON.stringify({ version: 1, denials: next }, null, 2)}\n`);
      });
    } catch (error) {
      if (error instanceof FileLockError) throw new DenialStoreError(error.message);
      throw error;
    }
  }

  #read(): Denial[] {
    let text: string;
    try {
      const bytes = readFileSync(this.file);
      if (bytes.length > MAX_FILE_BYTES)
        throw new DenialStoreError(`${this.file}: too big to be a denials file`);
      text = bytes.toString("utf8");
    } catch (error) {
      if (error instanceof DenialStoreError) throw error;
      const code = (error as NodeJS.ErrnoException).code;
      if (code === "ENOENT") return [];
      throw new DenialStoreError(`${this.file}: cannot read (${code ?? "error"})`);
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new DenialStoreError(`${this.file}: damaged (not valid JSON)`);
    }
    const parsed = DenialsFile.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const where = issue && issue.path.length > 0 ? issue.path.join(".") : "(root)";
      throw new DenialStoreError(`${this.file}: damaged (${where}: ${issue?.message ?? "invalid"})`);
    }
    return parsed.data.denials;
  }
}
