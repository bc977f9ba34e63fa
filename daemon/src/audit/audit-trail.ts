/**
 * The audit trail: one JSON line per INSi call and per CPS PIN verification, written and fsynced
 * BEFORE the caller gets its result, so that a crash never loses the record of a call that answered.
 *
 * Who, what, when, nothing more: time, origin, method, the CPS idNat as an HMAC-SHA256 with a
 * per-installation salt (the same professional gives the same hash on one machine, and nothing
 * outside it), the INSi MessageID, the CR code or the error reason (and siram fault code), the
 * duration. Never a name, a NIR, a birth date, a PIN.
 *
 * Concurrent records are written in one batch and synced once (group commit): each caller still waits
 * for the sync that covers its own line. Files rotate by size into dated archives,
 * audit-<UTC time>.jsonl, which the daemon never deletes: the trail is never lost to rotation,
 * however fast records come. Retention is the administrator's (`passerelle audit prune`).
 */
import { createHmac, randomBytes } from "node:crypto";
import { mkdir, open, readFile, readdir, rename, stat, unlink, type FileHandle } from "node:fs/promises";
import { join } from "node:path";
import { PasserelleError } from "../errors.ts";

/** The trail lives in <data dir>/audit. */
export const AUDIT_DIR_NAME = "audit";
export const AUDIT_FILE_NAME = "audit.jsonl";
export const AUDIT_SALT_FILE_NAME = "audit-salt";
export const AUDIT_SALT_BYTES = 32;
/** Rotate beyond this size: ~50 000 records of ~200 bytes. */
export const DEFAULT_AUDIT_MAX_FILE_BYTES = 10 * 1024 * 1024;
/** A rotated file: audit-20261201T095601123Z.jsonl (the rotation time), -2, -3… if taken. */
const ARCHIVE_PATTERN = /^audit-(\d{8}T\d{9}Z)(?:-(\d+))?\.jsonl$/;
/** Files of versions before dated archives (audit.jsonl.1 is the newest); read, never written. */
const LEGACY_PATTERN = /^audit\.jsonl\.(\d+)$/;
/** Bounds on what a caller may put in a field (the fields are identifiers, never free text). */
const MAX_FIELD_LENGTH = 200;
const FILE_MODE = 0o600;

/** `access`: a grant, denial, expiry or revocation of an origin (consent page, command line). */
export type AuditKind = "insi" | "pin" | "access";

/** What a caller reports. `idNat` is hashed before it is written. */
export interface AuditEvent {
  readonly kind: AuditKind;
  readonly origin: string;
  readonly method: string;
  readonly idNat?: string | undefined;
  readonly messageId?: string | undefined;
  readonly cr?: string | undefined;
  readonly reason?: string | undefined;
  readonly faultCode?: string | undefined;
  readonly durationMs: number;
  readonly time?: Date | undefined;
}

/** What is written: one line of JSON. */
export interface AuditRecord {
  readonly time: string;
  readonly kind: AuditKind;
  readonly origin: string;
  readonly method: string;
  readonly idNatHash?: string;
  readonly messageId?: string;
  readonly cr?: string;
  readonly reason?: string;
  readonly faultCode?: string;
  readonly durationMs: number;
  /** Written by `passerelle start --simulate`: virtual cards and the INSi simulator, no real patient. */
  readonly simulation?: true;
}

export interface AuditSink {
  /** Resolves once the record is on disk (fsynced). */
  record(event: AuditEvent): Promise<void>;
}

export interface AuditTrailOptions {
  /** Folder of the trail and its salt (e.g. <data dir>/audit). */
  readonly dir: string;
  readonly maxFileBytes?: number;
  /** Mark every record `simulation: true` (the daemon runs with --simulate). */
  readonly simulation?: boolean;
}

export function hashIdNat(idNat: string, salt: Uint8Array): string {
  return createHmac("sha256", salt).update(idNat, "utf8").digest("hex");
}

/** The per-installation salt, created once (0600) and read afterwards. */
export async function loadOrCreateSalt(dir: string): Promise<Buffer> {
  const path = join(dir, AUDIT_SALT_FILE_NAME);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  try {
    const handle = await open(path, "wx", FILE_MODE);
    const salt = randomBytes(AUDIT_SALT_BYTES);
    try {
      await handle.writeFile(salt.toString("hex"));
      await handle.sync();
    } finally {
      await handle.close();
    }
    return salt;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
  }
  const salt = Buffer.from((await readFile(path, "utf8")).trim(), "hex");
  if (salt.length !== AUDIT_SALT_BYTES) throw new Error(`audit salt file ${path} is damaged`);
  return salt;
}

function bounded(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  return value.length > MAX_FIELD_LENGTH ? value.slice(0, MAX_FIELD_LENGTH) : value;
}

/** The line for an event: fields in a fixed order, absent ones left out. */
export function auditRecord(event: AuditEvent, salt: Uint8Array, simulation = false): AuditRecord {
  const record: Record<string, unknown> = {
    time: (event.time ?? new Date()).toISOString(),
    kind: event.kind,
    origin: bounded(event.origin),
    method: bounded(event.method),
    idNatHash: event.idNat === undefined ? undefined : hashIdNat(event.idNat, salt),
    messageId: bounded(event.messageId),
    cr: bounded(event.cr),
    reason: bounded(event.reason),
    faultCode: bounded(event.faultCode),
    durationMs: Math.max(0, Math.round(event.durationMs)),
    simulation: simulation ? true : undefined,
  };
  for (const key of Object.keys(record)) if (record[key] === undefined) delete record[key];
  return record as unknown as AuditRecord;
}

/** A write failure of the trail as the protocol's AUDIT_UNAVAILABLE, with the system code only. */
function auditUnavailable(error: unknown): PasserelleError {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return new PasserelleError(
    "AUDIT_UNAVAILABLE",
    `the audit trail cannot be written${typeof code === "string" ? ` (${code})` : ""}`,
    typeof code === "string" ? { code } : {},
    error,
  );
}

interface Pending {
  readonly line: string;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

async function syncDirectory(dir: string): Promise<void> {
  // Makes a rename durable; not supported on every platform (Windows), where it is skipped.
  let handle: FileHandle | undefined;
  try {
    handle = await open(dir, "r");
    await handle.sync();
  } catch {
    // best effort
  } finally {
    await handle?.close();
  }
}

export class AuditTrail implements AuditSink {
  readonly #dir: string;
  readonly #salt: Buffer;
  readonly #maxFileBytes: number;
  readonly #simulation: boolean;
  #handle: FileHandle;
  #size: number;
  #queue: Pending[] = [];
  #flushing: Promise<void> | undefined;
  #closed = false;
  /** A failed write may have left part of a line: the next batch starts on a line of its own. */
  #torn = false;

  private constructor(options: Required<AuditTrailOptions>, salt: Buffer, handle: FileHandle, size: number) {
    this.#dir = options.dir;
    this.#salt = salt;
    this.#maxFileBytes = options.maxFileBytes;
    this.#simulation = options.simulation;
    this.#handle = handle;
    this.#size = size;
  }

  static async open(options: AuditTrailOptions): Promise<AuditTrail> {
    const full = {
      dir: options.dir,
      maxFileBytes: options.maxFileBytes ?? DEFAULT_AUDIT_MAX_FILE_BYTES,
      simulation: options.simulation ?? false,
    };
    const salt = await loadOrCreateSalt(full.dir);
    const path = join(full.dir, AUDIT_FILE_NAME);
    const handle = await open(path, "a", FILE_MODE);
    const { size } = await handle.stat();
    return new AuditTrail(full, salt, handle, size);
  }

  get file(): string {
    return join(this.#dir, AUDIT_FILE_NAME);
  }

  record(event: AuditEvent): Promise<void> {
    if (this.#closed)
      return Promise.reject(new PasserelleError("AUDIT_UNAVAILABLE", "the audit trail is closed"));
    const line = JSON.stringify(auditRecord(event, this.#salt, this.#simulation)) + "\n";
    return new Promise((resolve, reject) => {
      this.#queue.push({ line, resolve, reject });
      // #flushing is cleared by #flush itself, synchronously with its last look at the queue, so a
      // record pushed after that look always starts a new flush.
      this.#flushing ??= this.#flush();
    });
  }

  async #flush(): Promise<void> {
    // Let records made in the same tick join the first batch.
    await Promise.resolve();
    for (;;) {
      if (this.#queue.length === 0) {
        this.#flushing = undefined;
        return;
      }
      const batch = this.#queue;
      this.#queue = [];
      try {
        const data = Buffer.from((this.#torn ? "\n" : "") + batch.map((p) => p.line).join(""), "utf8");
        if (this.#size > 0 && this.#size + data.length > this.#maxFileBytes) await this.#rotate();
        // A nearly full disk may take part of the batch and say so only through bytesWritten (no
        // error until the next write): keep writing the rest, so that the ENOSPC surfaces here and
        // no caller is answered on a half-written line.
        for (let offset = 0; offset < data.length;) {
          const { bytesWritten } = await this.#handle.write(data, offset, data.length - offset);
          if (bytesWritten <= 0) throw Object.assign(new Error("the disk took no bytes"), { code: "ENOSPC" });
          offset += bytesWritten;
        }
        await this.#handle.datasync();
        this.#size += data.length;
        this.#torn = false;
        for (const pending of batch) pending.resolve();
      } catch (error) {
        // Disk full, I/O error, a file gone read-only: the callers fail, typed, and answer nothing
        // unaudited. The next batch tries again (space may have been freed meanwhile).
        this.#torn = true;
        const failure = auditUnavailable(error);
        for (const pending of batch) pending.reject(failure);
      }
    }
  }

  /**
   * The current file becomes a dated archive and a new one is started. Whatever fails, no record is
   * lost: a failed rename leaves everything as it was (this batch fails, typed, and the next one
   * tries again); a new file that cannot be created puts the archive back.
   */
  async #rotate(): Promise<void> {
    const base = join(this.#dir, AUDIT_FILE_NAME);
    const archive = await freeArchiveName(this.#dir, new Date());
    await rename(base, archive);
    let next: FileHandle;
    try {
      next = await open(base, "a", FILE_MODE);
    } catch (error) {
      await rename(archive, base).catch(() => undefined);
      throw error;
    }
    const previous = this.#handle;
    this.#handle = next;
    this.#size = 0;
    await previous.close().catch(() => undefined);
    await syncDirectory(this.#dir);
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#flushing;
    await this.#handle.close();
  }
}

/** audit-<time>.jsonl for `at`, with -2, -3… when a file of that name exists already. */
async function freeArchiveName(dir: string, at: Date): Promise<string> {
  const stamp = at.toISOString().replace(/[-:.]/g, "");
  for (let n = 1; ; n += 1) {
    const name = join(dir, `audit-${stamp}${n === 1 ? "" : `-${n}`}.jsonl`);
    try {
      await stat(name);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return name;
      throw error;
    }
  }
}

/** The trail's rotated files, newest first (dated archives, then files of older versions). */
export async function auditArchives(dir: string): Promise<Array<{ file: string; rotatedAt: Date | null }>> {
  const names = await readdir(dir).catch((error: NodeJS.ErrnoException) => {
    if (error.code === "ENOENT") return [] as string[];
    throw error;
  });
  const dated: Array<{ name: string; stamp: string; n: number }> = [];
  const legacy: Array<{ name: string; n: number }> = [];
  for (const name of names) {
    const archive = ARCHIVE_PATTERN.exec(name);
    if (archive) dated.push({ name, stamp: archive[1]!, n: Number(archive[2] ?? 1) });
    const old = LEGACY_PATTERN.exec(name);
    if (old) legacy.push({ name, n: Number(old[1]) });
  }
  dated.sort((a, b) => (a.stamp === b.stamp ? b.n - a.n : a.stamp < b.stamp ? 1 : -1));
  legacy.sort((a, b) => a.n - b.n);
  return [
    ...dated.map(({ name, stamp }) => ({ file: join(dir, name), rotatedAt: parseStamp(stamp) })),
    ...legacy.map(({ name }) => ({ file: join(dir, name), rotatedAt: null })),
  ];
}

function parseStamp(stamp: string): Date {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})(\d{3})Z$/.exec(stamp)!;
  return new Date(Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!, +m[7]!));
}

/**
 * `passerelle audit prune`: deletes the archives rotated before `before` — the administrator's
 * retention, never the daemon's. The current file is never touched. Returns the files deleted.
 */
export async function pruneAuditArchives(dir: string, before: Date): Promise<string[]> {
  const deleted: string[] = [];
  for (const { file, rotatedAt } of await auditArchives(dir)) {
    const at = rotatedAt ?? (await stat(file)).mtime;
    if (at.getTime() >= before.getTime()) continue;
    await unlink(file);
    deleted.push(file);
  }
  return deleted;
}

export interface AuditTail {
  readonly records: AuditRecord[];
  /** Lines that are not JSON records (a line torn by a crash during its write). */
  readonly skippedLines: number;
}

/** The last `count` records, across rotated files, oldest first (reads newest files first, stops early). */
export async function readAuditTail(dir: string, count: number): Promise<AuditTail> {
  const base = join(dir, AUDIT_FILE_NAME);
  const newestFirst = [base, ...(await auditArchives(dir)).map((archive) => archive.file)];
  const chunks: AuditRecord[][] = [];
  let total = 0;
  let skippedLines = 0;
  for (const file of newestFirst) {
    if (total >= count) break;
    const text = await readFile(file, "utf8").catch((error: NodeJS.ErrnoException) => {
      if (error.code === "ENOENT") return undefined;
      throw error;
    });
    if (text === undefined) continue;
    const records: AuditRecord[] = [];
    for (const line of text.split("\n")) {
      if (line === "") continue;
      try {
        const parsed: unknown = JSON.parse(line);
        if (typeof parsed === "object" && parsed !== null && "time" in parsed && "method" in parsed)
          records.push(parsed as AuditRecord);
        else skippedLines += 1;
      } catch {
        skippedLines += 1;
      }
    }
    chunks.unshift(records);
    total += records.length;
  }
  const records = chunks.flat();
  return { records: count >= records.length ? records : records.slice(records.length - count), skippedLines };
}
