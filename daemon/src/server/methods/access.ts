import type { Handlers } from "./types.ts";

export const accessHandlers: Handlers = {
  "access.request": async (params, { origin, services }) => services.access.request(origin, params.appName),
};
