/**
 * Protocol frames, random and structured, at the real server (in process, over a real socket, the
 * emulated CPS3 and Vitale in the in-process virtual PC/SC): every frame with an id gets exactly one
 * answer, a JSON-RPC error is a standard code or one of the protocol's reasons (never -32603, which
 * would be an untyped failure), no crash, no unhandled rejection, and the connection still answers
 * afterwards. parseFrame on its own never throws.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import fc from "fast-check";
import WebSocket from "ws";
import { ERROR_REASONS, METHODS } from "@passerelle/protocol";
import { AllowlistPolicy } from "../../src/access/access-policy.ts";
import { silentLogger } from "../../src/audit/logger.ts";
import { createPublicLayoutVitaleReader, createVitaleService } from "../../src/cards/vitale/index.ts";
import { LIMIT_DEFAULTS } from "../../src/config/config.ts";
import { createReaders, type Readers } from "../../src/pcsc/index.ts";
import { handlers } from "../../src/server/methods/index.ts";
import { PinPage } from "../../src/server/pin-prompt.ts";
import { parseFrame } from "../../src/server/rpc.ts";
import { startServer, type RunningServer } from "../../src/server/server.ts";
import { createCps3Emulator } from "../../src/simulator/cards/cps3/index.ts";
import { createVitale2Emulator } from "../../src/simulator/cards/vitale2/index.ts";
import { VirtualPcsc, VIRTUAL_READER_NAMES } from "../../src/simulator/virtual-pcsc.ts";
import { FUZZ_RUNS, fuzzParameters } from "./runs.ts";

const ORIGIN = "https://ehr.example";
const STANDARD = new Set([-32700, -32600, -32601, -32602]);
const REASON_CODES = new Set<number>(Object.values(ERROR_REASONS).map((entry) => entry.code));
const METHOD_NAMES = Object.keys(METHODS);

let server: RunningServer;
let readers: Readers;
let socket: WebSocket;
/** Closes the server may do by design (MAX_REFUSED_IN_A_ROW refused frames): reconnect and go on. */
const EXPECTED_CLOSE = "1008 too many refused frames";
let reconnections = 0;

async function connect(): Promise<void> {
  closedWith = undefined;
  socket = new WebSocket(`ws://127.0.0.1:${server.port}/v1`, ["passerelle.v1"], {
    origin: ORIGIN,
    headers: { Host: `localhost:${server.port}` },
  });
  await new Promise((resolve, reject) => socket.once("open", resolve).once("error", reject));
  const current = socket;
  current.on("close", (code, reason) => {
    if (current === socket) closedWith = `${code} ${String(reason)}`;
  });
  current.on("message", (data) => {
    const message = JSON.parse(String(data)) as Record<string, unknown>;
    const waiter = typeof message["id"] === "number" ? waiting.get(message["id"]) : undefined;
    if (waiter) {
      waiting.delete(message["id"] as number);
      waiter(message);
    } else stray.push(message);
  });
}

/** The open connection; a new one if the server closed the last one as documented. */
async function open(): Promise<WebSocket> {
  if (closedWith === undefined && socket.readyState === socket.OPEN) return socket;
  if (socket.readyState === socket.CLOSING) await new Promise((resolve) => socket.once("close", resolve));
  assert.ok(closedWith === undefined || closedWith === EXPECTED_CLOSE, `closed: ${closedWith}`);
  reconnections += 1;
  await connect();
  return socket;
}
let nextId = 1;
const waiting = new Map<number, (message: Record<string, unknown>) => void>();
const stray: unknown[] = [];
let closedWith: string | undefined;

before(async () => {
  const pcsc = new VirtualPcsc();
  readers = await createReaders({ backend: pcsc });
  pcsc.insert(VIRTUAL_READER_NAMES[0], createCps3Emulator());
  pcsc.insert(VIRTUAL_READER_NAMES[1], createVitale2Emulator());
  server = await startServer({
    port: 0,
    hosts: ["127.0.0.1"],
    services: {
      version: "0.0.0-fuzz",
      simulation: false,
      capabilities: [],
      readers,
      // No page PIN: a fuzzed cps.verifyPin must never block the emulated card.
      access: new AllowlistPolicy({ allowedOrigins: [ORIGIN], pinFromPage: [], selfOrigins: () => [] }),
      logger: silentLogger,
      vitale: createVitaleService({ reader: createPublicLayoutVitaleReader() }),
      lab: null,
      isSelfOrigin: () => false,
      audit: { record: async () => undefined },
      // Nobody types a PIN here: a verifyPin without one times out (TIMEOUT) instead of waiting 60 s.
      pinPage: new PinPage({ url: () => null, timeoutMs: 200 }),
      insi: null,
      insiMode: null,
    },
    handlers,
    // Room for every fuzz case: the rate limit is not what is fuzzed here.
    limits: { ...LIMIT_DEFAULTS, requestsPerSecond: 1e6, requestBurst: 1e6 },
  });
  await connect();
});

after(async () => {
  socket.close();
  await server.close();
  await readers.close();
});

function checkError(message: Record<string, unknown>): void {
  const error = message["error"] as { code: number; data?: { reason?: string } } | undefined;
  if (error === undefined) return;
  assert.notEqual(error.code, -32603, `an untyped failure: ${JSON.stringify(message)}`);
  assert.ok(STANDARD.has(error.code) || REASON_CODES.has(error.code), JSON.stringify(message));
  if (REASON_CODES.has(error.code)) assert.ok(error.data?.reason, JSON.stringify(message));
}

/** Sends a frame whose id is `id` and waits for its one answer (bounded). */
async function exchange(text: string, id: number): Promise<Record<string, unknown>> {
  const ws = await open();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer to ${text.slice(0, 200)}`)), 15_000);
    waiting.set(id, (message) => {
      clearTimeout(timer);
      resolve(message);
    });
    ws.send(text);
  });
}

async function stillAnswers(): Promise<void> {
  // The last random frames may just have made the server close (by design): let that close arrive.
  await new Promise((resolve) => setTimeout(resolve, 300));
  const id = nextId++;
  const pong = await exchange(JSON.stringify({ jsonrpc: "2.0", id, method: "system.ping", params: {} }), id);
  assert.ok(pong["result"], JSON.stringify(pong));
}

test("parseFrame never throws on any text", () => {
  fc.assert(
    fc.property(fc.oneof(fc.string(), fc.json(), fc.string({ unit: "grapheme" })), (text) => {
      const parsed = parseFrame(text);
      assert.ok(parsed.kind === "request" || parsed.kind === "error");
    }),
    fuzzParameters,
  );
});

test("random frames: stray answers only carry id null, the connection survives", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.oneof(fc.string({ maxLength: 300 }), fc.json(), fc.string({ unit: "grapheme", maxLength: 100 })),
      async (text) => {
        socket.send(text);
      },
    ),
    { ...fuzzParameters, numRuns: FUZZ_RUNS },
  );
  await stillAnswers();
  assert.ok(reconnections <= Math.ceil(FUZZ_RUNS / 10), `${reconnections} reconnections`);
  for (const message of stray) {
    const answer = message as Record<string, unknown>;
    // Parse errors and invalid requests answer with id null (or the salvaged id of a request that
    // was not one); a notification may be sent by the server for readers/cards, none subscribed here.
    assert.ok(answer["error"] !== undefined || answer["method"] !== undefined, JSON.stringify(answer));
    checkError(answer);
  }
});

/** A value of any JSON shape, biased towards what params look like. */
const anyValue = fc.oneof(
  fc.constant(undefined),
  fc.json().map((text) => JSON.parse(text) as unknown),
  fc.string({ maxLength: 20 }),
  fc.integer(),
  fc.boolean(),
  fc.constantFrom("1234", "9999", "0", "", "Virtual PCD 00 00", "Virtual PCD 00 01", -1, 1e308, null),
);

const structured = fc.record({
  method: fc.oneof(fc.constantFrom(...METHOD_NAMES), fc.string({ maxLength: 20 })),
  params: fc.oneof(
    fc.constant(undefined),
    fc.dictionary(
      fc.constantFrom(
        "readerId",
        "pin",
        "confirmLastTry",
        "topics",
        "client",
        "beneficiaryIndex",
        "birthName",
        "firstNames",
        "sex",
        "birthDate",
        "ins",
        "appName",
        "x",
      ),
      anyValue,
      { maxKeys: 5 },
    ),
    anyValue,
  ),
  jsonrpc: fc.oneof(fc.constant("2.0"), anyValue),
});

test("structured requests (every method, fuzzed params): exactly one typed answer each", async () => {
  await fc.assert(
    fc.asyncProperty(structured, async ({ method, params, jsonrpc }) => {
      const id = nextId++;
      const frame: Record<string, unknown> = { jsonrpc, id, method };
      if (params !== undefined) frame["params"] = params;
      const answer = await exchange(JSON.stringify(frame), id);
      assert.equal(answer["id"], id);
      assert.ok((answer["result"] === undefined) !== (answer["error"] === undefined), JSON.stringify(answer));
      checkError(answer);
    }),
    fuzzParameters,
  );
  await stillAnswers();
});
