/**
 * Child process for the grants-file race test: another process changing the same grants file, as
 * `passerelle access revoke` does beside the daemon. Waits for the test's "go" file (so that both
 * processes start together; it says "ready" when it waits for it), then makes its changes one after another, each a GrantStore call:
 *
 *   grant-writer.ts DATA_DIR GO_FILE add PREFIX COUNT     adds https://PREFIX-<i>.example, i < COUNT
 *   grant-writer.ts DATA_DIR GO_FILE remove PREFIX COUNT  removes the same origins
 *   grant-writer.ts DATA_DIR - hold                       takes the lock, says "holding", never lets go
 *
 * Prints `done N` (N changes made) and exits 0; any error is printed and exits 1.
 */
import { existsSync } from "node:fs";
import { GrantStore, grantsFile } from "../../src/access/index.ts";
import { withFileLock } from "../../src/access/file-lock.ts";

const [dataDir, goFile, action, prefix, countText] = process.argv.slice(2);
if (dataDir === undefined || goFile === undefined || action === undefined)
  throw new Error("usage: see the file");

const pause = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

if (action === "hold") {
  withFileLock(grantsFile(dataDir), () => {
    process.stdout.write("holding\n");
    for (;;) pause(1_000); // until the test kills this process
  });
}

process.stdout.write("ready\n");
const deadline = Date.now() + 30_000;
while (!existsSync(goFile)) {
  if (Date.now() > deadline) throw new Error("no go file in 30 s");
  pause(2);
}
const store = new GrantStore(dataDir, { waitMs: 20_000 });
const count = Number(countText);
let done = 0;
for (let i = 0; i < count; i += 1) {
  const origin = `https://${prefix}-${i}.example`;
  if (action === "add") {
    store.add({ origin, grantedAt: new Date().toISOString() });
    done += 1;
  } else if (store.remove(origin)) done += 1;
}
process.stdout.write(`done ${done}\n`);
