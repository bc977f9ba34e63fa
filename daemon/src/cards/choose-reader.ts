/**
 * Which reader a card method works on when the web app does not say (`readerId` absent): the one
 * reader holding a card of the wanted type. Pure: reader states in, a reader id or a typed error
 * out. Used by `vitale.read` and `cps.read` (a SESAM-Vitale terminal has a slot for each card).
 * While the PC/SC service is down no reader can be seen at all: that is PCSC_UNAVAILABLE, never
 * NO_READER (`readersToChooseFrom`).
 */
import type { CardType } from "@passerelle/protocol";
import type { ReaderState, Readers } from "../pcsc/readers.ts";
import { InvalidParamsError, PasserelleError } from "../errors.ts";
import { recognizeCard } from "./recognize.ts";

export type WantedCardType = Exclude<CardType, "unknown">;

/** The readers a card method chooses from; PCSC_UNAVAILABLE while the PC/SC service is unreachable. */
export function readersToChooseFrom(readers: Pick<Readers, "available" | "list">): readonly ReaderState[] {
  if (!readers.available) throw new PasserelleError("PCSC_UNAVAILABLE");
  return readers.list();
}

/**
 * - `readerId` given: that reader, if it exists (NO_READER) and holds a card (NO_CARD); the driver
 *   then checks the card itself (WRONG_CARD).
 * - otherwise the one reader whose card's ATR says `wanted`; failing that, the one reader whose
 *   card has an ATR we do not know (a newer card generation: the driver will tell).
 * - two or more candidates: InvalidParamsError (-32602) on `readerId`, naming the candidate readers
 *   (reader names are not personal data): the web app must pass `readerId`; retrying as is would not help.
 * - no candidate: WRONG_CARD when cards of another type are present, NO_CARD when there is no card,
 *   NO_READER when there is no reader.
 */
export function chooseReader(
  readers: readonly ReaderState[],
  wanted: WantedCardType,
  readerId?: string,
  typeOf: (atr: Uint8Array) => CardType = (atr) => recognizeCard(atr).type,
): string {
  if (readerId !== undefined) {
    const reader = readers.find((candidate) => candidate.id === readerId);
    if (reader === undefined)
      throw new PasserelleError("NO_READER", `no reader named "${readerId}"`, { readerId });
    if (!reader.cardPresent)
      throw new PasserelleError("NO_CARD", `no card in reader "${readerId}"`, { readerId });
    return reader.id;
  }
  if (readers.length === 0) throw new PasserelleError("NO_READER");

  const withCard = readers.filter((reader) => reader.cardPresent && reader.atr !== undefined);
  const typed = withCard.map((reader) => ({ id: reader.id, type: typeOf(reader.atr ?? new Uint8Array()) }));
  for (const pool of [typed.filter((r) => r.type === wanted), typed.filter((r) => r.type === "unknown")]) {
    const [only, ...others] = pool;
    if (only === undefined) continue;
    if (others.length === 0) return only.id;
    const readerIds = pool.map((r) => r.id);
    throw new InvalidParamsError([
      {
        path: "readerId",
        message: `required: ${readerIds.length} readers may hold a ${wanted} card (${readerIds.map((id) => `"${id}"`).join(", ")})`,
      },
    ]);
  }
  if (typed.length > 0) {
    throw new PasserelleError("WRONG_CARD", `no ${wanted} card in any reader`, {
      cardType: wanted,
      present: typed.map((r) => ({ readerId: r.id, cardType: r.type })),
    });
  }
  throw new PasserelleError("NO_CARD", `no card in any reader`);
}
