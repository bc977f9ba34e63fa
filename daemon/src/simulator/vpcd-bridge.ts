/**
 * The vpcd bridge: plugs a CardEmulator into pcscd's virtual reader (vsmartcard-vpcd). vpcd is
 * the TCP server on 127.0.0.1:35963 (slot 0) / 35964 (slot 1); connecting inserts the card,
 * closing removes it. Once connected, the bridge keeps reconnecting (pcscd restarted) until
 * closed; a first connection that fails (vpcd absent) fails `start()` instead, and ends the bridge.
 *
 * Latency: TCP_NODELAY on our side, TCP_QUICKACK re-armed after every read (tcp-quickack.ts).
 * The bridge measures its own APDU handling time (frame received → answer written) so the lab
 * can tell emulator time from PC/SC time.
 */
import net from "node:net";
import { performance } from "node:perf_hooks";
import type { CardEmulator } from "./card-emulator.ts";
import { armQuickAck } from "./tcp-quickack.ts";
import {
  VPCD_BASE_PORT,
  VPCD_GET_ATR,
  VPCD_MAX_FRAME,
  VPCD_POWER_OFF,
  VPCD_POWER_ON,
  VPCD_RESET,
  VpcdDecoder,
  encodeFrame,
} from "./vpcd-framing.ts";

/** vpcd listens on loopback in our lab; never point the bridge elsewhere. */
export const VPCD_HOST = "127.0.0.1";
export const RECONNECT_MIN_MS = 100;
export const RECONNECT_MAX_MS = 1_000;
/** Answer to a C-APDU when the emulator throws: "no precise diagnosis" (ISO/IEC 7816-4). */
const SW_NO_DIAGNOSIS = Uint8Array.from([0x6f, 0x00]);

export const vpcdPort = (slot: number): number => VPCD_BASE_PORT + slot;

export interface VpcdBridgeOptions {
  readonly emulator: CardEmulator;
  /** vpcd slot (0 or 1 with Debian's reader.conf); or give `port`. */
  readonly slot?: number;
  readonly port?: number;
  /** Keep reconnecting after vpcd closes the socket (pcscd restart). Default true. */
  readonly reconnect?: boolean;
  readonly onStateChange?: (state: "connected" | "disconnected") => void;
  /** Re-arm TCP_QUICKACK after every read (default true; false only to measure the trap). */
  readonly quickAck?: boolean;
}

export interface VpcdBridgeStats {
  readonly apdus: number;
  /** Mean and worst handling time per APDU, microseconds (frame received → answer written). */
  readonly meanMicros: number;
  readonly maxMicros: number;
  /** Whether TCP_QUICKACK could be armed (false off Linux). */
  readonly quickAck: boolean;
  readonly connected: boolean;
}

export class VpcdBridge {
  readonly port: number;
  readonly #emulator: CardEmulator;
  readonly #reconnect: boolean;
  readonly #onStateChange: (state: "connected" | "disconnected") => void;
  readonly #useQuickAck: boolean;
  #socket: net.Socket | undefined;
  #closed = false;
  #timer: NodeJS.Timeout | undefined;
  #backoff = RECONNECT_MIN_MS;
  #apdus = 0;
  #totalMicros = 0;
  #maxMicros = 0;
  #quickAck = false;
  #connected = false;
  #everConnected = false;
  #started = false;
  #firstConnect: { promise: Promise<void>; resolve: () => void; reject: (error: Error) => void };

  constructor(options: VpcdBridgeOptions) {
    this.#emulator = options.emulator;
    this.port = options.port ?? vpcdPort(options.slot ?? 0);
    this.#reconnect = options.reconnect ?? true;
    this.#onStateChange = options.onStateChange ?? (() => undefined);
    this.#useQuickAck = options.quickAck ?? true;
    let resolve!: () => void;
    let reject!: (error: Error) => void;
    const promise = new Promise<void>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    // A bridge closed without ever being started must not leave an unhandled rejection behind;
    // whoever awaits start() still sees it.
    promise.catch(() => undefined);
    this.#firstConnect = { promise, resolve, reject };
  }

  /**
   * Connects (and then keeps reconnecting). Resolves once connected the first time; rejects if
   * that first connection fails (vpcd not listening: pcscd down, or vsmartcard-vpcd not
   * installed) or if close() comes first. A bridge whose start failed is closed.
   */
  start(): Promise<void> {
    if (!this.#started) {
      this.#started = true;
      if (this.#closed) this.#failStart(new Error(`vpcd bridge (port ${this.port}) closed before start`));
      else this.#connect();
    }
    return this.#firstConnect.promise;
  }

  #failStart(error: Error): void {
    if (this.#everConnected) return;
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#firstConnect.reject(error);
  }

  stats(): VpcdBridgeStats {
    return {
      apdus: this.#apdus,
      meanMicros: this.#apdus === 0 ? 0 : this.#totalMicros / this.#apdus,
      maxMicros: this.#maxMicros,
      quickAck: this.#quickAck,
      connected: this.#connected,
    };
  }

  resetStats(): void {
    this.#apdus = 0;
    this.#totalMicros = 0;
    this.#maxMicros = 0;
  }

  /** Closes the socket: pcscd sees the card removed. */
  close(): Promise<void> {
    this.#failStart(new Error(`vpcd bridge (port ${this.port}) closed before it connected`));
    this.#closed = true;
    clearTimeout(this.#timer);
    const socket = this.#socket;
    if (socket === undefined || socket.destroyed) return Promise.resolve();
    return new Promise((resolve) => {
      socket.once("close", () => resolve());
      socket.destroy();
    });
  }

  #connect(): void {
    if (this.#closed) return;
    const socket = net.connect({ host: VPCD_HOST, port: this.port, noDelay: true });
    this.#socket = socket;
    const decoder = new VpcdDecoder();
    let tail: Promise<void> = Promise.resolve();
    socket.on("connect", () => {
      this.#backoff = RECONNECT_MIN_MS;
      this.#quickAck = this.#useQuickAck && armQuickAck(socket);
      this.#connected = true;
      this.#everConnected = true;
      this.#onStateChange("connected");
      this.#firstConnect.resolve();
    });
    socket.on("data", (chunk: Buffer) => {
      if (this.#quickAck) armQuickAck(socket);
      const received = performance.now();
      for (const message of decoder.push(chunk)) {
        tail = tail.then(() => this.#handle(socket, message, received));
      }
    });
    socket.on("error", (error: NodeJS.ErrnoException) => {
      // Later errors end in "close" and a reconnection; only the very first attempt is fatal.
      this.#failStart(
        new Error(
          `vpcd not reachable on ${VPCD_HOST}:${this.port} (${error.code ?? error.message}): ` +
            "is pcscd running with vsmartcard-vpcd?",
          { cause: error },
        ),
      );
    });
    socket.on("close", () => {
      if (this.#connected) {
        this.#connected = false;
        this.#onStateChange("disconnected");
      }
      this.#emulator.reset();
      if (this.#closed || !this.#reconnect) return;
      this.#timer = setTimeout(() => this.#connect(), this.#backoff);
      this.#backoff = Math.min(this.#backoff * 2, RECONNECT_MAX_MS);
    });
  }

  async #handle(
    socket: net.Socket,
    message: ReturnType<VpcdDecoder["push"]>[number],
    received: number,
  ): Promise<void> {
    if (message.kind === "empty") return;
    if (message.kind === "control") {
      if (message.code === VPCD_GET_ATR) this.#send(socket, this.#emulator.atr);
      else if (
        message.code === VPCD_POWER_OFF ||
        message.code === VPCD_POWER_ON ||
        message.code === VPCD_RESET
      ) {
        this.#emulator.reset();
      }
      return;
    }
    let answer: Uint8Array;
    try {
      answer = await this.#emulator.transmit(message.apdu);
    } catch {
      answer = SW_NO_DIAGNOSIS;
    }
    // vpcd's 16-bit length cannot carry it; cutting it would drop the status word and hand
    // pcscd data for one.
    if (answer.length > VPCD_MAX_FRAME) answer = SW_NO_DIAGNOSIS;
    this.#send(socket, answer);
    const micros = (performance.now() - received) * 1000;
    this.#apdus += 1;
    this.#totalMicros += micros;
    if (micros > this.#maxMicros) this.#maxMicros = micros;
  }

  #send(socket: net.Socket, payload: Uint8Array): void {
    // Only an emulator's ATR could still be too long here (ISO caps it at 33 bytes): send nothing
    // rather than a cut ATR, and pcscd sees a mute card.
    if (!socket.destroyed && payload.length <= VPCD_MAX_FRAME) socket.write(encodeFrame(payload));
  }
}
