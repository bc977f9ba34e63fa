/**
 * `npm run bench`: runs every bench in this folder, one after the other (they measure ratios side
 * by side, so they must not compete with each other for the two cores).
 */
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";

const here = fileURLToPath(new URL(".", import.meta.url));
const only = process.argv.slice(2);
const benches = readdirSync(here)
  .filter((name) => name.endsWith(".ts") && !["run.ts", "echo-server.ts"].includes(name))
  .filter((name) => only.length === 0 || only.some((wanted) => name.startsWith(wanted)))
  .sort();
let failed = 0;
for (const bench of benches) {
  console.log(`\n== bench/${bench}`);
  const result = spawnSync(process.execPath, ["--import", "tsx", `${here}${bench}`], { stdio: "inherit" });
  if (result.status !== 0) failed += 1;
}
process.exit(failed === 0 ? 0 : 1);
