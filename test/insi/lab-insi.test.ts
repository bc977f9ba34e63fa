/** `passerelle lab insi` as its own process: a client talks to it over real TLS, in both modes. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInsiClient } from "../../daemon/src/insi/client.ts";
import { InsiConfig } from "../../daemon/src/insi/config.ts";
import { SIMULATED_ASSERTION_ATTRIBUTES, SIMULATOR_IDAM } from "../../daemon/src/simulator/insi/server.ts";
import { createInsiTestPki } from "../../daemon/src/simulator/insi/test-pki.ts";
import { keySigner } from "../../daemon/test/insi/helpers.ts";
import { HARNESS, spawnTs, waitForLine } from "./run.ts";

const lps = { default: { idam: SIMULATOR_IDAM, softwareName: "LabTest", softwareVersion: "1" } };
const zoe = { birthName: "ADRUN", firstNames: ["ZOE"], sex: "F", birthDate: "1975-12-31" };

test("organisation mode: mutual TLS with the written INSI-AUTO file, requests recorded", async () => {
  const dir = await mkdtemp(join(tmpdir(), "lab-insi-"));
  const child = spawnTs(HARNESS, [
    "lab",
    "insi",
    "--mode",
    "organisation",
    "--write-credentials",
    join(dir, "creds"),
    "--record",
    join(dir, "rec"),
  ]);
  try {
    const url = (await waitForLine(child, /^listening /)).slice("listening ".length);
    assert.match(url, /^https:\/\/127\.0\.0\.1:\d+\/lps$/);
    const config = InsiConfig.parse({
      mode: "organisation",
      endpoints: { organisation: url },
      organisation: {
        pkcs12Path: join(dir, "creds", "insi-auto.p12"),
        passphrase: await readFile(join(dir, "creds", "insi-auto.passphrase"), "utf8"),
      },
      caBundlePath: join(dir, "creds", "ca.pem"),
      lps,
    });
    const client = createInsiClient(config);
    try {
      assert.deepEqual(client.problems(), []);
      const result = await client.searchByTraits(zoe, { origin: "https://ehr.example" });
      assert.equal(result.identity?.ins.value, "2751263220749");
    } finally {
      client.close();
    }
    const recorded = await readdir(join(dir, "rec"));
    assert.equal(recorded.length, 1);
    assert.match(await readFile(join(dir, "rec", recorded[0]!), "utf8"), /<RECSANSVITALE/);
  } finally {
    child.kill("SIGTERM");
    await new Promise((r) => child.once("exit", r));
    await rm(dir, { recursive: true, force: true });
  }
});

test("card (cps) mode: an assertion PS signed with a certificate from a CA given with --trust-ca", async () => {
  const dir = await mkdtemp(join(tmpdir(), "lab-insi-"));
  const cardPki = createInsiTestPki();
  await writeFile(join(dir, "card-ca.pem"), cardPki.caPem);
  const child = spawnTs(HARNESS, [
    "lab",
    "insi",
    "--mode",
    "cps",
    "--trust-ca",
    join(dir, "card-ca.pem"),
    "--write-credentials",
    join(dir, "creds"),
  ]);
  try {
    const url = (await waitForLine(child, /^listening /)).slice("listening ".length);
    const config = InsiConfig.parse({
      mode: "card",
      endpoints: { card: url },
      attributes: { default: SIMULATED_ASSERTION_ATTRIBUTES },
      caBundlePath: join(dir, "creds", "ca.pem"),
      lps,
    });
    const client = createInsiClient(config);
    const signer = keySigner(
      cardPki.cpsSignature({
        idNat: "810100012345",
        lastName: "MEDECIN",
        firstName: "ALICE",
        profession: "Medecin",
      }),
    );
    try {
      const result = await client.searchByTraits(zoe, { origin: "https://ehr.example", signer });
      assert.equal(result.outcome, "found");
      // A CPS from a PKI the simulator does not trust is refused.
      const stranger = keySigner(
        createInsiTestPki().cpsSignature({
          idNat: "810100099999",
          lastName: "X",
          firstName: "Y",
          profession: "Z",
        }),
      );
      await assert.rejects(
        client.searchByTraits(zoe, { origin: "https://ehr.example", signer: stranger }),
        /SIM_ASSERTION/,
      );
    } finally {
      client.close();
    }
  } finally {
    child.kill("SIGTERM");
    await new Promise((r) => child.once("exit", r));
    await rm(dir, { recursive: true, force: true });
  }
});
