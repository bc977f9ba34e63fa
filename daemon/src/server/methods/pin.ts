/** pin.*: the daemon's own PIN page (self origin only, enforced by the connection). */
import type { Handlers } from "./types.ts";

export const pinHandlers: Handlers = {
  // Asking for the list is what makes a connection a PIN page: the daemon's status page and pin.html
  // do it on every (re)connection; a lab script of the daemon's own origin does not, so it never
  // counts as a page where the user could type a PIN.
  "pin.pending": async (_params, { services, connection }) => {
    connection.showPinRequests();
    return { requests: services.pinPage.list() };
  },
  // Answers once the card has: the page then tells the user the truth (a wrong PIN is PIN_INCORRECT).
  "pin.submit": async ({ requestId, pin }, { services }) => services.pinPage.submit(requestId, pin),
  "pin.cancel": async ({ requestId }, { services }) => {
    services.pinPage.cancel(requestId);
    return { cancelled: true as const };
  },
};
