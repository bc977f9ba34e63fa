/**
 * The instance record: `<data folder>/instance.json`, written when the daemon listens and removed when
 * it stops, so that `passerelle status` and a second start find the port this user's daemon took
 * (it may be any port of the range). Never trusted alone: the pid must be alive and the port answer.
 */
import { readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { z } from "zod";

const InstanceRecord = z.object({
  pid: z.number().int().positive(),
  port: z.number().int().min(1).max(65535),
  url: z.string().max(200),
  version: z.string().max(40),
});
export type InstanceRecord = z.infer<typeof InstanceRecord>;

export function recordFile(dataDir: string): string {
  return path.join(dataDir, "instance.json");
}

export function writeInstanceRecord(dataDir: string, record: InstanceRecord): void {
  const file = recordFile(dataDir);
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(record)}\n`, { mode: 0o600 });
  renameSync(temporary, file);
}

/** The record, or null when there is none, it is not ours to read, or it is malformed. */
export function readInstanceRecord(dataDir: string): InstanceRecord | null {
  try {
    const parsed = InstanceRecord.safeParse(JSON.parse(readFileSync(recordFile(dataDir), "utf8")));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

/** Removes the record if it is still this process's (a newer daemon may have replaced it). */
export function removeInstanceRecord(dataDir: string, pid = process.pid): void {
  if (readInstanceRecord(dataDir)?.pid !== pid) return;
  rmSync(recordFile(dataDir), { force: true });
}

/** True when a process with this pid exists (ours or another user's). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
