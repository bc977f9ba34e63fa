/** Test adapter: a CardChannel over an emulated (or replayed) card through the daemon's real APDU transport. */
import type { CardChannel, CommandApdu, ResponseApdu } from "../../../src/pcsc/apdu.ts";
import { exchange } from "../../../src/pcsc/apdu-transport.ts";
import type { CardEmulator } from "../../../src/simulator/card-emulator.ts";

/**
 * A CardChannel over whichever card is in it now, through the daemon's own APDU transport as
 * pcscd would carry it on T=0 (no extended length). Swapping the card keeps the insertion: the
 * driver's cache stays, as for a card whose answers change under it.
 */
export class TransportChannel implements CardChannel {
  readonly readerId = "Replay Reader 00 00";
  readonly insertion = 1;
  readonly atr: Uint8Array;
  /** Every raw C-APDU that reached the card. */
  readonly raw: Uint8Array[] = [];
  card: CardEmulator;

  readonly #maxGetResponse: number | undefined;

  /** `maxGetResponse`: the card table's limit for this card (recognizeCard), as the daemon sets it. */
  constructor(card: CardEmulator, maxGetResponse?: number) {
    this.card = card;
    this.atr = card.atr;
    this.#maxGetResponse = maxGetResponse;
  }

  transmit(command: CommandApdu): Promise<ResponseApdu> {
    return exchange(
      command,
      async (bytes) => {
        this.raw.push(Uint8Array.from(bytes));
        return this.card.transmit(bytes);
      },
      {
        extendedLength: false,
        t0: true,
        ...(this.#maxGetResponse === undefined ? {} : { maxGetResponse: this.#maxGetResponse }),
      },
    );
  }

  async control(): Promise<Uint8Array> {
    throw new Error("no PIN pad");
  }

  outsideTransaction<T>(during: () => Promise<T>): Promise<T> {
    return during();
  }
}
