/**
 * The vpcd bridge against a stand-in for vpcd: a loopback TCP server speaking vpcd's framing,
 * so these run without pcscd. (The bridge against the real pcscd: test/pcsc/.)
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import { once } from "node:events";
import { VpcdBridge } from "../../src/simulator/vpcd-bridge.ts";
import { VpcdDecoder, encodeFrame, VPCD_GET_ATR, VPCD_MAX_FRAME } from "../../src/simulator/vpcd-framing.ts";
import { createEchoCard, ECHO_ATR } from "../../src/simulator/echo-card.ts";
import type { CardEmulator } from "../../src/simulator/card-emulator.ts";

const toHex = (b: Uint8Array): string => Buffer.from(b).toString("hex").toUpperCase();
/** Fails a test that would otherwise wait for ever (the bug being guarded against). */
const NO_HANG = { timeout: 10_000 };

/** A fake vpcd: accepts one bridge, sends it frames, collects the frames it answers. */
async function fakeVpcd(): Promise<{
  port: number;
  ask: (payload: Uint8Array) => Promise<Uint8Array>;
  close: () => Promise<void>;
}> {
  const server = net.createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const port = (server.address() as net.AddressInfo).port;
  const sockets = new Set<net.Socket>();
  server.on("connection", (socket: net.Socket) => sockets.add(socket));
  const connected = once(server, "connection").then(([socket]) => socket as net.Socket);
  const decoder = new VpcdDecoder();
  const answers: Uint8Array[] = [];
  let wake: (() => void) | undefined;
  void connected.then((socket) =>
    socket.on("data", (chunk: Buffer) => {
      // The bridge answers with frames of the same format; a 1-byte answer would decode as
      // "control", so collect raw payloads by kind.
      for (const message of decoder.push(chunk)) {
        if (message.kind === "apdu") answers.push(message.apdu);
        else if (message.kind === "control") answers.push(Uint8Array.of(message.code));
      }
      wake?.();
    }),
  );
  return {
    port,
    async ask(payload) {
      const socket = await connected;
      socket.write(encodeFrame(payload));
      while (answers.length === 0) await new Promise<void>((resolve) => (wake = resolve));
      return answers.shift() as Uint8Array;
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** A loopback port nobody listens on (taken, then freed). */
async function closedPort(): Promise<number> {
  const server = net.createServer().listen(0, "127.0.0.1");
  await once(server, "listening");
  const port = (server.address() as net.AddressInfo).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

test("answers: the ATR on GET ATR, the emulator's R-APDU to a C-APDU", NO_HANG, async () => {
  const vpcd = await fakeVpcd();
  const bridge = new VpcdBridge({ emulator: createEchoCard(), port: vpcd.port, reconnect: false });
  try {
    await bridge.start();
    assert.equal(toHex(await vpcd.ask(Uint8Array.of(VPCD_GET_ATR))), toHex(ECHO_ATR));
    assert.equal(toHex(await vpcd.ask(Uint8Array.of(0x80, 0xb0, 0x00, 0x02, 0x04))), "020304059000");
  } finally {
    await bridge.close();
    await vpcd.close();
  }
});

test(
  "an answer too long for vpcd's 16-bit frame becomes 6F00, never a cut answer without its SW",
  NO_HANG,
  async () => {
    const huge = new Uint8Array(VPCD_MAX_FRAME + 1).fill(0x55);
    huge.set([0x90, 0x00], huge.length - 2);
    const card: CardEmulator = { atr: ECHO_ATR, reset() {}, transmit: () => huge };
    const vpcd = await fakeVpcd();
    const bridge = new VpcdBridge({ emulator: card, port: vpcd.port, reconnect: false });
    try {
      await bridge.start();
      assert.equal(toHex(await vpcd.ask(Uint8Array.of(0x00, 0xb0, 0x00, 0x00, 0x00, 0x00, 0x00))), "6F00");
    } finally {
      await bridge.close();
      await vpcd.close();
    }
  },
);

test("vpcd absent: start() rejects with a clear error instead of waiting for ever", NO_HANG, async () => {
  const port = await closedPort();
  const bridge = new VpcdBridge({ emulator: createEchoCard(), port });
  await assert.rejects(bridge.start(), (error: Error) => {
    assert.match(error.message, new RegExp(`vpcd not reachable on 127\\.0\\.0\\.1:${port}`));
    assert.match(error.message, /ECONNREFUSED/);
    return true;
  });
  assert.equal(bridge.stats().connected, false);
  await bridge.close();
});

test("close() before the first connection: start() rejects", NO_HANG, async () => {
  const vpcd = await fakeVpcd();
  try {
    const bridge = new VpcdBridge({ emulator: createEchoCard(), port: vpcd.port });
    const starting = bridge.start();
    await bridge.close(); // the TCP connect has not completed yet
    await assert.rejects(starting, /closed before it connected/);
    const never = new VpcdBridge({ emulator: createEchoCard(), port: vpcd.port });
    await never.close();
    await assert.rejects(never.start(), /closed before/);
  } finally {
    await vpcd.close();
  }
});
