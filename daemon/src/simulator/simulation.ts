/** What `--simulate` uses of the simulator; loaded by `loadSimulation()` (index.ts), never at start. */
export { Lab } from "./lab.ts";
export { LAB_BENEFICIARY_LAYOUT } from "./cards/vitale2/index.ts";
export {
  SIMULATOR_IDAM,
  SIMULATED_ASSERTION_ATTRIBUTES,
  simulatedVitaleAssertions,
  startInsiSimulator,
} from "./insi/index.ts";
