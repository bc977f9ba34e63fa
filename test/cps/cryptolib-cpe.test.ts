/**
 * The official middleware reads the emulated CPE (a CPS3-generation card whose certificate subject
 * names the structure and a card number, not the person): the ANS Cryptolib lists the token, reads
 * both certificates as the card holds them, logs in and signs with the signature key; openssl
 * verifies. What our driver returns for the same card (certificates, the name marked unknown) is
 * checked in daemon/test/simulator/cps3/profile.test.ts and test/server/cpe-daemon.test.ts.
 * Skipped with how to get the module when it is absent; a failure under PASSERELLE_REQUIRE_CRYPTOLIB=1.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { cryptolibJudge, type CryptolibJudge } from "../helpers/cryptolib.ts";
import { cryptolibTokenSlot, opensslVerifies } from "../helpers/cryptolib-token.ts";
import { insertIntoVpcd, type InsertedCard } from "../helpers/vpcd-card.ts";
import { CPE_HOLDER, Cps3Emulator } from "../../daemon/src/simulator/cards/cps3/emulator.ts";

const found = cryptolibJudge();
const skip = "skip" in found ? found.skip : false;

let inserted: InsertedCard<Cps3Emulator> | undefined;
let card: Cps3Emulator;
let judge: CryptolibJudge;
let dir: string;

before(async () => {
  if ("skip" in found) return;
  judge = found;
  dir = mkdtempSync(path.join(tmpdir(), "passerelle-cryptolib-cpe-"));
  inserted = await insertIntoVpcd(new Cps3Emulator({ holder: CPE_HOLDER }), {
    beforeInsert: () => judge.clearCache(),
  });
  card = inserted.card;
  judge.clearCache();
});

after(async () => {
  await inserted?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
  if (!("skip" in found)) found.clearCache();
});

test(
  "Cryptolib reads the emulated CPE's certificates as the card holds them and signs with it",
  { skip },
  async () => {
    const slot = await cryptolibTokenSlot(judge);
    for (const [id, issued] of [
      ["01", card.certificates.authentication],
      ["02", card.certificates.signature],
    ] as const) {
      const file = path.join(dir, `cert-${id}.der`);
      const { code, out } = await judge.pkcs11([
        ...["--slot", slot, "--read-object", "--type", "cert", "--id", id, "--output-file", file],
      ]);
      assert.equal(code, 0, out);
      assert.ok(readFileSync(file).equals(Buffer.from(issued.der)), `certificate ${id} as read by Cryptolib`);
    }
    const message = randomBytes(200);
    writeFileSync(path.join(dir, "in.bin"), message);
    const { code, out } = await judge.pkcs11([
      ...["--slot", slot, "--login", "--pin", "1234", "--sign", "--id", "02", "-m", "SHA256-RSA-PKCS"],
      ...["--input-file", path.join(dir, "in.bin"), "--output-file", path.join(dir, "out.bin")],
    ]);
    assert.equal(code, 0, out);
    const signature = readFileSync(path.join(dir, "out.bin"));
    assert.ok(opensslVerifies(card.certificates.signature.der, message, signature), "openssl verifies");
  },
);
