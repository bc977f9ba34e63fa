/**
 * Child process for the audit crash test: an INSi client with the real audit trail making CALLS calls
 * (CONCURRENCY at a time) to the simulator, printing `done <messageId>` after each call returned —
 * i.e. after its audit record was fsynced.
 */
import { AuditTrail } from "../../daemon/src/audit/audit-trail.ts";
import { createInsiClient } from "../../daemon/src/insi/client.ts";
import { InsiConfig } from "../../daemon/src/insi/config.ts";
import { SIMULATOR_IDAM } from "../../daemon/src/simulator/insi/server.ts";

const env = (name: string): string => {
  const value = process.env[name];
  if (value === undefined) throw new Error(`${name} is not set`);
  return value;
};

const audit = await AuditTrail.open({ dir: env("AUDIT_DIR") });
const config = InsiConfig.parse({
  mode: "organisation",
  endpoints: { organisation: env("SIM_URL") },
  organisation: { pkcs12Path: env("P12_FILE"), passphrase: env("P12_PASSPHRASE") },
  caBundlePath: env("CA_FILE"),
  lps: { default: { idam: SIMULATOR_IDAM, softwareName: "AuditCrashTest", softwareVersion: "1" } },
});
const client = createInsiClient(config, { audit });
if (client.problems().length > 0) throw new Error(client.problems().join("; "));

const calls = Number(env("CALLS"));
const concurrency = Number(env("CONCURRENCY"));
let next = 0;
async function lane(): Promise<void> {
  while (next < calls) {
    next += 1;
    const result = await client.searchByTraits(
      { birthName: "ADRUN", firstNames: ["ZOE"], sex: "F", birthDate: "1975-12-31" },
      { origin: "https://ehr.example", idNat: "810100012345" },
    );
    process.stdout.write(`done ${result.messageId}\n`);
  }
}
await Promise.all(Array.from({ length: concurrency }, lane));
client.close();
await audit.close();
process.stdout.write("finished\n");
