import { readerView } from "../views.ts";
import type { Handlers } from "./types.ts";

export const readerHandlers: Handlers = {
  "readers.list": async (_params, { services }) => ({ readers: services.readers.list().map(readerView) }),
  "events.subscribe": async (params, { connection }) => {
    connection.subscribe(params.topics);
    return { topics: [...connection.topics] };
  },
};
