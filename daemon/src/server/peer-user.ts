/**
 * Per-user isolation: which local user owns the other end of a loopback TCP connection. On a shared
 * workstation or a terminal server every user's browser can reach every user's daemon on loopback;
 * the daemon serves only its own user (anchors.md §4.2 rule 11).
 *
 * Linux: the peer's socket is the line of /proc/net/tcp (or tcp6) whose local address is the
 * connection's remote address and whose remote address is ours; its `uid` column is the owner. The
 * kernel fills it; a process cannot forge it. Other systems: not implemented here (docs/security.md
 * says what Windows and macOS offer); the check then answers "unknown" and the connection is served.
 */
import { readFile } from "node:fs/promises";
import { existsSync } from "node:fs";

export interface TcpEndpoints {
  /** The peer (the client's socket). */
  remoteAddress: string;
  remotePort: number;
  /** This server's side. */
  localAddress: string;
  localPort: number;
}

export type PeerUser = { uid: number } | "not found" | "unsupported";

const PROC_FILES = ["/proc/net/tcp", "/proc/net/tcp6"];
/** TCP states of /proc/net/tcp that are not a live connection's socket: TIME_WAIT (06), LISTEN (0A). */
const IGNORED_STATES = new Set(["06", "0A"]);

/** True where this module can tell the owner of a peer socket. */
export function peerUserSupported(platform: NodeJS.Platform = process.platform): boolean {
  return platform === "linux" && existsSync(PROC_FILES[0]!);
}

/** An address as /proc/net/tcp{,6} writes it, decoded to the text form Node uses ("127.0.0.1", "::1"). */
export function decodeProcAddress(hex: string, littleEndian = true): string | null {
  if (hex.length === 8) {
    const bytes = Buffer.from(hex, "hex");
    if (littleEndian) bytes.reverse();
    return [...bytes].join(".");
  }
  if (hex.length !== 32) return null;
  // Four 32-bit words, each in the host's byte order.
  const bytes = Buffer.alloc(16);
  for (let word = 0; word < 4; word++) {
    const chunk = Buffer.from(hex.slice(word * 8, word * 8 + 8), "hex");
    if (littleEndian) chunk.reverse();
    chunk.copy(bytes, word * 4);
  }
  if (bytes.subarray(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff) {
    return [...bytes.subarray(12)].join("."); // ::ffff:a.b.c.d, written as Node writes a v4 peer
  }
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(bytes.readUInt16BE(i).toString(16));
  return compressIpv6(groups);
}

function compressIpv6(groups: string[]): string {
  let best = -1;
  let bestLength = 0;
  for (let i = 0; i < groups.length;) {
    if (groups[i] !== "0") {
      i++;
      continue;
    }
    let j = i;
    while (j < groups.length && groups[j] === "0") j++;
    if (j - i > bestLength && j - i > 1) {
      best = i;
      bestLength = j - i;
    }
    i = j;
  }
  if (best < 0) return groups.join(":");
  return `${groups.slice(0, best).join(":")}::${groups.slice(best + bestLength).join(":")}`;
}

/** Node writes a v4 peer of a dual-stack socket as ::ffff:a.b.c.d: compare the plain form. */
function plain(address: string): string {
  return address.startsWith("::ffff:") && address.includes(".") ? address.slice(7) : address;
}

/** The owner uid of the peer socket in the text of /proc/net/tcp or tcp6, or null. */
export function findPeerUid(procText: string, endpoints: TcpEndpoints, littleEndian = true): number | null {
  const wantedPeer = plain(endpoints.remoteAddress);
  const wantedLocal = plain(endpoints.localAddress);
  for (const line of procText.split("\n").slice(1)) {
    const fields = line.trim().split(/\s+/);
    if (fields.length < 8) continue;
    const [localHex, remoteHex] = [fields[1]!, fields[2]!];
    const state = fields[3]!;
    if (IGNORED_STATES.has(state)) continue;
    const [localAddressHex, localPortHex] = localHex.split(":");
    const [remoteAddressHex, remotePortHex] = remoteHex.split(":");
    if (!localAddressHex || !localPortHex || !remoteAddressHex || !remotePortHex) continue;
    // The peer's own socket: its local end is our remote end, and the other way round.
    if (parseInt(localPortHex, 16) !== endpoints.remotePort) continue;
    if (parseInt(remotePortHex, 16) !== endpoints.localPort) continue;
    if (decodeProcAddress(localAddressHex, littleEndian) !== wantedPeer) continue;
    if (decodeProcAddress(remoteAddressHex, littleEndian) !== wantedLocal) continue;
    const uid = Number(fields[7]);
    if (Number.isInteger(uid)) return uid;
  }
  return null;
}

/** Looks the peer up in /proc/net/tcp and /proc/net/tcp6. */
export async function peerUser(endpoints: TcpEndpoints): Promise<PeerUser> {
  if (!peerUserSupported()) return "unsupported";
  const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
  for (const file of PROC_FILES) {
    let text: string;
    try {
      text = await readFile(file, "latin1");
    } catch {
      continue; // no IPv6 on this host
    }
    const uid = findPeerUid(text, endpoints, littleEndian);
    if (uid !== null) return { uid };
  }
  return "not found";
}
