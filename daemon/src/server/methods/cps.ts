import { chooseReader, readersToChooseFrom } from "../../cards/choose-reader.ts";
import { readCps, verifyCpsPin } from "../../cards/cpx/index.ts";
import { PasserelleError, isPasserelleError } from "../../errors.ts";
import type { Handlers } from "./types.ts";

export const cpsHandlers: Handlers = {
  "cps.read": async (params, { services }) => {
    const readerId = chooseReader(readersToChooseFrom(services.readers), "cps", params.readerId);
    const result = await services.readers.withCard(readerId, (card) => readCps(card));
    return { readerId, ...result };
  },
  "cps.verifyPin": async (params, { origin, services, connection }) => {
    // Checked before queueing for the card, which the pending request holds while the user types.
    if (services.pinPage.hasPending(origin)) {
      throw new PasserelleError("BUSY", "a PIN request is already pending for this origin");
    }
    const readerId = chooseReader(readersToChooseFrom(services.readers), "cps", params.readerId);
    const started = performance.now();
    const prompt = services.pinPage.promptFor(origin, connection.closed);
    try {
      const result = await services.readers.withCard(readerId, (card) =>
        verifyCpsPin(card, {
          origin,
          pinFromPage: services.access.pinFromPage(origin),
          prompt,
          ...(params.pin !== undefined ? { pin: params.pin } : {}),
          ...(params.confirmLastTry !== undefined ? { confirmLastTry: params.confirmLastTry } : {}),
        }),
      );
      // The audit record is on disk before the web app hears the answer.
      await services.audit.record({
        kind: "pin",
        origin,
        method: "cps.verifyPin",
        durationMs: performance.now() - started,
      });
      return result;
    } catch (error) {
      await services.audit.record({
        kind: "pin",
        origin,
        method: "cps.verifyPin",
        reason: isPasserelleError(error) ? error.reason : "INTERNAL",
        durationMs: performance.now() - started,
      });
      throw error;
    }
  },
};
