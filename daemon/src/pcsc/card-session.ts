/**
 * CardSession: the CardChannel a driver gets for one operation. It owns nothing but the right to
 * talk to one connected card while the reader's transaction is held (pcsc-readers.ts opens and
 * closes that); it runs the APDU transport, bounds every round trip with a timeout, and turns a
 * transport failure during a removal into CARD_REMOVED.
 */
import { PasserelleError, isPasserelleError } from "../errors.ts";
import type { CardChannel, CommandApdu, ResponseApdu } from "./apdu.ts";
import { SW_LENGTH, responseBufferSize } from "./apdu-codec.ts";
import { exchange, type ApduCapabilities } from "./apdu-transport.ts";
import type { PcscCard } from "./backend.ts";
import { recoveryOf } from "./return-codes.ts";

/**
 * Default bound on one APDU round trip. RSA-2048 signatures take 1-2 s on CPS3 cards; 30 s leaves
 * room for slow readers without letting a mute card hang an operation forever.
 */
export const DEFAULT_APDU_TIMEOUT_MS = 30_000;
/**
 * Default bound on one SCardControl. A PIN pad's VERIFY_PIN_DIRECT returns only once the user has
 * typed the PIN (or the pad gave up): the pad's own timers must run out first, or a slow user's
 * VERIFY result (a PIN try already spent on the card) would be dropped. cards/cps/pin.ts gives the
 * pad bTimerOut 30 s + bTimerOut2 30 s (PC/SC v2 part 10 §2.5.2); 90 s leaves room for the card's
 * own VERIFY and a slow reader on top. Must stay above the sum of the pad timers.
 */
export const CONTROL_TIMEOUT_MS = 90_000;
/** Largest answer accepted from SCardControl (PC/SC part 10 feature lists and TLV properties are small). */
export const MAX_CONTROL_RESPONSE = 1024;

export interface CardSessionOptions {
  readonly readerId: string;
  readonly atr: Uint8Array;
  readonly insertion: number;
  readonly capabilities: ApduCapabilities;
  readonly apduTimeoutMs: number;
  /** Bound on one SCardControl (PIN pad entry included): see CONTROL_TIMEOUT_MS. */
  readonly controlTimeoutMs: number;
  /**
   * Asked after a transport failure: is the card that this session talks to still in the reader?
   * False turns the failure into CARD_REMOVED (pcscd reports a removal mid-APDU in several ways);
   * a throw (the service cannot tell) leaves the failure as it was.
   */
  readonly cardStillThere: () => Promise<boolean>;
  /** Ends the transaction, runs `during`, takes it again and checks the card (see CardChannel). */
  readonly outsideTransaction?: <T>(during: () => Promise<T>) => Promise<T>;
}

export class CardSession implements CardChannel {
  readonly readerId: string;
  readonly atr: Uint8Array;
  readonly insertion: number;
  readonly #card: PcscCard;
  readonly #options: CardSessionOptions;
  #closed = false;
  /** True while `outsideTransaction` runs its callback: the card is not ours then. */
  #outside = false;
  /** A round trip timed out while the card was still busy: the connection must be reset afterwards. */
  #abandoned: Promise<unknown> | undefined;
  /** Driver calls are serialized even if a driver forgets to await. */
  #tail: Promise<unknown> = Promise.resolve();
  #inFlight = 0;
  /** The raw round trip handed to the APDU transport: made once, not per command. */
  readonly #rawTransmit = (raw: Uint8Array): Promise<Uint8Array> => this.#transmitRaw(raw);

  constructor(card: PcscCard, options: CardSessionOptions) {
    this.#card = card;
    this.#options = options;
    this.readerId = options.readerId;
    this.atr = options.atr;
    this.insertion = options.insertion;
  }

  /** The pending native call left behind by a timeout, if any (the owner resets the card after it). */
  get abandoned(): Promise<unknown> | undefined {
    return this.#abandoned;
  }

  close(): void {
    this.#closed = true;
  }

  transmit(command: CommandApdu): Promise<ResponseApdu> {
    if (this.#outside) return Promise.reject(this.#outsideError());
    return this.#serialize(() => exchange(command, this.#rawTransmit, this.#options.capabilities));
  }

  #transmitRaw(raw: Uint8Array): Promise<Uint8Array> {
    const responseSize = responseBufferSize(raw);
    return this.#guard("SCardTransmit", this.#options.apduTimeoutMs, async (card) => {
      try {
        return await card.transmit(raw, responseSize);
      } finally {
        // The encoded C-APDU is our own copy of the command data: for VERIFY it holds the PIN
        // block. Wipe it once the native call has returned (never at the timeout: the backend
        // may still be reading it), whatever the command.
        raw.fill(0);
      }
    }).then(async (response) => {
      // pcscd answers a card pulled mid-APDU through vpcd with success and no bytes: an answer
      // without a status word is a removal if the card is gone, garbage (CARD_ERROR) otherwise.
      // If the service cannot even tell (it stopped), its own error says more than either.
      if (response.length < SW_LENGTH && !(await this.#options.cardStillThere())) {
        throw new PasserelleError("CARD_REMOVED", "SCardTransmit: the card was removed");
      }
      return response;
    });
  }

  control(code: number, data: Uint8Array): Promise<Uint8Array> {
    if (this.#outside) return Promise.reject(this.#outsideError());
    return this.#serialize(() =>
      this.#guard("SCardControl", this.#options.controlTimeoutMs, (card) =>
        card.control(code, data, MAX_CONTROL_RESPONSE),
      ),
    );
  }

  outsideTransaction<T>(during: () => Promise<T>): Promise<T> {
    const release = this.#options.outsideTransaction;
    if (release === undefined) return during();
    return this.#serialize(async () => {
      if (this.#closed) throw new Error(`CardChannel for ${this.readerId} used after its operation ended`);
      if (this.#outside) throw new Error("outsideTransaction cannot nest");
      this.#outside = true;
      try {
        return await release(during);
      } finally {
        this.#outside = false;
      }
    });
  }

  #outsideError(): Error {
    return new Error(`CardChannel for ${this.readerId} used while its transaction is released`);
  }

  #serialize<T>(call: () => Promise<T>): Promise<T> {
    // The common case (a driver awaiting each call) skips the chaining.
    if (this.#inFlight === 0) {
      this.#inFlight += 1;
      const result = call();
      this.#tail = result.then(
        () => void (this.#inFlight -= 1),
        () => void (this.#inFlight -= 1),
      );
      return result;
    }
    this.#inFlight += 1;
    const result = this.#tail.then(call);
    this.#tail = result.then(
      () => void (this.#inFlight -= 1),
      () => void (this.#inFlight -= 1),
    );
    return result;
  }

  #guard<T>(operation: string, timeoutMs: number, call: (card: PcscCard) => Promise<T>): Promise<T> {
    if (this.#closed) {
      return Promise.reject(new Error(`CardChannel for ${this.readerId} used after its operation ended`));
    }

    if (this.#abandoned)
      return Promise.reject(new PasserelleError("TIMEOUT", "an earlier APDU on this card timed out"));
    return this.#withTimeout(operation, timeoutMs, call(this.#card)).catch(async (error: unknown) => {
      if (isPasserelleError(error, "TIMEOUT") && this.#abandoned) throw error;
      // Only failures that a removal can cause are worth the check: not "unsupported feature",
      // and not a service failure (SCARD_E_NO_SERVICE…), which must stay PCSC_UNAVAILABLE so the
      // owner drops the dead context and the web app retries.
      if (recoveryOf(error) === "card" && (await this.#cardGone(error))) {
        throw new PasserelleError("CARD_REMOVED", `${operation}: the card was removed`, {}, error);
      }
      throw error;
    });
  }

  /**
   * Whether the card went away, asked after `failure`. When the service cannot answer either,
   * `failure` is what happened: it is rethrown unchanged (never guessed into CARD_REMOVED).
   */
  async #cardGone(failure: unknown): Promise<boolean> {
    let stillThere: boolean;
    try {
      stillThere = await this.#options.cardStillThere();
    } catch {
      throw failure;
    }
    return !stillThere;
  }

  /** `pending`, or TIMEOUT after timeoutMs (the native call then goes on: see `abandoned`). */
  #withTimeout<T>(operation: string, timeoutMs: number, pending: Promise<T>): Promise<T> {
    if (!(timeoutMs > 0 && Number.isFinite(timeoutMs))) return pending;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#abandoned = pending.catch(() => undefined);
        reject(new PasserelleError("TIMEOUT", `${operation}: no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      pending.then(
        (value) => {
          clearTimeout(timer);
          resolve(value);
        },
        (error: unknown) => {
          clearTimeout(timer);
          reject(error);
        },
      );
    });
  }
}
