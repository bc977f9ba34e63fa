/**
 * The system PC/SC backend: koffi FFI to the OS library (libpcsclite.so.1, winscard.dll,
 * PCSC.framework) with the ABI from layout.ts. Calls that wait on a card or on pcscd (status
 * change, connect, transactions, transmit, control) run through koffi's `.async` on a libuv worker
 * thread, so the event loop never blocks; SCardCancel ends a pending GetStatusChange.
 *
 * Why koffi and not a native addon: see docs/pcsc.md ("binding decision").
 */
import koffi, { type LibraryHandle } from "koffi";
import { PasserelleError } from "../../errors.ts";
import type {
  CardStatus,
  PcscBackend,
  PcscCard,
  PcscContext,
  ReaderStateChange,
  ReaderStateQuery,
} from "../backend.ts";
import { SCARD_SCOPE_SYSTEM, type Disposition, type ShareMode } from "../constants.ts";
import {
  SCARD_E_INSUFFICIENT_BUFFER,
  SCARD_E_NO_READERS_AVAILABLE,
  check,
  normalizeReturnCode,
  pcscError,
} from "../return-codes.ts";
import { layoutFor, structsFor, type PcscLayout, type PcscTypes } from "./layout.ts";

/** Reader list and status buffers: pcsc-lite caps a reader name at 128 bytes and 16 readers. */
const MAX_READERS_BUFFER = 64 * 1024;
const MAX_READER_NAME = 1024;
/**
 * Attribute buffer for SCardGetAttrib: pcsc-lite refuses a length above its MAX_BUFFER_SIZE (264)
 * with SCARD_E_INSUFFICIENT_BUFFER, and every attribute it serves fits.
 */
const MAX_ATTRIBUTE = 264;

type Handle = number | bigint;
type NativeFunction = ReturnType<LibraryHandle["func"]>;
type TypeSpec = Parameters<typeof koffi.out>[0];

interface Functions {
  establishContext: NativeFunction;
  releaseContext: NativeFunction;
  listReaders: NativeFunction;
  getStatusChange: NativeFunction;
  cancel: NativeFunction;
  connect: NativeFunction;
  reconnect: NativeFunction;
  disconnect: NativeFunction;
  beginTransaction: NativeFunction;
  endTransaction: NativeFunction;
  transmit: NativeFunction;
  control: NativeFunction | undefined;
  status: NativeFunction;
  getAttrib: NativeFunction | undefined;
}

/** The library, its types and its functions, loaded once per process. */
export class PcscLibrary {
  readonly layout: PcscLayout;
  readonly types: PcscTypes;
  readonly fn: Functions;

  constructor(layout: PcscLayout = layoutFor()) {
    this.layout = layout;
    this.types = structsFor(layout);
    const lib = koffi.load(layout.library);
    const { dword: D, long: L, handle: H } = layout;
    const str = layout.wide ? "const char16_t *" : "const char *";
    const { readerState, ioRequest } = this.types;
    const declare = (name: string, args: TypeSpec[]): NativeFunction =>
      layout.convention === "" ? lib.func(name, L, args) : lib.func(layout.convention, name, L, args);
    const optional = (name: string, args: TypeSpec[]): NativeFunction | undefined => {
      try {
        return declare(name, args);
      } catch {
        return undefined;
      }
    };
    const controlArgs = [H, D, "const void *", D, koffi.out("uint8_t *"), D, koffi.out(koffi.pointer(D))];
    this.fn = {
      establishContext: declare("SCardEstablishContext", [
        D,
        "void *",
        "void *",
        koffi.out(koffi.pointer(H)),
      ]),
      releaseContext: declare("SCardReleaseContext", [H]),
      listReaders: declare(layout.symbols.listReaders, [
        H,
        str,
        koffi.out("uint8_t *"),
        koffi.inout(koffi.pointer(D)),
      ]),
      getStatusChange: declare(layout.symbols.getStatusChange, [
        H,
        D,
        koffi.inout(koffi.pointer(readerState)),
        D,
      ]),
      cancel: declare("SCardCancel", [H]),
      connect: declare(layout.symbols.connect, [
        H,
        str,
        D,
        D,
        koffi.out(koffi.pointer(H)),
        koffi.out(koffi.pointer(D)),
      ]),
      reconnect: declare("SCardReconnect", [H, D, D, D, koffi.out(koffi.pointer(D))]),
      disconnect: declare("SCardDisconnect", [H, D]),
      beginTransaction: declare("SCardBeginTransaction", [H]),
      endTransaction: declare("SCardEndTransaction", [H, D]),
      transmit: declare("SCardTransmit", [
        H,
        koffi.pointer(ioRequest),
        "const uint8_t *",
        D,
        "void *",
        koffi.out("uint8_t *"),
        koffi.inout(koffi.pointer(D)),
      ]),
      control: optional(layout.symbols.control, controlArgs) ?? optional("SCardControl", controlArgs),
      status: declare(layout.symbols.status, [
        H,
        koffi.out("uint8_t *"),
        koffi.inout(koffi.pointer(D)),
        koffi.out(koffi.pointer(D)),
        koffi.out(koffi.pointer(D)),
        koffi.out("uint8_t *"),
        koffi.inout(koffi.pointer(D)),
      ]),
      getAttrib: optional("SCardGetAttrib", [H, D, koffi.out("uint8_t *"), koffi.inout(koffi.pointer(D))]),
    };
  }

  /** Bytes per character in reader-name buffers. */
  get charSize(): number {
    return this.layout.wide ? 2 : 1;
  }

  decodeString(buffer: Buffer): string {
    return buffer.toString(this.layout.wide ? "utf16le" : "utf8");
  }
}

/** Runs a koffi function on a worker thread and resolves with its normalized return code. */
function callAsync(fn: NativeFunction, args: unknown[]): Promise<number> {
  return new Promise((resolve, reject) => {
    fn.async(...args, (error: unknown, rc: number | bigint) => {
      if (error) reject(error instanceof Error ? error : new Error(String(error)));
      else resolve(normalizeReturnCode(rc));
    });
  });
}

const toNumber = (value: unknown): number => (typeof value === "bigint" ? Number(value) : Number(value ?? 0));

export class KoffiPcscBackend implements PcscBackend {
  readonly kind = "system";
  readonly library: PcscLibrary;

  constructor(library: PcscLibrary) {
    this.library = library;
  }

  async establishContext(): Promise<PcscContext> {
    const out: Handle[] = [0];
    check(this.library.fn.establishContext(SCARD_SCOPE_SYSTEM, null, null, out), "SCardEstablishContext");
    return new KoffiContext(this.library, out[0] as Handle);
  }
}

/**
 * Loads the OS PC/SC library. Throws PCSC_UNAVAILABLE when it is not installed (no pcsc-lite on a
 * Linux machine): the caller then runs with NoReaders.
 */
export function createSystemBackend(layout: PcscLayout = layoutFor()): KoffiPcscBackend {
  try {
    return new KoffiPcscBackend(new PcscLibrary(layout));
  } catch (error) {
    throw new PasserelleError(
      "PCSC_UNAVAILABLE",
      `cannot load ${layout.library}`,
      { library: layout.library },
      error,
    );
  }
}

class KoffiContext implements PcscContext {
  readonly #lib: PcscLibrary;
  readonly #handle: Handle;
  #released = false;

  constructor(library: PcscLibrary, handle: Handle) {
    this.#lib = library;
    this.#handle = handle;
  }

  async listReaders(): Promise<string[]> {
    const { fn } = this.#lib;
    // Two-call pattern: ask the size, then fill. A reader plugged in between makes the second
    // call fail with INSUFFICIENT_BUFFER: ask again.
    for (let attempt = 0; attempt < 3; attempt += 1) {
      const length: number[] = [0];
      let rc = normalizeReturnCode(fn.listReaders(this.#handle, null, null, length));
      if (rc === SCARD_E_NO_READERS_AVAILABLE) return [];
      check(rc, "SCardListReaders");
      const chars = toNumber(length[0]);
      if (chars * this.#lib.charSize > MAX_READERS_BUFFER)
        throw pcscError(SCARD_E_INSUFFICIENT_BUFFER, "SCardListReaders");
      const buffer = Buffer.alloc(chars * this.#lib.charSize);
      rc = normalizeReturnCode(fn.listReaders(this.#handle, null, buffer, length));
      if (rc === SCARD_E_NO_READERS_AVAILABLE) return [];
      if (rc === SCARD_E_INSUFFICIENT_BUFFER) continue;
      check(rc, "SCardListReaders");
      const used = Math.min(toNumber(length[0]), chars) * this.#lib.charSize;
      return this.#lib
        .decodeString(buffer.subarray(0, used))
        .split("\0")
        .filter((name) => name.length > 0);
    }
    throw pcscError(SCARD_E_INSUFFICIENT_BUFFER, "SCardListReaders");
  }

  async getStatusChange(
    queries: readonly ReaderStateQuery[],
    timeoutMs: number,
  ): Promise<ReaderStateChange[]> {
    const size = this.#lib.layout.atrBufferSize;
    const states = queries.map((query) => ({
      szReader: query.reader,
      pvUserData: null,
      dwCurrentState: query.currentState >>> 0,
      dwEventState: 0,
      cbAtr: 0,
      rgbAtr: new Uint8Array(size),
    }));
    const rc = await callAsync(this.#lib.fn.getStatusChange, [
      this.#handle,
      timeoutMs >>> 0,
      states,
      states.length,
    ]);
    check(rc, "SCardGetStatusChange");
    return states.map((state, index) => {
      const atrLength = Math.min(toNumber(state.cbAtr), size);
      return {
        reader: (queries[index] as ReaderStateQuery).reader,
        eventState: toNumber(state.dwEventState) >>> 0,
        atr: Uint8Array.from((state.rgbAtr as Uint8Array).subarray(0, atrLength)),
      };
    });
  }

  cancel(): void {
    if (!this.#released) this.#lib.fn.cancel(this.#handle);
  }

  async connect(reader: string, shareMode: ShareMode, preferredProtocols: number): Promise<PcscCard> {
    const card: Handle[] = [0];
    const protocol: number[] = [0];
    const rc = await callAsync(this.#lib.fn.connect, [
      this.#handle,
      reader,
      shareMode,
      preferredProtocols,
      card,
      protocol,
    ]);
    check(rc, "SCardConnect");
    return new KoffiCard(this.#lib, card[0] as Handle, toNumber(protocol[0]));
  }

  async release(): Promise<void> {
    if (this.#released) return;
    this.#released = true;
    this.#lib.fn.releaseContext(this.#handle);
  }
}

class KoffiCard implements PcscCard {
  readonly #lib: PcscLibrary;
  readonly #handle: Handle;
  #protocol: number;

  constructor(library: PcscLibrary, handle: Handle, protocol: number) {
    this.#lib = library;
    this.#handle = handle;
    this.#protocol = protocol;
  }

  get protocol(): number {
    return this.#protocol;
  }

  /** SCARD_IO_REQUEST for the active protocol (the g_rgSCardT0Pci/T1Pci equivalent), kept per protocol. */
  #pci: { dwProtocol: number; cbPciLength: number } | undefined;
  #sendPci(): { dwProtocol: number; cbPciLength: number } {
    if (this.#pci?.dwProtocol !== this.#protocol) {
      this.#pci = { dwProtocol: this.#protocol, cbPciLength: koffi.sizeof(this.#lib.types.ioRequest) };
    }
    return this.#pci;
  }

  async reconnect(
    shareMode: ShareMode,
    preferredProtocols: number,
    initialization: Disposition,
  ): Promise<number> {
    const protocol: number[] = [0];
    const rc = await callAsync(this.#lib.fn.reconnect, [
      this.#handle,
      shareMode,
      preferredProtocols,
      initialization,
      protocol,
    ]);
    check(rc, "SCardReconnect");
    this.#protocol = toNumber(protocol[0]);
    return this.#protocol;
  }

  async disconnect(disposition: Disposition): Promise<void> {
    check(await callAsync(this.#lib.fn.disconnect, [this.#handle, disposition]), "SCardDisconnect");
  }

  async beginTransaction(): Promise<void> {
    check(await callAsync(this.#lib.fn.beginTransaction, [this.#handle]), "SCardBeginTransaction");
  }

  async endTransaction(disposition: Disposition): Promise<void> {
    check(await callAsync(this.#lib.fn.endTransaction, [this.#handle, disposition]), "SCardEndTransaction");
  }

  async transmit(command: Uint8Array, maxResponseLength: number): Promise<Uint8Array> {
    const pci = this.#sendPci();
    const response = Buffer.allocUnsafe(maxResponseLength);
    const length: number[] = [maxResponseLength];
    const rc = await callAsync(this.#lib.fn.transmit, [
      this.#handle,
      pci,
      command,
      command.length,
      null,
      response,
      length,
    ]);
    check(rc, "SCardTransmit");
    // A view, not a copy: the decoder copies the data it keeps.
    return response.subarray(0, Math.min(toNumber(length[0]), maxResponseLength));
  }

  async control(controlCode: number, data: Uint8Array, maxResponseLength: number): Promise<Uint8Array> {
    const control = this.#lib.fn.control;
    if (control === undefined) throw pcscError(0x80100022, "SCardControl");
    const response = Buffer.allocUnsafe(maxResponseLength);
    const returned: number[] = [0];
    const rc = await callAsync(control, [
      this.#handle,
      controlCode >>> 0,
      data,
      data.length,
      response,
      maxResponseLength,
      returned,
    ]);
    check(rc, "SCardControl");
    return Uint8Array.from(response.subarray(0, Math.min(toNumber(returned[0]), maxResponseLength)));
  }

  async status(): Promise<CardStatus> {
    const { charSize, layout } = this.#lib;
    const name = Buffer.alloc(MAX_READER_NAME * charSize);
    const nameLength: number[] = [MAX_READER_NAME];
    const state: number[] = [0];
    const protocol: number[] = [0];
    const atr = Buffer.alloc(layout.atrBufferSize);
    const atrLength: number[] = [layout.atrBufferSize];
    const rc = await callAsync(this.#lib.fn.status, [
      this.#handle,
      name,
      nameLength,
      state,
      protocol,
      atr,
      atrLength,
    ]);
    check(rc, "SCardStatus");
    const reader = this.#lib
      .decodeString(name.subarray(0, Math.min(toNumber(nameLength[0]), MAX_READER_NAME) * charSize))
      .split("\0")[0] as string;
    return {
      reader,
      state: toNumber(state[0]),
      protocol: toNumber(protocol[0]),
      atr: Uint8Array.from(atr.subarray(0, Math.min(toNumber(atrLength[0]), layout.atrBufferSize))),
    };
  }

  async getAttrib(attributeId: number): Promise<Uint8Array> {
    const getAttrib = this.#lib.fn.getAttrib;
    if (getAttrib === undefined) throw pcscError(0x80100022, "SCardGetAttrib");
    // One call with a buffer that fits every attribute pcsc-lite serves: its NULL-buffer size
    // query answers SCARD_E_UNEXPECTED (seen with pcsc-lite 1.9.9 and vpcd).
    const buffer = Buffer.alloc(MAX_ATTRIBUTE);
    const length: number[] = [MAX_ATTRIBUTE];
    check(await callAsync(getAttrib, [this.#handle, attributeId, buffer, length]), "SCardGetAttrib");
    return Uint8Array.from(buffer.subarray(0, Math.min(toNumber(length[0]), MAX_ATTRIBUTE)));
  }
}
