/**
 * The official middleware judges the emulated CPS3 through the real pcscd: the ANS Cryptolib PKCS#11
 * module lists the token, reads both certificates, logs in and signs; openssl (not our code) verifies
 * each signature against the certificate the card holds. If the emulator answers in a way a real CPS3
 * does not, the middleware that drives real cards in every French practice is the one that says so.
 * Skipped with how to get the module when it is absent; a failure under PASSERELLE_REQUIRE_CRYPTOLIB=1.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHash, randomBytes, X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { acquirePcscd, type PcscdLab } from "../helpers/pcscd.ts";
import { cryptolibJudge, type CryptolibJudge } from "../helpers/cryptolib.ts";
import { waitForCard } from "../helpers/vpcd-slots.ts";
import { createReaders, type Readers } from "../../daemon/src/pcsc/index.ts";
import { createSystemBackend } from "../../daemon/src/pcsc/binding/koffi-backend.ts";
import { VpcdBridge } from "../../daemon/src/simulator/vpcd-bridge.ts";
import { Cps3Emulator } from "../../daemon/src/simulator/cards/cps3/emulator.ts";

const SLOT = 1;
const found = cryptolibJudge();
const skip = "skip" in found ? found.skip : false;

let lab: PcscdLab | undefined;
let readers: Readers | undefined;
let bridge: VpcdBridge | undefined;
let card: Cps3Emulator;
let judge: CryptolibJudge;
let dir: string;

before(async () => {
  if ("skip" in found) return;
  judge = found;
  dir = mkdtempSync(path.join(tmpdir(), "passerelle-cryptolib-"));
  lab = await acquirePcscd();
  readers = await createReaders({ backend: createSystemBackend() });
  await waitForCard(readers, SLOT, false);
  card = new Cps3Emulator();
  judge.clearCache();
  bridge = new VpcdBridge({ emulator: card, slot: SLOT, reconnect: false });
  await bridge.start();
  await waitForCard(readers, SLOT, true);
  // The module would answer the next run from its cache instead of asking the card.
  judge.clearCache();
});

after(async () => {
  await bridge?.close();
  await readers?.close();
  await lab?.release();
  if (dir) rmSync(dir, { recursive: true, force: true });
  if (!("skip" in found)) found.clearCache();
});

/** The PKCS#11 slot whose token is our emulated card (Cryptolib numbers slots itself). */
async function tokenSlot(): Promise<string> {
  const { code, out } = await judge.pkcs11(["-L"]);
  assert.equal(code, 0, out);
  const slots = out.split(/\n(?=Slot )/).filter((block) => /token label\s*:\s*CPS/i.test(block));
  assert.equal(slots.length, 1, `one CPS token expected:\n${out}`);
  const id = /\(0x([0-9a-f]+)\)/i.exec(slots[0]!)?.[1];
  assert.ok(id, out);
  return String(Number.parseInt(id, 16));
}

/** openssl checks an RSA PKCS#1 v1.5 SHA-256 signature of `message` with the certificate's key. */
function opensslVerifies(certificateDer: Uint8Array, message: Buffer, signature: Buffer): boolean {
  const pub = path.join(dir, "pub.pem");
  const data = path.join(dir, "data.bin");
  const sig = path.join(dir, "sig.bin");
  writeFileSync(pub, new X509Certificate(certificateDer).publicKey.export({ type: "spki", format: "pem" }));
  writeFileSync(data, message);
  writeFileSync(sig, signature);
  try {
    execFileSync("openssl", ["dgst", "-sha256", "-verify", pub, "-signature", sig, data], { stdio: "pipe" });
    return true;
  } catch {
    return false;
  }
}

test(
  "Cryptolib lists the emulated CPS3 and reads both certificates as the card holds them",
  { skip },
  async () => {
    const slot = await tokenSlot();
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
    const slot = await tokenSlot();
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
    const slot = await tokenSlot();
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
