/**
 * The official middleware judges the emulated CPS3 through the real pcscd: the ANS Cryptolib PKCS#11
 * module lists the token, reads both certificates, logs in and signs; openssl (not our code) verifies
 * each signature against the certificate the card holds. If the emulator answers in a way a real CPS3
 * does not, the middleware that drives real cards in every French practice is the one that says so.
 * Skipped with how to get the module when it is absent; a failure under PASSERELLE_REQUIRE_CRYPTOLIB=1.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { cryptolibJudge, type CryptolibJudge } from "../helpers/cryptolib.ts";
import { cryptolibTokenSlot, opensslVerifies } from "../helpers/cryptolib-token.ts";
import { insertIntoVpcd, type InsertedCard } from "../helpers/vpcd-card.ts";
import { Cps3Emulator } from "../../daemon/src/simulator/cards/cps3/emulator.ts";

const found = cryptolibJudge();
const skip = "skip" in found ? found.skip : false;

let inserted: InsertedCard<Cps3Emulator> | undefined;
let card: Cps3Emulator;
let judge: CryptolibJudge;
let dir: string;

before(async () => {
  if ("skip" in found) return;
  judge = found;
  dir = mkdtempSync(path.join(tmpdir(), "passerelle-cryptolib-"));
  inserted = await insertIntoVpcd(new Cps3Emulator(), { beforeInsert: () => judge.clearCache() });
  card = inserted.card;
  // The module would answer the next run from its cache instead of asking the card.
  judge.clearCache();
});

after(async () => {
  await inserted?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
  if (!("skip" in found)) found.clearCache();
});

test(
  "Cryptolib lists the emulated CPS3 and reads both certificates as the card holds them",
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
  },
);

test(
  "Cryptolib logs in and signs with the signature key (id 02, SHA256-RSA-PKCS); openssl verifies",
  { skip },
  async () => {
    const slot = await cryptolibTokenSlot(judge);
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

test(
  "Cryptolib signs with the authentication key (id 01, RSA-PKCS on a SHA-256 DigestInfo); openssl verifies",
  { skip },
  async () => {
    const slot = await cryptolibTokenSlot(judge);
    const message = randomBytes(200);
    const digestInfo = Buffer.concat([
      Buffer.from("3031300d060960864801650304020105000420", "hex"),
      createHash("sha256").update(message).digest(),
    ]);
    writeFileSync(path.join(dir, "in.bin"), digestInfo);
    const { code, out } = await judge.pkcs11([
      ...["--slot", slot, "--login", "--pin", "1234", "--sign", "--id", "01", "-m", "RSA-PKCS"],
      ...["--input-file", path.join(dir, "in.bin"), "--output-file", path.join(dir, "out.bin")],
    ]);
    assert.equal(code, 0, out);
    const signature = readFileSync(path.join(dir, "out.bin"));
    assert.ok(opensslVerifies(card.certificates.authentication.der, message, signature), "openssl verifies");
  },
);
