import assert from "node:assert/strict";
import net from "node:net";
import { test } from "node:test";
import { describeHolder, findPortHolder, parseListeners } from "../../src/instance/index.ts";

const HEADER =
  "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode";

test("listening sockets are read with their owner and inode; connections are not listeners", () => {
  const text = [
    HEADER,
    "   0: 0100007F:25F0 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1001        0 4242 1",
    "   1: 0100007F:25F0 0100007F:9C40 01 00000000:00000000 00:00000000 00000000  1001        0 4243 1",
  ].join("\n");
  assert.deepEqual(parseListeners(text), [{ address: "127.0.0.1", port: 9712, uid: 1001, inode: 4242 }]);
  const v6 = [
    HEADER,
    "   0: 00000000000000000000000001000000:25F1 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 77 1",
  ].join("\n");
  assert.deepEqual(parseListeners(v6), [{ address: "::1", port: 9713, uid: 0, inode: 77 }]);
});

test("one line per kind of holder", () => {
  assert.equal(
    describeHolder({ kind: "own-passerelle", port: 9712, pid: 12, version: "0.1.0" }),
    "Passerelle 0.1.0 is already running for this user on port 9712 (pid 12)",
  );
  assert.equal(
    describeHolder({ kind: "other-user", port: 9712, uid: 1001, user: "bob", pid: null }),
    "port 9712 is held by another user's program (user bob, uid 1001)",
  );
  assert.equal(
    describeHolder({ kind: "own-program", port: 9712, pid: 7, command: "python3 -m http.server" }),
    "port 9712 is held by another program of this user: pid 7 (python3 -m http.server)",
  );
  assert.equal(
    describeHolder({ kind: "unknown", port: 9712, health: null }),
    "port 9712 is in use by a program this system does not name",
  );
});

test("a port held by this very process is found, with its pid, as a program that is not Passerelle", async (t) => {
  if (process.platform !== "linux") return t.skip("reads /proc");
  const server = net.createServer((socket) => socket.destroy());
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  try {
    const holder = await findPortHolder(port, process.getuid?.() ?? null, 500);
    assert.equal(holder.kind, "own-program");
    assert.equal(holder.kind === "own-program" ? holder.pid : null, process.pid);
  } finally {
    server.close();
  }
});
