import { PROTOCOL_VERSION } from "@passerelle/protocol";
import type { Handlers } from "./types.ts";

/** What this build can do, for `system.hello` (grows as concerns land). */
export const CAPABILITIES = ["readers", "events"] as const;

export const systemHandlers: Handlers = {
  "system.hello": async (_params, { origin, services }) => ({
    daemon: { name: "passerelle", version: services.version },
    protocol: PROTOCOL_VERSION,
    access: services.access.state(origin),
    capabilities: [...CAPABILITIES],
    ...(services.simulation ? { simulation: true } : {}),
  }),
  "system.ping": async () => ({ time: new Date().toISOString() }),
};
