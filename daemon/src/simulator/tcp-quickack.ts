/**
 * TCP_QUICKACK for the vpcd bridge (Linux only).
 *
 * Debian's vpcd 3.3 writes the 2-byte length and the APDU as two segments without TCP_NODELAY.
 * Nagle on vpcd's side then holds the second segment until our ACK for the first, and Linux
 * delays that ACK by ~40 ms: every APDU costs 44-48 ms (measured, see docs/pcsc.md). Node exposes
 * setNoDelay but not TCP_QUICKACK, and Linux clears QUICKACK again after a while, so the bridge
 * re-arms it with setsockopt(2) through koffi on the socket's file descriptor after every read.
 */
import koffi, { type LibraryHandle } from "koffi";
import type { Socket } from "node:net";

const IPPROTO_TCP = 6;
const TCP_QUICKACK = 12;

type SetSockOpt = (fd: number, level: number, option: number, value: Int32Array, length: number) => number;

let setsockopt: SetSockOpt | null | undefined;

function loadSetSockOpt(): SetSockOpt | null {
  if (setsockopt !== undefined) return setsockopt;
  setsockopt = null;
  if (process.platform !== "linux") return null;
  try {
    const libc: LibraryHandle = koffi.load("libc.so.6");
    const fn = libc.func("setsockopt", "int", ["int", "int", "int", "const int32_t *", "uint32_t"]);
    setsockopt = (fd, level, option, value, length) => fn(fd, level, option, value, length) as number;
  } catch {
    setsockopt = null;
  }
  return setsockopt;
}

/**
 * The OS file descriptor of a connected net.Socket. Node keeps it on the libuv handle
 * (`socket._handle.fd`, Unix only; not public API, hence the defensive read).
 */
export function socketFd(socket: Socket): number | undefined {
  const handle: unknown = Reflect.get(socket, "_handle");
  if (typeof handle !== "object" || handle === null) return undefined;
  const fd: unknown = Reflect.get(handle, "fd");
  return typeof fd === "number" && fd >= 0 ? fd : undefined;
}

const ONE = new Int32Array([1]);

/** Arms TCP_QUICKACK on `socket`. Returns false where that is not possible (not Linux, no fd). */
export function armQuickAck(socket: Socket): boolean {
  const fn = loadSetSockOpt();
  const fd = socketFd(socket);
  if (fn === null || fd === undefined) return false;
  return fn(fd, IPPROTO_TCP, TCP_QUICKACK, ONE, 4) === 0;
}
