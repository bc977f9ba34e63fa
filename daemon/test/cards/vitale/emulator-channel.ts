/**
 * Test-only CardChannel over a CardEmulator, standing in for the PC/SC layer in unit tests: short
 * APDU encoding plus the T=0 round trips (61xx → GET RESPONSE, 6Cxx → same command with Le = xx)
 * that the real CardChannel performs below the driver. It counts both levels:
 * `commands` (what the driver sent) and `exchanges` (what reached the card).
 */
import type { CardChannel, CommandApdu, ResponseApdu } from "../../../src/pcsc/apdu.ts";
import type { CardEmulator } from "../../../src/simulator/card-emulator.ts";
import { PasserelleError } from "../../../src/errors.ts";

export interface CountingChannel extends CardChannel {
  commands: number;
  exchanges: number;
  readonly log: string[];
  /** Simulates pulling the card out after this many more card exchanges. */
  removeAfter(exchanges: number): void;
}

function encode(command: CommandApdu): Uint8Array {
  const header = [command.cla, command.ins, command.p1, command.p2];
  const data = command.data ?? new Uint8Array();
  if (data.length > 255 || (command.le ?? 0) > 256) throw new Error("short APDUs only in this adapter");
  const body = data.length > 0 ? [data.length, ...data] : [];
  const le = command.le === undefined ? [] : [command.le & 0xff];
  return Uint8Array.from([...header, ...body, ...le]);
}

export function emulatorChannel(
  emulator: CardEmulator,
  options: { readerId?: string; insertion?: number } = {},
): CountingChannel {
  let removeIn: number | undefined;
  const log: string[] = [];
  const channel: CountingChannel = {
    readerId: options.readerId ?? "Test Reader 00 00",
    atr: emulator.atr,
    insertion: options.insertion ?? 1,
    commands: 0,
    exchanges: 0,
    log,
    removeAfter(exchanges) {
      removeIn = exchanges;
    },
    async control() {
      throw new PasserelleError("CARD_ERROR", "no control in the test adapter");
    },
    async transmit(command) {
      channel.commands += 1;
      const raw = async (bytes: Uint8Array): Promise<ResponseApdu> => {
        if (removeIn !== undefined) {
          if (removeIn <= 0) throw new PasserelleError("CARD_REMOVED");
          removeIn -= 1;
        }
        channel.exchanges += 1;
        const out = await emulator.transmit(bytes);
        log.push(`${Buffer.from(bytes).toString("hex")} -> ${Buffer.from(out).toString("hex")}`);
        const sw = ((out[out.length - 2] ?? 0) << 8) | (out[out.length - 1] ?? 0);
        return { data: out.subarray(0, out.length - 2), sw };
      };
      let response = await raw(encode(command));
      if (response.sw >> 8 === 0x6c)
        response = await raw(encode({ ...command, le: response.sw & 0xff || 256 }));
      const chunks: Uint8Array[] = [response.data];
      while (response.sw >> 8 === 0x61) {
        response = await raw(
          encode({ cla: command.cla, ins: 0xc0, p1: 0, p2: 0, le: response.sw & 0xff || 256 }),
        );
        chunks.push(response.data);
      }
      return { data: Uint8Array.from(chunks.flatMap((chunk) => [...chunk])), sw: response.sw };
    },
  };
  return channel;
}
