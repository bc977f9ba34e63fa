/**
 * cps.verifyPin is answered only once its audit record is on disk, and a trail that cannot be
 * written fails the call typed (AUDIT_UNAVAILABLE), never INTERNAL and never answered unaudited.
 * The server in-process over a real socket, the emulated CPS3 in the in-process virtual PC/SC, the
 * audit sink under the test's control (or the real AuditTrail on a full "disk", /dev/full).
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, test } from "node:test";
import WebSocket from "ws";
import { AllowlistPolicy } from "../../src/access/access-policy.ts";
import { AUDIT_FILE_NAME, AuditTrail, type AuditEvent, type AuditSink } from "../../src/audit/audit-trail.ts";
import { silentLogger } from "../../src/audit/logger.ts";
import { createPublicLayoutVitaleReader, createVitaleService } from "../../src/cards/vitale/index.ts";
import { LIMIT_DEFAULTS } from "../../src/config/config.ts";
import { createReaders } from "../../src/pcsc/index.ts";
import { handlers } from "../../src/server/methods/index.ts";
import { PinPage } from "../../src/server/pin-prompt.ts";
import { startServer, type RunningServer } from "../../src/server/server.ts";
import { createCps3Emulator } from "../../src/simulator/cards/cps3/index.ts";
import { VirtualPcsc, VIRTUAL_READER_NAMES } from "../../src/simulator/virtual-pcsc.ts";

const ORIGIN = "https://ehr.example";
const cleanups: Array<() => Promise<void> | void> = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

async function serverWith(audit: AuditSink): Promise<RunningServer> {
  const pcsc = new VirtualPcsc();
  const readers = await createReaders({ backend: pcsc });
  const slot = VIRTUAL_READER_NAMES[0];
  pcsc.insert(slot, createCps3Emulator());
  for (let i = 0; i < 500 && !readers.list().find((r) => r.id === slot)?.cardPresent; i += 1)
    await new Promise((resolve) => setTimeout(resolve, 10));
  const server = await startServer({
    port: 0,
    hosts: ["127.0.0.1"],
    services: {
      version: "0.0.0-test",
      simulation: false,
      capabilities: [],
      readers,
      access: new AllowlistPolicy({ allowedOrigins: [ORIGIN], pinFromPage: [ORIGIN], selfOrigins: () => [] }),
      logger: silentLogger,
      vitale: createVitaleService({ reader: createPublicLayoutVitaleReader() }),
      lab: null,
      isSelfOrigin: () => false,
      audit,
      pinPage: new PinPage({ url: () => null }),
      insi: null,
      insiMode: null,
    },
    handlers,
    limits: { ...LIMIT_DEFAULTS },
  });
  cleanups.push(async () => {
    await server.close();
    await readers.close();
  });
  return server;
}

async function connect(server: RunningServer): Promise<WebSocket> {
  const socket = new WebSocket(`ws://127.0.0.1:${server.port}/v1`, ["passerelle.v1"], {
    origin: ORIGIN,
    headers: { Host: `localhost:${server.port}` },
  });
  await new Promise((resolve, reject) => socket.once("open", resolve).once("error", reject));
  cleanups.push(() => socket.close());
  return socket;
}

function answer(socket: WebSocket, id: number): Promise<Record<string, unknown>> {
  return new Promise((resolve) => {
    const onMessage = (data: WebSocket.RawData) => {
      const message = JSON.parse(String(data)) as Record<string, unknown>;
      if (message["id"] !== id) return;
      socket.off("message", onMessage);
      resolve(message);
    };
    socket.on("message", onMessage);
  });
}

function send(
  socket: WebSocket,
  id: number,
  method: string,
  params: unknown,
): Promise<Record<string, unknown>> {
  const response = answer(socket, id);
  socket.send(JSON.stringify({ jsonrpc: "2.0", id, method, params }));
  return response;
}

/** An audit sink whose writes finish only when the test says so. */
class HeldAudit implements AuditSink {
  readonly events: AuditEvent[] = [];
  #release: Array<() => void> = [];
  #recorded: Array<() => void> = [];
  record(event: AuditEvent): Promise<void> {
    this.events.push(event);
    for (const notify of this.#recorded.splice(0)) notify();
    return new Promise((resolve) => this.#release.push(resolve));
  }
  /** Resolves once record() has been called (the card has answered by then). */
  recorded(): Promise<void> {
    return this.events.length > 0
      ? Promise.resolve()
      : new Promise((resolve) => this.#recorded.push(resolve));
  }
  release(): void {
    for (const resolve of this.#release.splice(0)) resolve();
  }
}

test("cps.verifyPin: no answer while its audit record is being written; the answer follows the record", async () => {
  const audit = new HeldAudit();
  const socket = await connect(await serverWith(audit));
  let answered = false;
  const response = send(socket, 1, "cps.verifyPin", { pin: "1234" }).then((message) => {
    answered = true;
    return message;
  });
  await audit.recorded();
  // The card has answered and the record is on its way to the disk: nothing may reach the page yet.
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.equal(answered, false, "the reply went out before the audit record was on disk");
  assert.equal(audit.events[0]?.method, "cps.verifyPin");
  assert.equal(audit.events[0]?.reason, undefined);
  audit.release();
  assert.deepEqual((await response)["result"], { verified: true, triesRemaining: 3 });
});

test("cps.verifyPin with the audit trail on a full disk: AUDIT_UNAVAILABLE, retriable, not INTERNAL", async () => {
  const dir = mkdtempSync(path.join(tmpdir(), "passerelle-audit-full-"));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  symlinkSync("/dev/full", path.join(dir, AUDIT_FILE_NAME));
  const trail = await AuditTrail.open({ dir });
  cleanups.push(() => trail.close());
  const socket = await connect(await serverWith(trail));
  for (const [id, pin] of [
    [1, "1234"],
    [2, "9999"],
  ] as const) {
    const error = (await send(socket, id, "cps.verifyPin", { pin }))["error"] as {
      code: number;
      data: { reason: string; retriable: boolean; code: string };
    };
    assert.equal(error.code, -32040, `PIN ${id}: ${JSON.stringify(error)}`);
    assert.deepEqual(error.data, { reason: "AUDIT_UNAVAILABLE", retriable: true, code: "ENOSPC" });
  }
});
