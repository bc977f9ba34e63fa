/**
 * One instance per user, and who holds a port: what `passerelle start` checks before it listens and
 * says when it cannot (docs/admin-guide.md, "One instance per user").
 */
import net from "node:net";
import { askHealth } from "./health.ts";
import {
  findPortHolder,
  describeHolder,
  listenersOn,
  listenersSupported,
  type PortHolder,
} from "./port-holder.ts";
import { processAlive, readInstanceRecord } from "./record.ts";

export { askHealth, type HealthAnswer } from "./health.ts";
export { describeHolder, findPortHolder, parseListeners, type PortHolder } from "./port-holder.ts";
export {
  processAlive,
  readInstanceRecord,
  removeInstanceRecord,
  writeInstanceRecord,
  type InstanceRecord,
} from "./record.ts";

export function ownUid(): number | null {
  return typeof process.getuid === "function" ? process.getuid() : null;
}

/**
 * This user's Passerelle already listening on one of `ports`, or null. Linux: this user's listening
 * sockets on those ports that answer /health as a Passerelle. Elsewhere: the instance record of
 * `dataDir` when its process is alive and its port answers.
 */
export async function findOwnInstance(
  ports: readonly number[],
  dataDir: string,
  uid = ownUid(),
): Promise<Extract<PortHolder, { kind: "own-passerelle" }> | null> {
  if (listenersSupported() && uid !== null) {
    const mine = (await listenersOn(new Set(ports))).filter((socket) => socket.uid === uid);
    for (const port of [...new Set(mine.map((socket) => socket.port))].sort((a, b) => a - b)) {
      const holder = await findPortHolder(port, uid);
      if (holder.kind === "own-passerelle") return holder;
    }
    return null;
  }
  const record = readInstanceRecord(dataDir);
  if (!record || !ports.includes(record.port) || !processAlive(record.pid)) return null;
  const health = await askHealth(record.port);
  return health?.passerelle
    ? { kind: "own-passerelle", port: record.port, pid: record.pid, version: health.version }
    : null;
}

/** One line for ports that were all taken: each one's holder. */
export async function explainPortsInUse(
  ports: readonly number[],
  uid = ownUid(),
): Promise<{ line: string; ownPasserelle: boolean }> {
  const holders = await Promise.all(ports.map((port) => findPortHolder(port, uid)));
  const own = holders.find((holder) => holder.kind === "own-passerelle");
  if (own) return { line: describeHolder(own), ownPasserelle: true };
  if (holders.length === 1) return { line: describeHolder(holders[0]!), ownPasserelle: false };
  const range = `${ports[0]}-${ports[ports.length - 1]}`;
  return {
    line: `no free port in ${range}: ${holders.map((holder) => describeHolder(holder).replace(/^port /, "")).join("; ")}`,
    ownPasserelle: false,
  };
}

/** Whether 127.0.0.1:`port` can be bound now (bound and released at once; the real bind decides). */
export function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once("error", () => resolve(false));
    server.listen({ port, host: "127.0.0.1", exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** The ports of `ports` that look free (port 0 always does). */
export async function freePorts(ports: readonly number[]): Promise<number[]> {
  const free: number[] = [];
  for (const port of ports) if (port === 0 || (await portFree(port))) free.push(port);
  return free;
}
