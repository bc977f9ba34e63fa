import { PasserelleError } from "../../errors.ts";
import type { PairingControl } from "../../access/index.ts";
import type { Handlers, Services } from "./types.ts";

function pairing(services: Services): PairingControl {
  if (!services.pairing) throw new PasserelleError("ACCESS_DENIED", "pairing is not enabled on this daemon");
  return services.pairing;
}

export const accessHandlers: Handlers = {
  "access.request": async (params, { origin, services }) => services.access.request(origin, params.appName),
  // The methods below exist only for the daemon's own origin (selfOnly in the protocol table).
  "access.consent": async ({ token }, { services }) => pairing(services).consent(token),
  "access.decide": async ({ token, allow }, { services }) => pairing(services).decide(token, allow),
  "access.list": async (_params, { services }) => ({ grants: services.pairing?.list() ?? [] }),
  "access.revoke": async ({ origin }, { services }) => pairing(services).revoke(origin, "daemon page"),
};
