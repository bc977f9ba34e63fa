/**
 * Card recognition by ATR, from the data in card-table.json (never from the reader's name: a
 * dual-slot SESAM-Vitale terminal shows two identical readers).
 */
import type { CardType } from "@passerelle/protocol";
import { CardTable, type CardTableEntry } from "./card-table.ts";
import tableJson from "./card-table.json" with { type: "json" };

export interface RecognizedCard {
  readonly type: CardType;
  /** The card-table entry id, or "unknown". */
  readonly id: string;
  readonly label: string;
  readonly generation?: string;
  readonly extendedLength?: boolean;
  /** The most one GET RESPONSE asks (card-table.json `maxGetResponse`). */
  readonly maxGetResponse?: number;
  /** Read through a contactless interface (card-table.json `contactless`). */
  readonly contactless?: boolean;
}

export const UNKNOWN_CARD: RecognizedCard = { type: "unknown", id: "unknown", label: "unknown card" };

interface CompiledEntry {
  readonly entry: CardTableEntry;
  readonly test: (atr: Uint8Array) => boolean;
}

const fromHex = (hex: string): Uint8Array => Uint8Array.from(Buffer.from(hex, "hex"));

function compile(entry: CardTableEntry): CompiledEntry {
  const { match } = entry;
  if ("contains" in match) {
    const needle = fromHex(match.contains);
    return { entry, test: (atr) => indexOf(atr, needle) >= 0 };
  }
  const expected = fromHex(match.atr);
  const mask = match.mask === undefined ? new Uint8Array(expected.length).fill(0xff) : fromHex(match.mask);
  return {
    entry,
    test: (atr) =>
      atr.length === expected.length &&
      atr.every(
        (byte, i) => (byte & (mask[i] as number)) === ((expected[i] as number) & (mask[i] as number)),
      ),
  };
}

function indexOf(haystack: Uint8Array, needle: Uint8Array): number {
  outer: for (let i = 0; i + needle.length <= haystack.length; i += 1) {
    for (let j = 0; j < needle.length; j += 1) if (haystack[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

/** Compiles a card table (throws a ZodError naming the bad entry when the data is invalid). */
export function compileCardTable(data: unknown): (atr: Uint8Array) => RecognizedCard {
  const table = CardTable.parse(data);
  const compiled = table.cards.map(compile);
  return (atr) => {
    const hit = compiled.find((candidate) => candidate.test(atr));
    if (hit === undefined) return UNKNOWN_CARD;
    const { id, type, label, generation, extendedLength, contactless, maxGetResponse } = hit.entry;
    return {
      id,
      type,
      label,
      ...(generation === undefined ? {} : { generation }),
      ...(extendedLength === undefined ? {} : { extendedLength }),
      ...(contactless === undefined ? {} : { contactless }),
      ...(maxGetResponse === undefined ? {} : { maxGetResponse }),
    };
  };
}

/** Recognizes a card by its ATR with the built-in table. */
export const recognizeCard: (atr: Uint8Array) => RecognizedCard = compileCardTable(tableJson);
