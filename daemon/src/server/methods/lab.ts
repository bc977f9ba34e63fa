/**
 * lab.*: the simulation panel of the daemon's page (insert/remove virtual cards, INSi faults).
 * The connection only lets these through under --simulate and for the daemon's own origin.
 */
import { PasserelleError } from "../../errors.ts";
import type { CallContext, Handlers, LabControl } from "./types.ts";

function labOf(context: CallContext): LabControl {
  const lab = context.services.lab;
  if (!lab) throw new PasserelleError("ACCESS_DENIED", "the lab exists only in simulation");
  return lab;
}

function status(lab: LabControl) {
  return {
    slots: lab.slots.map((slot) => ({ ...slot })),
    profiles: [...lab.profiles],
    insiFault: lab.insiFault,
  };
}

export const labHandlers: Handlers = {
  "lab.status": async (_params, context) => status(labOf(context)),
  "lab.insertCard": async ({ slot, card }, context) => {
    const lab = labOf(context);
    if (slot >= lab.slots.length) throw new PasserelleError("NO_READER", `no virtual slot ${slot}`, { slot });
    if (!lab.profiles.includes(card))
      throw new PasserelleError("WRONG_CARD", `no card profile "${card}"`, { card });
    await lab.insert(slot, card);
    return status(lab);
  },
  "lab.removeCard": async ({ slot }, context) => {
    const lab = labOf(context);
    if (slot >= lab.slots.length) throw new PasserelleError("NO_READER", `no virtual slot ${slot}`, { slot });
    lab.remove(slot);
    return status(lab);
  },
  "lab.setInsiFault": async ({ fault }, context) => {
    const lab = labOf(context);
    lab.setInsiFault(fault);
    return status(lab);
  },
};
