import { PROTOCOL_VERSION, isSelfOnly, type MethodName } from "@passerelle/protocol";
import type { Handlers } from "./types.ts";

/**
 * What this build can do, for `system.hello`: the method namespaces it answers (`readers`,
 * `events`, `cps`, `vitale`, `insi`…), derived from the handler table so it cannot lie.
 */
export function capabilitiesOf(handlers: Handlers): string[] {
  const namespaces = new Set<string>();
  for (const method of Object.keys(handlers) as MethodName[]) {
    if (isSelfOnly(method)) continue;
    const namespace = method.split(".")[0] as string;
    if (namespace !== "system" && namespace !== "access") namespaces.add(namespace);
  }
  return [...namespaces].sort();
}

export const systemHandlers: Handlers = {
  "system.hello": async (_params, { origin, services }) => ({
    daemon: { name: "passerelle", version: services.version },
    protocol: PROTOCOL_VERSION,
    access: services.access.state(origin),
    capabilities: [...services.capabilities],
    ...(services.simulation ? { simulation: true } : {}),
  }),
  "system.ping": async () => ({ time: new Date().toISOString() }),
};
