/** pin.*: the daemon's own PIN page (self origin only, enforced by the connection). */
import type { Handlers } from "./types.ts";

export const pinHandlers: Handlers = {
  "pin.pending": async (_params, { services }) => ({ requests: services.pinPage.list() }),
  "pin.submit": async ({ requestId, pin }, { services }) => {
    services.pinPage.submit(requestId, pin);
    return { accepted: true as const };
  },
  "pin.cancel": async ({ requestId }, { services }) => {
    services.pinPage.cancel(requestId);
    return { cancelled: true as const };
  },
};
