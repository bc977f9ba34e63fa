import { test } from "node:test";
import assert from "node:assert/strict";
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
