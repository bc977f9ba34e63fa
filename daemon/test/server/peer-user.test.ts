import assert from "node:assert/strict";
import net from "node:net";
import { test } from "node:test";
import { decodeProcAddress, findPeerUid, peerUser, peerUserSupported } from "../../src/server/peer-user.ts";

const HEADER =
  "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode";

test("addresses as /proc/net/tcp{,6} write them (little-endian words)", () => {
  assert.equal(decodeProcAddress("0100007F"), "127.0.0.1");
  assert.equal(decodeProcAddress("00000000000000000000000001000000"), "::1");
  assert.equal(decodeProcAddress("0000000000000000FFFF00000100007F"), "127.0.0.1");
  assert.equal(decodeProcAddress("7F000001", false), "127.0.0.1");
});

test("the peer's own socket is found by its ports and addresses; the server's side and TIME_WAIT are not", () => {
  // Server on 127.0.0.1:9712 (0x25F0), client port 40000 (0x9C40) owned by uid 1001.
  const text = [
    HEADER,
    "   0: 0100007F:25F0 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1",
    "   1: 0100007F:25F0 0100007F:9C40 01 00000000:00000000 00:00000000 00000000     0        0 2 1",
    "   2: 0100007F:9C40 0100007F:25F0 06 00000000:00000000 00:00000000 00000000     0        0 3 1",
    "   3: 0100007F:9C40 0100007F:25F0 01 00000000:00000000 00:00000000 00000000  1001        0 4 1",
  ].join("\n");
  const endpoints = {
    remoteAddress: "127.0.0.1",
    remotePort: 40000,
    localAddress: "127.0.0.1",
    localPort: 9712,
  };
  assert.equal(findPeerUid(text, endpoints), 1001);
  assert.equal(findPeerUid(text, { ...endpoints, remoteAddress: "::ffff:127.0.0.1" }), 1001);
  assert.equal(findPeerUid(text, { ...endpoints, remotePort: 40001 }), null);
  assert.equal(findPeerUid(text, { ...endpoints, remoteAddress: "127.0.0.2" }), null);
  assert.equal(
    findPeerUid(text.split("\n").slice(0, 4).join("\n"), endpoints),
    null,
    "TIME_WAIT is not a peer",
  );
});

test(
  "a real loopback connection: the peer's owner is this process's user",
  { skip: !peerUserSupported() },
  async () => {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const accepted = new Promise<net.Socket>((resolve) => server.once("connection", resolve));
    const client = net.connect((server.address() as net.AddressInfo).port, "127.0.0.1");
    const socket = await accepted;
    const owner = await peerUser({
      remoteAddress: socket.remoteAddress!,
      remotePort: socket.remotePort!,
      localAddress: socket.localAddress!,
      localPort: socket.localPort!,
    });
    assert.deepEqual(owner, { uid: process.getuid!() });
    client.destroy();
    socket.destroy();
    server.close();
  },
);
