/**
 * What the Cryptolib judge tests of both CPS generations do around the module (test/helpers/cryptolib.ts
 * runs it): find the PKCS#11 slot of the emulated card's token, sign through the minimal caller with an
 * exact 256-byte buffer (test/helpers/pkcs11-sign.ts), and let openssl — not our code — verify.
 */
import assert from "node:assert/strict";
import { execFile, execFileSync } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { CryptolibJudge } from "./cryptolib.ts";
import { REPO_ROOT } from "./daemon.ts";

const SIGNER = path.join(REPO_ROOT, "test/helpers/pkcs11-sign.ts");

/**
 * The PKCS#11 slot whose token is the emulated CPS (Cryptolib numbers slots itself): exactly one
 * token labelled CPS… is expected; `context` adds what the card saw to the failure message.
 */
export async function cryptolibTokenSlot(judge: CryptolibJudge, context?: () => string): Promise<string> {
  const { code, out } = await judge.pkcs11(["-L"]);
  assert.equal(code, 0, out);
  const slots = out.split(/\n(?=Slot )/).filter((block) => /token label\s*:\s*CPS/i.test(block));
  assert.equal(
    slots.length,
    1,
    `one CPS token expected:\n${out}${context ? `\ncard saw:\n${context()}` : ""}`,
  );
  const id = /\(0x([0-9a-f]+)\)/i.exec(slots[0]!)?.[1];
  assert.ok(id, out);
  return String(Number.parseInt(id, 16));
}

/**
 * RSA-PKCS with key `id` through test/helpers/pkcs11-sign.ts, which offers exactly 256 bytes for the
 * signature (pkcs11-tool's larger buffer makes Cryptolib refuse the CPS4's authentication key before
 * any APDU). Never throws: the exit code and output are for the assertion.
 */
export function signWithExactBuffer(
  judge: CryptolibJudge,
  options: { slot: string; pin: string; id: string; input: string; output: string },
): Promise<{ code: number; out: string }> {
  const { slot, pin, id, input, output } = options;
  return new Promise((resolve) =>
    execFile(
      process.execPath,
      ["--import", "tsx", SIGNER, judge.module, slot, pin, id, "RSA-PKCS", input, output],
      { timeout: 60_000 },
      (error, stdout, stderr) => resolve({ code: error ? 1 : 0, out: `${stdout}${stderr}` }),
    ),
  );
}

/** openssl checks an RSA signature of `message` (PKCS#1 v1.5, or PSS) with the certificate's key. */
export function opensslVerifies(
  certificateDer: Uint8Array,
  message: Uint8Array,
  signature: Uint8Array,
  options: { hash: "sha1" | "sha256"; pss?: boolean } = { hash: "sha256" },
): boolean {
  const dir = mkdtempSync(path.join(tmpdir(), "passerelle-openssl-verify-"));
  const pub = path.join(dir, "pub.pem");
  const data = path.join(dir, "data.bin");
  const sig = path.join(dir, "sig.bin");
  writeFileSync(pub, new X509Certificate(certificateDer).publicKey.export({ type: "spki", format: "pem" }));
  writeFileSync(data, message);
  writeFileSync(sig, signature);
  const pss = options.pss
    ? [
        ...["-sigopt", "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:-2"],
        ...["-sigopt", `rsa_mgf1_md:${options.hash}`],
      ]
    : [];
  try {
    execFileSync("openssl", ["dgst", `-${options.hash}`, ...pss, "-verify", pub, "-signature", sig, data], {
      stdio: "pipe",
    });
    return true;
  } catch {
    return false;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
