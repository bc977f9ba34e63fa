import { chooseReader, readersToChooseFrom } from "../../cards/choose-reader.ts";
import type { Handlers } from "./types.ts";

export const vitaleHandlers: Handlers = {
  "vitale.read": async (params, { services }) => {
    const readerId = chooseReader(readersToChooseFrom(services.readers), "vitale", params.readerId);
    const data = await services.readers.withCard(readerId, (card) => services.vitale.read(card));
    return { readerId, ...data };
  },
};
