/**
 * The PIN verification every CPS generation runs, once: the refusals that need no card, the fresh
 * counter and the last-try rule, the route (page PIN, PIN pad, the daemon's PIN page with the card's
 * transaction released), the same-card check after the PIN page, VERIFY and its outcome, and telling
 * the PIN page what the card answered. Order and reasons: docs/cards.md, "PIN".
 *
 * What differs between generations is only how the card is spoken to — the CPS3 reads its counter
 * with SELECT MF + GET DATA on the CHV SDO, the CPS4 selects its applet on channel 1 and sends an
 * empty VERIFY — so each driver gives a `PinCard` (its commands, bound to one channel and one cache
 * entry) and keeps its state in its own cache entry (`PinState`).
 */
import { isPasserelleError, PasserelleError } from "../../errors.ts";
import type { CardChannel } from "../../pcsc/apdu.ts";
import {
  buildPinBlock,
  buildPinVerifyStructure,
  checkPinFormat,
  checkTriesBeforeVerify,
  choosePinRoute,
  CM_IOCTL_GET_FEATURE_REQUEST_FUNCTION,
  FEATURE_VERIFY_PIN_DIRECT,
  parseFeatures,
  PinFormatError,
  scardCtlCode,
  type VerifyPinRequest,
} from "./pin.ts";
import { Pkcs15Error, type PinEntry } from "./pkcs15.ts";

export interface CpsVerifyPinResult {
  readonly verified: true;
  readonly triesRemaining: number;
}

/** The PIN state a driver keeps per insertion (its cache entry has these fields). */
export interface PinState {
  /** The card's own security state: the PIN was verified since insertion. */
  verified: boolean;
  /**
   * The web origins whose user entered the PIN since insertion. The card, once unlocked, would
   * sign for anyone: an origin may only use the keys after its own PIN entry, never on another's.
   */
  readonly verifiedFor: Set<string>;
  triesRemaining: number | undefined;
}

/** The generation's half of a PIN verification: its commands, for one card in one channel. */
export interface PinCard {
  /** The PIN object of the card's AODF. */
  readonly pin: PinEntry;
  /** Class byte of the VERIFY template a PIN pad fills (00; 01 for the CPS4's channel 1). */
  readonly cla: number;
  /** The serial read with the card's data (EF.SN.ICC, without the ANS issuer number). */
  readonly serial: Uint8Array;
  /**
   * Puts the card where its counter and VERIFY are sent, before the first counter and again after
   * the PIN page (CPS4: the ChipDoc applet on channel 1, which a reset closes; CPS3: nothing).
   */
  prepare(): Promise<void>;
  /** The tries counter, fresh from the card (kept in the PinState by the driver). */
  readTries(): Promise<number>;
  /** The counter after a correct PIN, when the card says it (undefined: the one seen before). */
  maxTries(): number | undefined;
  /** EF.SN.ICC read again; throws a Pkcs15Error, CARD_ERROR or WRONG_CARD when it shows none. */
  readSerial(): Promise<Uint8Array>;
  /** VERIFY with this block; its status word. */
  verify(block: Uint8Array): Promise<number>;
  /** The driver's CARD_ERROR (its generation's message), naming the step. */
  cardError(step: string, sw?: number, message?: string): PasserelleError;
  /** Drops everything the driver knows about this reader (another card is in it). */
  forget(): void;
}

/** PIN pad status words (PC/SC v2 part 10 §2.5.2). */
const PIN_PAD_TIMEOUT = 0x6400;
const PIN_PAD_CANCELLED = 0x6401;
const SW_OK = 0x9000;
const SW_AUTHENTICATION_BLOCKED = 0x6983;

const sameBytes = (a: Uint8Array, b: Uint8Array): boolean =>
  a.length === b.length && a.every((x, i) => x === b[i]);

/** The card unlocked no origin any more (a wrong PIN, a reset, a card that wants the PIN again). */
export function dropVerification(state: PinState): void {
  state.verified = false;
  state.verifiedFor.clear();
}

/**
 * Which readers have a PIN pad: the part 10 control code of FEATURE_VERIFY_PIN_DIRECT per reader,
 * or null when it has none; probed once per reader.
 */
export class PinPads {
  readonly #codes = new Map<string, number | null>();

  forget(readerId: string): void {
    this.#codes.delete(readerId);
  }

  async code(channel: CardChannel): Promise<number | null> {
    const known = this.#codes.get(channel.readerId);
    if (known !== undefined) return known;
    let code: number | null = null;
    try {
      const features = parseFeatures(
        await channel.control(scardCtlCode(CM_IOCTL_GET_FEATURE_REQUEST_FUNCTION), new Uint8Array()),
      );
      code = features.get(FEATURE_VERIFY_PIN_DIRECT) ?? null;
    } catch (error) {
      // A reader without SCardControl support (vpcd, most plain readers) has no PIN pad.
      if (!(error instanceof PasserelleError) || error.reason === "CARD_REMOVED") throw error;
    }
    this.#codes.set(channel.readerId, code);
    return code;
  }
}

/**
 * cps.verifyPin. Checks, in this order and before any VERIFY: the page PIN's format and the policy
 * for it (no APDU at all), the card (`open`: read, or taken from the cache), the tries counter
 * (PIN_BLOCKED; PIN_LAST_TRY for a page's PIN always, otherwise unless confirmLastTry), the route;
 * then asks for the PIN and verifies it.
 */
export async function runPinVerification(
  channel: CardChannel,
  request: VerifyPinRequest,
  pinPads: PinPads,
  open: () => Promise<{ state: PinState; card: PinCard }>,
): Promise<CpsVerifyPinResult> {
  // Refusals that need no card come first: nothing is sent for them.
  if (request.pin !== undefined) {
    checkPinFormat(request.pin);
    if (!request.pinFromPage)
      choosePinRoute({ pagePin: true, pinFromPage: false, pinPad: false, prompt: false });
  }
  const { state, card } = await open();
  await card.prepare();
  let tries = await card.readTries();
  checkTriesBeforeVerify(tries, request);
  const pinPad =
    request.pin === undefined && request.usePinPad !== false ? await pinPads.code(channel) : null;
  const route = choosePinRoute({
    pagePin: request.pin !== undefined,
    pinFromPage: request.pinFromPage,
    pinPad: pinPad !== null,
    prompt: request.prompt !== undefined,
  });
  // The PIN page waits for the card's answer (pin.submit): it is told the outcome, whatever it is.
  const answered = (outcome: CpsVerifyPinResult | { error: unknown }): void => {
    if (route === "prompt") request.prompt?.answered?.(outcome);
  };
  let sw: number;
  if (route === "pinpad") {
    const answer = await channel.control(pinPad!, buildPinVerifyStructure(card.pin, card.cla));
    if (answer.length < 2) throw card.cardError("PIN pad verify");
    sw = (answer[answer.length - 2]! << 8) | answer[answer.length - 1]!;
    if (sw === PIN_PAD_TIMEOUT) throw new PasserelleError("TIMEOUT", "nobody typed the PIN on the PIN pad");
    if (sw === PIN_PAD_CANCELLED)
      throw new PasserelleError("USER_CANCELLED", "PIN entry cancelled on the PIN pad");
  } else {
    const pin = route === "page" ? request.pin! : await askOutsideTransaction(channel, request, tries);
    try {
      if (route === "prompt" && channel.outsideTransaction !== undefined) {
        // The card was free meanwhile: a reset may have changed its current application, another
        // card with the same ATR may be in the reader (only the serial tells), another application
        // may have spent a try. All three are checked before the PIN goes anywhere.
        await card.prepare();
        await checkSameCard(card);
        tries = await card.readTries();
        checkTriesBeforeVerify(tries, request);
      }
      let block: Uint8Array;
      try {
        block = buildPinBlock(pin, card.pin);
      } catch (error) {
        if (error instanceof PinFormatError && route === "prompt") {
          throw new PasserelleError("PIN_INCORRECT", "the PIN page returned a malformed PIN", {
            triesRemaining: tries,
          });
        }
        throw error;
      }
      try {
        sw = await card.verify(block);
      } finally {
        block.fill(0);
      }
    } catch (error) {
      answered({ error });
      throw error;
    }
  }
  let outcome: CpsVerifyPinResult;
  try {
    outcome = verifyOutcome(state, card, sw, tries);
  } catch (error) {
    answered({ error });
    throw error;
  }
  state.verifiedFor.add(request.origin);
  answered(outcome);
  return outcome;
}

/**
 * The daemon's PIN page, the person typing with the card's transaction released
 * (CardChannel.outsideTransaction): Windows resets a card held idle in a transaction for more than
 * 5 s. A failure after the page gave a PIN (the card left meanwhile…) is told to the page.
 */
async function askOutsideTransaction(
  channel: CardChannel,
  request: VerifyPinRequest,
  triesRemaining: number,
): Promise<string> {
  const asked = { origin: request.origin, readerId: channel.readerId, triesRemaining };
  let typed = false;
  const ask = async () => {
    const answer = await request.prompt!.ask(asked);
    typed = true;
    return answer;
  };
  try {
    return channel.outsideTransaction ? await channel.outsideTransaction(ask) : await ask();
  } catch (error) {
    if (typed) request.prompt?.answered?.({ error });
    throw error;
  }
}

/**
 * After the card was released (the PIN page): its serial again, compared with the one read at
 * insertion. Another card — the same ATR, so PC/SC saw nothing if the swap was quick — drops
 * everything known about the reader: CARD_REMOVED (`details.replaced`), retriable.
 */
async function checkSameCard(card: PinCard): Promise<void> {
  let serial: Uint8Array | undefined;
  try {
    serial = await card.readSerial();
  } catch (error) {
    // A card that cannot show a CPx serial is not the card that was read.
    if (
      !(error instanceof Pkcs15Error) &&
      !isPasserelleError(error, "CARD_ERROR") &&
      !isPasserelleError(error, "WRONG_CARD")
    )
      throw error;
  }
  if (serial === undefined || !sameBytes(serial, card.serial)) {
    card.forget();
    throw new PasserelleError("CARD_REMOVED", "another card is in the reader (its serial differs)", {
      replaced: true,
    });
  }
}

/** VERIFY's status word: verified, or the typed refusal with the tries left. */
function verifyOutcome(state: PinState, card: PinCard, sw: number, before: number): CpsVerifyPinResult {
  if (sw === SW_OK) {
    state.verified = true;
    // A correct PIN resets the counter to its maximum.
    state.triesRemaining = Math.max(before, card.maxTries() ?? before);
    return { verified: true, triesRemaining: state.triesRemaining };
  }
  dropVerification(state);
  if (sw === SW_AUTHENTICATION_BLOCKED || sw === 0x63c0) {
    state.triesRemaining = 0;
    throw new PasserelleError("PIN_BLOCKED", undefined, { triesRemaining: 0 });
  }
  if ((sw & 0xfff0) === 0x63c0) {
    state.triesRemaining = sw & 0x0f;
    throw new PasserelleError("PIN_INCORRECT", undefined, { triesRemaining: sw & 0x0f });
  }
  throw card.cardError("VERIFY", sw);
}
