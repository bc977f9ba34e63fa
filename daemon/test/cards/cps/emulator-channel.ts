/**
 * Test adapter: a CardChannel over a CardEmulator, with short-APDU encoding and the 61xx / 6Cxx
 * handling the real PC/SC layer does. Counts APDUs, can simulate a removal after N commands, and a
 * fake SCardControl for PIN pad tests.
 */
import type { CardChannel, CommandApdu, ResponseApdu } from "../../../src/pcsc/apdu.ts";
import type { CardEmulator } from "../../../src/simulator/card-emulator.ts";
import { PasserelleError } from "../../../src/errors.ts";

export function encodeShort(command: CommandApdu): Uint8Array {
  const bytes = [command.cla, command.ins, command.p1, command.p2];
  if (command.data && command.data.length > 0) {
    if (command.data.length > 255) throw new RangeError("test adapter: short APDUs only");
    bytes.push(command.data.length, ...command.data);
  }
  if (command.le !== undefined) bytes.push(command.le >= 256 ? 0 : command.le);
  return Uint8Array.from(bytes);
}

export class EmulatorChannel implements CardChannel {
  readonly readerId: string;
  atr: Uint8Array;
  insertion = 1;
  /** Commands the driver sent (one per transmit, GET RESPONSE rounds not counted). */
  readonly sent: CommandApdu[] = [];
  /** Throw CARD_REMOVED on the command with this index (0-based), then stay removed. */
  removeAt: number | undefined;
  removed = false;
  controlHandler: ((code: number, data: Uint8Array) => Promise<Uint8Array>) | undefined;
  readonly controls: Array<{ code: number; data: Uint8Array }> = [];
  #card: CardEmulator;

  constructor(card: CardEmulator, readerId = "Test Reader 00 00") {
    this.#card = card;
    this.atr = card.atr;
    this.readerId = readerId;
  }

  /** Pull the card and put another one in (new insertion). */
  insert(card: CardEmulator): void {
    this.#card = card;
    this.atr = card.atr;
    this.insertion += 1;
    this.removed = false;
    this.removeAt = undefined;
    card.reset();
  }

  async transmit(command: CommandApdu): Promise<ResponseApdu> {
    if (this.removed || (this.removeAt !== undefined && this.sent.length >= this.removeAt)) {
      this.removed = true;
      throw new PasserelleError("CARD_REMOVED");
    }
    this.sent.push(command);
    let raw = await this.#card.transmit(encodeShort(command));
    let sw = (raw[raw.length - 2]! << 8) | raw[raw.length - 1]!;
    if (sw >> 8 === 0x6c) {
      raw = await this.#card.transmit(encodeShort({ ...command, le: sw & 0xff || 256 }));
      sw = (raw[raw.length - 2]! << 8) | raw[raw.length - 1]!;
    }
    let data = raw.subarray(0, raw.length - 2);
    while (sw >> 8 === 0x61) {
      const more = await this.#card.transmit(Uint8Array.of(0x00, 0xc0, 0x00, 0x00, sw & 0xff));
      data = Uint8Array.from([...data, ...more.subarray(0, more.length - 2)]);
      sw = (more[more.length - 2]! << 8) | more[more.length - 1]!;
    }
    return { data: Uint8Array.from(data), sw };
  }

  async control(code: number, data: Uint8Array): Promise<Uint8Array> {
    this.controls.push({ code, data: Uint8Array.from(data) });
    if (!this.controlHandler)
      throw new PasserelleError("CARD_ERROR", "SCardControl unsupported by this reader");
    return this.controlHandler(code, data);
  }
}
