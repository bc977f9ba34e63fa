/** The INSi simulator: used by `--simulate`, `passerelle lab insi`, the tests and the benches. */
export {
  startInsiSimulator,
  SIMULATOR_IDAM,
  SIMULATED_ASSERTION_ATTRIBUTES,
  type InsiSimulator,
  type InsiSimulatorOptions,
  type InsiSimulatorFault,
  type InsiSimulatorMode,
  type ReceivedRequest,
} from "./server.ts";
export { simulatedVitaleAssertions, SIMULATED_VITALE_ISSUER } from "./vitale-assertion.ts";
export { SIMULATED_IDENTITIES, type SimulatedIdentity } from "./identities.ts";
export { createInsiTestPki, getInsiTestPki, type InsiTestPki, type CpsTestHolder } from "./test-pki.ts";
export {
  createPscTestIssuer,
  getPscTestIssuer,
  PSC_TEST_ISSUER_URL,
  type PscTestIssuer,
} from "./psc-issuer.ts";
