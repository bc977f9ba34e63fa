/**
 * The protocol's coarse card type for an ATR. Temporary minimal rules until the ATR card table
 * (cards/recognize.ts, issue 3) lands; then this file delegates to it.
 */
import type { CardType } from "@passerelle/protocol";

// Every CPS3/CPS4 ATR carries the ANS marker 12 25 00 64 80 (cards.md A1).
const CPX_MARKER = [0x12, 0x25, 0x00, 0x64, 0x80];

function contains(haystack: Uint8Array, needle: readonly number[]): boolean {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
}

export function cardTypeOf(atr: Uint8Array): CardType {
  if (contains(atr, CPX_MARKER)) return "cps";
  // Vitale 2: 3B 75 13 00 00 4x 09 EA|FA 90 00; Vitale 1: 3F 65 25 00 …
  if (atr[0] === 0x3b && atr[1] === 0x75 && atr[2] === 0x13) return "vitale";
  if (atr[0] === 0x3f && atr[1] === 0x65 && atr[2] === 0x25) return "vitale";
  return "unknown";
}
