/**
 * How the daemon's internal reader and card states are shown on the wire (protocol shapes).
 */
import type { CardInfo, Reader } from "@passerelle/protocol";
import type { ReaderState } from "../pcsc/readers.ts";
import { cardTypeOf } from "../cards/card-type.ts";
import { cpsGenerationOf } from "../cards/cpx/index.ts";

export function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("hex").toUpperCase();
}

export function cardInfo(atr: Uint8Array): CardInfo {
  const generation = cpsGenerationOf(atr);
  return { type: cardTypeOf(atr), atr: hex(atr), ...(generation === undefined ? {} : { generation }) };
}

export function readerView(state: ReaderState): Reader {
  const view: Reader = { id: state.id, name: state.name, cardPresent: state.cardPresent };
  if (state.cardPresent && state.atr) view.card = cardInfo(state.atr);
  return view;
}
