/**
 * A stand-in for the Vitale card assertion, for the simulator only. The real assertion needs GIE
 * SESAM-Vitale's licensed components; this one is unsigned and says SIMULATEUR in its issuer, so that
 * no real service could mistake it for one. The simulator accepts it; INSi would not.
 */
import { randomUUID } from "node:crypto";
import { NS } from "../../insi/namespaces.ts";
import type { VitaleAssertionProvider } from "../../insi/signer.ts";

export const SIMULATED_VITALE_ISSUER = "SIMULATEUR VITALE PASSERELLE";

export function simulatedVitaleAssertions(now: () => Date = () => new Date()): VitaleAssertionProvider {
  return {
    async assertionFor() {
      return (
        `<Assertion xmlns="${NS.saml}" ID="_${randomUUID()}" IssueInstant="${now().toISOString()}" Version="2.0">` +
        `<Issuer>${SIMULATED_VITALE_ISSUER}</Issuer>` +
        `</Assertion>`
      );
    },
  };
}
