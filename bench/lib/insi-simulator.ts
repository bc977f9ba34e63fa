/**
 * Child process for bench/insi.ts: the INSi simulator in its own process (so that it does not share
 * the client's event loop), trusting the CA given in TRUST_CA_FILE for assertion PS signatures.
 * Writes ca.pem and an INSI-AUTO PKCS#12 to CREDENTIALS_DIR, then prints `listening <url>`.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { startInsiSimulator } from "../../daemon/src/simulator/insi/server.ts";
import { getInsiTestPki } from "../../daemon/src/simulator/insi/test-pki.ts";

const mode = process.env["MODE"] === "card" ? "card" : "organisation";
const dir = process.env["CREDENTIALS_DIR"] ?? ".";
const pki = getInsiTestPki();
const trustFile = process.env["TRUST_CA_FILE"];
const simulator = await startInsiSimulator({
  mode,
  pki,
  trustedCaPems: [pki.caPem, ...(trustFile ? [readFileSync(trustFile, "utf8")] : [])],
});
const auto = pki.organisation("INSI-AUTO");
writeFileSync(join(dir, "ca.pem"), simulator.caPem);
writeFileSync(join(dir, "insi-auto.p12"), auto.pkcs12);
writeFileSync(join(dir, "insi-auto.passphrase"), auto.passphrase);
process.stdout.write(`listening ${simulator.url}\n`);
process.once("SIGTERM", () => void simulator.close().then(() => process.exit(0)));
