/**
 * The schema of card-table.json: card recognition is data, validated when loaded. An entry
 * matches an ATR either exactly under a mask (`atr` + optional `mask`, same length) or by a byte
 * string the ATR contains (`contains`, for markers such as the ANS CPx bytes 12 25 00 64 80).
 */
import { z } from "zod";

const hexBytes = z
  .string()
  .regex(/^(?:[0-9A-Fa-f]{2})+$/, "an even number of hex digits")
  .max(66, "an ATR has at most 33 bytes");

export const CardMatch = z.union([
  z
    .strictObject({ atr: hexBytes, mask: hexBytes.optional() })
    .refine(
      (m) => m.mask === undefined || m.mask.length === m.atr.length,
      "mask and atr must have the same length",
    ),
  z.strictObject({ contains: hexBytes }),
]);

export const CardTableEntry = z.strictObject({
  id: z.string().regex(/^[a-z0-9][a-z0-9-]*$/),
  type: z.enum(["cps", "vitale", "unknown"]),
  generation: z.string().min(1).optional(),
  label: z.string().min(1),
  match: CardMatch,
  /** The card answers through a contactless interface (a CPS3 then has its "CPx IAS CL" application). */
  contactless: z.boolean().optional(),
  /** Overrides the ATR's card capabilities for APDU encoding (extended Lc/Le). */
  extendedLength: z.boolean().optional(),
  /** The most one GET RESPONSE asks of this card (its middleware's chunk: 231 = 0xE7 for a CPS3). */
  maxGetResponse: z.number().int().min(1).max(256).optional(),
});

export const CardTable = z
  .strictObject({
    $comment: z.string().optional(),
    version: z.literal(1),
    cards: z.array(CardTableEntry).min(1),
  })
  .refine(
    (table) => new Set(table.cards.map((c) => c.id)).size === table.cards.length,
    "card ids must be unique",
  );

export type CardTableEntry = z.infer<typeof CardTableEntry>;
export type CardTable = z.infer<typeof CardTable>;
