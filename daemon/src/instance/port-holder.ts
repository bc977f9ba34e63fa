/**
 * Who holds a TCP port on this machine, told in one line when the daemon cannot take it.
 *
 * Linux: the listening socket's line in /proc/net/tcp{,6} (state 0A) gives its owner uid and inode;
 * the process whose /proc/PID/fd has `socket:[inode]` is the holder (readable for our own processes,
 * and for everyone's as root); /proc/PID/cmdline names it. Whether it is a Passerelle is asked of its
 * `GET /health` (a Passerelle answers its own user `{"status":"ok"}`, with its version to its own
 * page's origin). Other systems: only /health can be asked.
 */
import { readdir, readFile, readlink } from "node:fs/promises";
import { existsSync, readFileSync } from "node:fs";
import { decodeProcAddress } from "../server/peer-user.ts";
import { askHealth, type HealthAnswer } from "./health.ts";

const PROC_FILES = ["/proc/net/tcp", "/proc/net/tcp6"];
const LISTEN = "0A";

export interface ListeningSocket {
  readonly address: string;
  readonly port: number;
  readonly uid: number;
  readonly inode: number;
}

/** The listening sockets in the text of /proc/net/tcp or tcp6 (on a little-endian host by default). */
export function parseListeners(procText: string, littleEndian = true): ListeningSocket[] {
  const found: ListeningSocket[] = [];
  for (const line of procText.split("\n").slice(1)) {
    const fields = line.trim().split(/\s+/);
    if (fields.length < 10 || fields[3] !== LISTEN) continue;
    const [addressHex, portHex] = (fields[1] ?? "").split(":");
    if (!addressHex || !portHex) continue;
    const address = decodeProcAddress(addressHex, littleEndian);
    const uid = Number(fields[7]);
    const inode = Number(fields[9]);
    if (address === null || !Number.isInteger(uid) || !Number.isInteger(inode)) continue;
    found.push({ address, port: parseInt(portHex, 16), uid, inode });
  }
  return found;
}

/** Where this module can read the listening sockets' owners. */
export function listenersSupported(): boolean {
  return process.platform === "linux" && existsSync(PROC_FILES[0]!);
}

/** Every listening TCP socket of the machine whose port is in `ports` (empty where unsupported). */
export async function listenersOn(ports: ReadonlySet<number>): Promise<ListeningSocket[]> {
  if (!listenersSupported()) return [];
  const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
  const all: ListeningSocket[] = [];
  for (const file of PROC_FILES) {
    try {
      all.push(...parseListeners(await readFile(file, "latin1"), littleEndian));
    } catch {
      // no IPv6 on this host
    }
  }
  return all.filter((socket) => ports.has(socket.port));
}

/** The processes that have the socket of this inode open (those whose /proc/PID/fd we may read). */
export async function processesWithSocket(inode: number): Promise<number[]> {
  const wanted = `socket:[${inode}]`;
  const pids: number[] = [];
  let entries: string[];
  try {
    entries = await readdir("/proc");
  } catch {
    return pids;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    let fds: string[];
    try {
      fds = await readdir(`/proc/${entry}/fd`);
    } catch {
      continue; // another user's process (not root), or gone
    }
    for (const fd of fds) {
      const target = await readlink(`/proc/${entry}/fd/${fd}`).catch(() => "");
      if (target === wanted) {
        pids.push(Number(entry));
        break;
      }
    }
  }
  return pids;
}

/** A process's command line, one line, bounded (for a message; never logged with personal data). */
export async function commandOf(pid: number): Promise<string | null> {
  try {
    const raw = await readFile(`/proc/${pid}/cmdline`, "latin1");
    const text = raw
      .split("\0")
      .filter(Boolean)
      .join(" ")
      .replace(/[^\x20-\x7e]/g, "?");
    return text.length > 120 ? `${text.slice(0, 117)}...` : text || null;
  } catch {
    return null;
  }
}

/** A user name from /etc/passwd, or null. */
export function userName(uid: number): string | null {
  try {
    for (const line of readFileSync("/etc/passwd", "utf8").split("\n")) {
      const [name, , id] = line.split(":");
      if (name && Number(id) === uid) return name;
    }
  } catch {
    // no /etc/passwd: say the uid only
  }
  return null;
}

export type PortHolder =
  /** A Passerelle of this same user answers there. */
  | { kind: "own-passerelle"; port: number; pid: number | null; version: string | null }
  /** Another program of this user. */
  | { kind: "own-program"; port: number; pid: number | null; command: string | null }
  /** A program of another local user (Passerelle or not: its daemon refuses us, by design). */
  | { kind: "other-user"; port: number; uid: number; user: string | null; pid: number | null }
  /** Nothing tells who (another system, or the socket is gone). */
  | { kind: "unknown"; port: number; health: HealthAnswer | null };

/**
 * Who holds `port`. `ownUid`: the daemon's user (null where the system has no uids). The /health
 * probe is bounded by `timeoutMs`.
 */
export async function findPortHolder(
  port: number,
  ownUid: number | null,
  timeoutMs = 1500,
): Promise<PortHolder> {
  const sockets = await listenersOn(new Set([port]));
  const socket = sockets[0];
  if (!socket || ownUid === null) {
    const health = await askHealth(port, timeoutMs);
    if (health?.passerelle) return { kind: "own-passerelle", port, pid: null, version: health.version };
    return { kind: "unknown", port, health };
  }
  const pid = (await processesWithSocket(socket.inode))[0] ?? null;
  if (socket.uid !== ownUid)
    return { kind: "other-user", port, uid: socket.uid, user: userName(socket.uid), pid };
  const health = await askHealth(port, timeoutMs);
  if (health?.passerelle) return { kind: "own-passerelle", port, pid, version: health.version };
  return { kind: "own-program", port, pid, command: pid === null ? null : await commandOf(pid) };
}

/** The holder in words, for the one line the daemon prints before it exits. */
export function describeHolder(holder: PortHolder): string {
  switch (holder.kind) {
    case "own-passerelle":
      return `Passerelle${holder.version ? ` ${holder.version}` : ""} is already running for this user on port ${holder.port}${holder.pid === null ? "" : ` (pid ${holder.pid})`}`;
    case "own-program":
      return `port ${holder.port} is held by another program of this user${holder.pid === null ? "" : `: pid ${holder.pid}`}${holder.command ? ` (${holder.command})` : ""}`;
    case "other-user": {
      const who = holder.user ? `user ${holder.user}, uid ${holder.uid}` : `uid ${holder.uid}`;
      return `port ${holder.port} is held by another user's program (${who}${holder.pid === null ? "" : `, pid ${holder.pid}`})`;
    }
    case "unknown":
      return `port ${holder.port} is in use by a program this system does not name`;
  }
}
