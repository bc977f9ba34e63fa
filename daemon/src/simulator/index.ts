/**
 * The simulator as the daemon runs it under `--simulate`: the lab (virtual readers and cards) and
 * the in-process INSi simulator. Loaded on first use by `loadSimulation()`, an `import()` that the
 * bundle keeps in its one file but does not run at start: a daemon without --simulate never
 * initialises the lab, its card emulators, the INSi simulator or its test PKI (node-forge keys).
 * The tests, the benches and the `lab` commands import the modules they need directly.
 */
import type * as SimulationModule from "./simulation.ts";

export type { Lab, InsiFaultName } from "./lab.ts";
export type { InsiSimulator, InsiSimulatorFault } from "./insi/index.ts";

export type Simulation = typeof SimulationModule;

export function loadSimulation(): Promise<Simulation> {
  return import("./simulation.ts");
}
