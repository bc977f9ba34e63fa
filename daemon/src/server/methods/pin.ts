/** pin.*: the daemon's own PIN page (self origin only, enforced by the connection). */
import type { Handlers } from "./types.ts";

export const pinHandlers: Handlers = {
  "pin.pending": async (_params, { services }) => ({ requests: services.pinPage.list() }),
  // Answers once the card has: the page then tells the user the truth (a wrong PIN is PIN_INCORRECT).
  "pin.submit": async ({ requestId, pin }, { services }) => services.pinPage.submit(requestId, pin),
  "pin.cancel": async ({ requestId }, { services }) => {
    services.pinPage.cancel(requestId);
    return { cancelled: true as const };
  },
};
