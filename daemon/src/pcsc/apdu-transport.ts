/**
 * The APDU transport: turns one driver command into the round trips the card needs, and hands
 * back one final response. Handles (ISO/IEC 7816-3 §12.2, 7816-4 §5):
 *  - short or extended encoding, chosen from the card's capabilities;
 *  - command chaining (CLA b5) when the data does not fit and the card has no extended length;
 *  - `61xx`: GET RESPONSE with Le = min(xx, Ne − received) until the card has nothing left or
 *    the driver has its Ne bytes (T=0 cards, vicc);
 *  - `9Fxx` for GSM-class commands (CLA A0, CPS2ter volet): same as 61xx;
 *  - `6Cxx`: resend the same command with Le = xx, the answer cut to Ne bytes.
 *  - on T=0, a case-4 command (data and Le) goes without its Le: the TPDU is case 3 and the card
 *    says 61xx (ISO/IEC 7816-3 §12.2.4; what the ANS Cryptolib's apdu.c does for SC_PROTO_T0, and
 *    the form real CPx traces show: `00 CB 3F FF 0A …` → `61 18`, OpenSC issue #2275).
 * Ne is the driver's Le; Le 256 (short `00`) and no Le put no bound (see the end of `exchange`).
 * Each raw answer is decoded (length-checked) before use. The raw link is injected so this stays
 * testable with hex fixtures.
 */
import { PasserelleError } from "../errors.ts";
import type { CommandApdu, ResponseApdu } from "./apdu.ts";
import {
  SHORT_MAX_DATA,
  SHORT_MAX_LE,
  EXTENDED_MAX_LE,
  chainCommand,
  decodeResponse,
  encodeCommand,
  fitsShort,
  getResponseCommand,
  hexSw,
  validateCommand,
} from "./apdu-codec.ts";

/** A card that keeps answering 61xx/6Cxx is broken: cap the round trips of one command. */
export const MAX_ROUNDS_PER_COMMAND = 512;
/** `6Cxx` is answered once; a second `6Cxx` for the same command is returned to the driver. */
export const MAX_WRONG_LE_RESENDS = 1;
/** Cap on the data accumulated through GET RESPONSE for one command. */
export const MAX_RESPONSE_DATA = EXTENDED_MAX_LE;
/** GSM 11.11 class byte, whose "response available" status is 9Fxx instead of 61xx. */
export const CLA_GSM = 0xa0;

export interface ApduCapabilities {
  /** The card accepts extended Lc/Le (ATR card capabilities, or the card table says so). */
  readonly extendedLength: boolean;
  /** The negotiated protocol is T=0: case-4 commands are sent without Le (default false). */
  readonly t0?: boolean;
  /**
   * The most a GET RESPONSE asks for (1..256; default 256), for cards whose own middleware never
   * asks more: the ANS Cryptolib asks a CPS3 for 0xE7 bytes at a time, `61 00` included (the card
   * table's `maxGetResponse`; docs/cards.md). The rest comes as 61xx, followed as usual.
   */
  readonly maxGetResponse?: number;
}

/** Sends one encoded C-APDU and returns the raw R-APDU bytes. */
export type RawTransmit = (command: Uint8Array) => Promise<Uint8Array>;

function protocolError(message: string, details: Record<string, unknown> = {}): PasserelleError {
  return new PasserelleError("CARD_ERROR", message, details);
}

export async function exchange(
  command: CommandApdu,
  transmitRaw: RawTransmit,
  capabilities: ApduCapabilities,
): Promise<ResponseApdu> {
  validateCommand(command);
  let parts: CommandApdu[] = [command];
  if (!fitsShort(command) && !capabilities.extendedLength) {
    // No extended length: chain the data, and ask for at most 256 bytes at a time; the card then
    // says 61xx for the rest.
    parts = chainCommand(command, SHORT_MAX_DATA).map((part) =>
      part.le !== undefined && part.le > SHORT_MAX_LE ? { ...part, le: SHORT_MAX_LE } : part,
    );
  }

  // Plain functions and a counter, no closures made per command: this runs for every APDU
  // (bench/apdu.ts measures it against a bare Transmit).
  const rounds = { count: 0 };

  // Every part of a chain but the last must be accepted with 9000; anything else ends the chain
  // and goes back to the driver as the answer.
  for (let i = 0; i < parts.length - 1; i += 1) {
    const answer = await send(parts[i] as CommandApdu, transmitRaw, capabilities, rounds);
    if (answer.sw !== 0x9000) return answer;
    if (answer.data.length > 0) throw protocolError("data in the answer to a chained command part");
  }

  // Ne, the most the driver wants: the bound for GET RESPONSE and for a 6Cxx resend's answer.
  const ne = command.le === undefined || command.le === SHORT_MAX_LE ? undefined : command.le;
  let current = parts[parts.length - 1] as CommandApdu;
  const chunks: Uint8Array[] = [];
  let total = 0;
  let wrongLeResends = 0;
  let resentWithCardLe = false;
  for (;;) {
    const answer = await send(current, transmitRaw, capabilities, rounds);
    const sw1 = answer.sw >> 8;
    const sw2 = answer.sw & 0xff;
    if (sw1 === 0x6c && wrongLeResends < MAX_WRONG_LE_RESENDS) {
      // Wrong Le: the card tells the right one and sends nothing else (ISO/IEC 7816-3 §12.2.2,
      // case 2S.3). It only answers with exactly Na = xx: ask that, and give the driver at most
      // the Ne bytes it asked for (a card may want Na > Ne).
      wrongLeResends += 1;
      resentWithCardLe = true;
      current = { ...current, le: sw2 === 0 ? SHORT_MAX_LE : sw2 };
      continue;
    }
    total += answer.data.length;
    if (total > MAX_RESPONSE_DATA) throw protocolError(`response data over ${MAX_RESPONSE_DATA} bytes`);
    chunks.push(answer.data);
    const moreData = sw1 === 0x61 || (sw1 === 0x9f && (command.cla & 0xff) === CLA_GSM);
    if (moreData) {
      // ISO/IEC 7816-3 §12.2.4 (case 4S.3): GET RESPONSE with Le = min(Ne, xx), here min(xx, what
      // the driver still wants). Once it has its Ne bytes, the 61xx goes back to it with them:
      // the card has more, the driver can ask for it.
      const available = Math.min(sw2 === 0 ? SHORT_MAX_LE : sw2, capabilities.maxGetResponse ?? SHORT_MAX_LE);
      const wanted = ne === undefined ? available : Math.min(available, ne - total);
      if (wanted > 0) {
        current = getResponseCommand(command.cla, wanted);
        wrongLeResends = 0;
        continue;
      }
    }
    let data = concat(chunks, total);
    if (resentWithCardLe && ne !== undefined && data.length > ne) data = data.slice(0, ne);
    // A card may send fewer bytes than Le, never more (ISO/IEC 7816-4 §5.1). Le 256 (short `00`,
    // "as much as fits") is the exception: a short-only card chains a longer answer with 61xx.
    if (command.le !== undefined && command.le !== SHORT_MAX_LE && data.length > command.le) {
      throw protocolError(`card sent ${data.length} bytes for Le ${command.le}`, {
        sw: hexSw(answer.sw),
        responseLength: data.length,
      });
    }
    return { data, sw: answer.sw };
  }
}

/** One round trip: the TPDU for this reader, bounded in number per command. */
async function send(
  c: CommandApdu,
  transmitRaw: RawTransmit,
  capabilities: ApduCapabilities,
  rounds: { count: number },
): Promise<ResponseApdu> {
  rounds.count += 1;
  if (rounds.count > MAX_ROUNDS_PER_COMMAND)
    throw protocolError("too many response round trips for one command");
  return decodeResponse(await transmitRaw(encode(c, capabilities)));
}

function encode(c: CommandApdu, capabilities: ApduCapabilities): Uint8Array {
  const tpdu =
    capabilities.t0 === true && c.le !== undefined && c.data !== undefined && c.data.length > 0
      ? withoutLe(c)
      : c;
  return encodeCommand(tpdu, fitsShort(tpdu) || !capabilities.extendedLength ? "short" : "extended");
}

function withoutLe(command: CommandApdu): CommandApdu {
  const { le: _dropped, ...rest } = command;
  return rest;
}

function concat(chunks: readonly Uint8Array[], total: number): Uint8Array {
  if (chunks.length === 1) return chunks[0] as Uint8Array;
  const out = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}
