/**
 * The CPS4 through the real PC/SC stack: the emulated CPS4 (ChipDoc) in pcscd's virtual reader (vpcd)
 * by the bridge, read, unlocked and used to sign with both keys by the daemon's driver, reached
 * through the CPx surface as the server reaches it, over the koffi binding and CardSession.
 * Needs root and pcscd + vsmartcard-vpcd; holds the lab lock throughout.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { verify, X509Certificate } from "node:crypto";
import type { Readers } from "../../daemon/src/pcsc/index.ts";
import { insertIntoVpcd, type InsertedCard } from "../helpers/vpcd-card.ts";
import { Cps4Emulator } from "../../daemon/src/simulator/cards/cps4/index.ts";
import { forgetCps, readCps, signWithCps, verifyCpsPin } from "../../daemon/src/cards/cpx/index.ts";
import { isPasserelleError } from "../../daemon/src/errors.ts";
import { CpsReadResult } from "@passerelle/protocol";

const ORIGIN = "https://ehr.example";

let inserted: InsertedCard<Cps4Emulator> | undefined;
let readers: Readers | undefined;
let card: Cps4Emulator;
let readerId: string;

before(async () => {
  inserted = await insertIntoVpcd(new Cps4Emulator());
  ({ card, readers, readerId } = inserted);
});

after(async () => {
  if (readerId) forgetCps(readerId);
  await inserted?.close();
});

test("cps.read of the emulated CPS4 through pcscd: generation, holder, both certificates, PIN counter", async () => {
  const result = await readers!.withCard(readerId, (channel) => readCps(channel));
  // What the server sends back is a valid protocol result.
  assert.ok(CpsReadResult.safeParse({ readerId, ...result }).success);
  assert.equal(result.generation, "cps4");
  assert.equal(result.holder.idNat, "899700004321");
  const raw = (pem: string) => new Uint8Array(new X509Certificate(pem).raw);
  assert.deepEqual(raw(result.certificates.authentication.pem), card.certificates.authentication.der);
  assert.deepEqual(raw(result.certificates.signature.pem), card.certificates.signature.der);
  assert.deepEqual(result.pin, { verified: false, triesRemaining: 3 });
  assert.ok(
    card.log.every((f) => (f.cla & 0x03) === 1),
    "every command on channel 1",
  );
});

test("cps.verifyPin then signatures with both keys through pcscd; each verifies with its certificate", async () => {
  await assert.rejects(
    readers!.withCard(readerId, (c) => verifyCpsPin(c, { origin: ORIGIN, pin: "9999", pinFromPage: true })),
    (e) => isPasserelleError(e, "PIN_INCORRECT") && e.details["triesRemaining"] === 2,
  );
  const verified = await readers!.withCard(readerId, (c) =>
    verifyCpsPin(c, { origin: ORIGIN, pin: "1234", pinFromPage: true }),
  );
  assert.deepEqual(verified, { verified: true, triesRemaining: 3 });
  const data = new TextEncoder().encode("assertion PS");
  for (const key of ["signature", "authentication"] as const) {
    const signature = await readers!.withCard(readerId, (c) => signWithCps(c, data, key, ORIGIN));
    const certificate = card.certificates[key];
    assert.ok(verify("sha256", data, new X509Certificate(certificate.der).publicKey, signature), key);
  }
});
