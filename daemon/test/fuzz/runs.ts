/**
 * How hard the fuzz tests push: FUZZ_RUNS cases per property (default 200: seconds in CI). Long runs
 * on demand, e.g. `FUZZ_RUNS=100000 node --import tsx --test daemon/test/fuzz/*.test.ts`; FUZZ_SEED
 * replays a failing run (fast-check prints the seed and the shrunk counterexample).
 */
export const FUZZ_RUNS = Number(process.env["FUZZ_RUNS"] ?? 200);

export const fuzzParameters = {
  numRuns: FUZZ_RUNS,
  ...(process.env["FUZZ_SEED"] ? { seed: Number(process.env["FUZZ_SEED"]) } : {}),
};
