import { test } from "node:test";
import assert from "node:assert/strict";
import { verify, X509Certificate } from "node:crypto";
import { CpsReadResult } from "@passerelle/protocol";
import { createEmulator, profileNames } from "../../../src/simulator/profiles.ts";
import { CPS_PROFILES } from "../../../src/simulator/cards/cps3/profile.ts";
import { CpsDriver } from "../../../src/cards/cps/index.ts";
import { isPasserelleError } from "../../../src/errors.ts";
import { Cps3Emulator } from "../../../src/simulator/cards/cps3/emulator.ts";
import { EmulatorChannel } from "../../cards/cps/emulator-channel.ts";

test("every CPS profile is registered and creates a CPS3 emulator", async () => {
  for (const name of Object.values(CPS_PROFILES)) {
    assert.ok(profileNames().includes(name), name);
  }
  const card = await createEmulator(CPS_PROFILES.cps);
  assert.ok(card instanceof Cps3Emulator);
});

test("profiles behave as named through the driver", async () => {
  const read = async (name: string) => new CpsDriver().read(new EmulatorChannel(await createEmulator(name)));
  assert.equal((await read(CPS_PROFILES.cpsAdeli)).holder.idType, "ADELI");
  assert.equal((await read(CPS_PROFILES.cpsPharmacien)).holder.profession, "Pharmacien");
  assert.equal((await read(CPS_PROFILES.cpsBlocked)).pin.triesRemaining, 0);
  assert.equal((await read(CPS_PROFILES.cpsLastTry)).pin.triesRemaining, 1);
  assert.ok(Date.parse((await read(CPS_PROFILES.cpsExpired)).certificates.signature.notAfter) < Date.now());
  await assert.rejects(read(CPS_PROFILES.cpsBadCertificate), (e) => isPasserelleError(e, "CARD_ERROR"));
});

test("the contactless CPS3: its ATR routes the driver to the 'CPx IAS CL' application that EF.DIR lists", async () => {
  const card = await createEmulator(CPS_PROFILES.cpsContactless);
  const channel = new EmulatorChannel(card);
  const result = await new CpsDriver().read(channel);
  assert.equal(result.holder.idNat, "899700001234");
  // The application's files are read under 3F00/0002, the DF EF.DIR gives for the CL AID.
  const paths = channel.sent.filter((c) => c.ins === 0xa4).map((c) => Buffer.from(c.data!).toString("hex"));
  assert.ok(paths.includes("3f0000025031"), paths.join(" "));
  // The same driver on a contact card reads 3F00/0001.
  const contact = new EmulatorChannel(await createEmulator(CPS_PROFILES.cps));
  await new CpsDriver().read(contact);
  assert.ok(contact.sent.some((c) => Buffer.from(c.data ?? []).toString("hex") === "3f0000015031"));
});

test("padded certificate files and an unpadded-PIN card read and verify through the driver", async () => {
  const padded = await new CpsDriver().read(
    new EmulatorChannel(await createEmulator(CPS_PROFILES.cpsPaddedCertificates)),
  );
  assert.equal(padded.holder.lastName, "MEDECIN-TEST");
  const driver = new CpsDriver();
  const channel = new EmulatorChannel(await createEmulator(CPS_PROFILES.cpsUnpaddedPin));
  const verified = await driver.verifyPin(channel, {
    origin: "https://o.example",
    pin: "1234",
    pinFromPage: true,
    usePinPad: false,
  });
  assert.deepEqual(verified, { verified: true, triesRemaining: 3 });
});

test("the CPE profile: certificates returned, the holder's name marked unknown, PIN and signature as a CPS", async () => {
  const card = await createEmulator(CPS_PROFILES.cpe);
  assert.ok(card instanceof Cps3Emulator);
  const channel = new EmulatorChannel(card);
  const driver = new CpsDriver();
  const read = await driver.read(channel);
  assert.deepEqual(read.holder, {
    idNat: "3750300016/42",
    idType: "FINESS",
    nationalId: "750300016/42",
    lastName: "",
    firstName: "",
    profession: "Carte de service santé ou social",
    organization: "CLINIQUE TEST",
    nameKnown: false,
  });
  assert.ok(CpsReadResult.safeParse({ readerId: "r", generation: "cps3", ...read }).success);
  const raw = (pem: string) => new Uint8Array(new X509Certificate(pem).raw);
  assert.deepEqual(raw(read.certificates.authentication.pem), card.certificates.authentication.der);
  assert.deepEqual(raw(read.certificates.signature.pem), card.certificates.signature.der);
  // The subject names no person: SN and GN are absent from the certificate itself, not dropped by us.
  assert.doesNotMatch(new X509Certificate(read.certificates.authentication.pem).subject, /(^|\n)(SN|GN)=/);
  const origin = "https://ehr.example";
  await driver.verifyPin(channel, { origin, pin: "1234", pinFromPage: true, usePinPad: false });
  const data = new TextEncoder().encode("assertion PS of a CPE");
  const signature = await driver.sign(channel, data, "signature", origin);
  assert.ok(verify("sha256", data, card.certificates.signature.publicKey, signature));
});
