/**
 * insi.*: the INSi teleservice calls. In card mode the CPS signs the assertion PS (PIN through the
 * same routes as cps.verifyPin, the daemon's own page when needed); in organisation mode the
 * organisation certificate authenticates and no card is needed.
 */
import { chooseReader, readersToChooseFrom } from "../../cards/choose-reader.ts";
import { createCpsSigner, readCps } from "../../cards/cpx/index.ts";
import { PasserelleError } from "../../errors.ts";
import {
  InvalidTraitsError,
  type InsiCallContext,
  type InsiClient,
  type VitaleBeneficiary,
} from "../../insi/index.ts";
import { InvalidParamsError } from "../../errors.ts";
import type { CallContext, Handlers } from "./types.ts";

function clientOf(context: CallContext): InsiClient {
  const client = context.services.insi;
  if (!client) throw new PasserelleError("INSI_NOT_CONFIGURED", "INSi is not configured on this workstation");
  return client;
}

/**
 * The call context: the origin (its LPS identity and the audit), and in card mode the CPS that signs
 * (the reader holding the CPS, or the one the web app named) and its holder's idNat for the audit.
 */
async function callContext(
  context: CallContext,
  cpsReaderId: string | undefined,
  psc: InsiCallContext["psc"],
): Promise<InsiCallContext> {
  const { services, origin, connection } = context;
  // PSC mode: the web app's Pro Santé Connect token, passed on as is (never logged nor stored).
  if (services.insiMode === "psc") return { origin, psc };
  if (services.insiMode !== "card") return { origin };
  const readerId = chooseReader(readersToChooseFrom(services.readers), "cps", cpsReaderId);
  const withCard = <T>(operation: Parameters<typeof services.readers.withCard<T>>[1]) =>
    services.readers.withCard(readerId, operation);
  // Cached per insertion by the driver: no APDU after the first read.
  const { holder } = await withCard((card) => readCps(card));
  const signer = createCpsSigner({
    origin,
    withCard,
    pin: {
      origin,
      pinFromPage: false,
      prompt: services.pinPage.promptFor(origin, connection.closed),
    },
  });
  return { origin, signer, idNat: holder.idNat };
}

/** Traits the INS rules refuse (Æ, Œ, forbidden characters…) are the caller's params problem: -32602. */
async function traitsChecked<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof InvalidTraitsError) {
      throw new InvalidParamsError(
        error.issues.map((issue) => ({ path: issue.path.join("."), message: issue.message })),
      );
    }
    throw error;
  }
}

export const insiHandlers: Handlers = {
  "insi.searchByTraits": async (params, context) => {
    const client = clientOf(context);
    const { readerId, psc, ...traits } = params;
    const call = await callContext(context, readerId, psc);
    return traitsChecked(() => client.searchByTraits(traits, call));
  },

  "insi.searchWithVitale": async (params, context) => {
    const client = clientOf(context);
    const { services } = context;
    const vitaleReaderId = chooseReader(readersToChooseFrom(services.readers), "vitale", params.readerId);
    const card = await services.readers.withCard(vitaleReaderId, (channel) => services.vitale.read(channel));
    const found = card.beneficiaries.find((beneficiary) => beneficiary.index === params.beneficiaryIndex);
    if (!found) {
      throw new InvalidParamsError([
        { path: "beneficiaryIndex", message: `the card has no beneficiary ${params.beneficiaryIndex}` },
      ]);
    }
    // The public card layout gives one NIR per beneficiary and does not say whether it is the
    // insured person's or the beneficiary's own: it is sent as the insured's (docs/cards.md).
    const beneficiary: VitaleBeneficiary = {
      insuredNir: found.nir,
      insuredNirKey: found.nirKey,
      birthName: found.lastName,
      birthDate: found.birthDate,
      birthRank: found.birthRank,
    };
    const call = await callContext(context, params.cpsReaderId, params.psc);
    return traitsChecked(() => client.searchWithVitale(beneficiary, call));
  },

  "insi.verify": async (params, context) => {
    const client = clientOf(context);
    const { readerId, psc, ...input } = params;
    const call = await callContext(context, readerId, psc);
    const result = await traitsChecked(() => client.verify(input, call));
    return {
      outcome: result.outcome,
      differences: result.differences.map((d) => ({ field: d.field, local: d.local, insi: d.insi })),
      ...(result.identity ? { identity: result.identity } : {}),
    };
  },
};
