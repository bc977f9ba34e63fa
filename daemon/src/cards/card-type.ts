/**
 * The protocol's coarse card type for an ATR, from the card table (cards/recognize.ts).
 */
import type { CardType } from "@passerelle/protocol";
import { recognizeCard } from "./recognize.ts";

export function cardTypeOf(atr: Uint8Array): CardType {
  return recognizeCard(atr).type;
}
