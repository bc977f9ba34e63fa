/**
 * The official middleware judges the emulated CPS4 (ChipDoc) through the real pcscd: the ANS Cryptolib
 * PKCS#11 module lists the token, reads both certificates, logs in and signs with both keys, with each
 * mechanism it offers for them; openssl (not our code) verifies every signature against the
 * certificate the card holds. The emulator was written from the public facts (docs/cards.md, "CPS4");
 * the module that drives real CPS4 cards is the one that says whether it answers like one.
 * Skipped with how to get the module when it is absent; a failure under PASSERELLE_REQUIRE_CRYPTOLIB=1.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { cryptolibJudge, type CryptolibJudge } from "../helpers/cryptolib.ts";
import { cryptolibTokenSlot, opensslVerifies, signWithExactBuffer } from "../helpers/cryptolib-token.ts";
import { insertIntoVpcd, type InsertedCard } from "../helpers/vpcd-card.ts";
import { Cps4Emulator, type CommandForm } from "../../daemon/src/simulator/cards/cps4/index.ts";

const found = cryptolibJudge();
const skip = "skip" in found ? found.skip : false;

let inserted: InsertedCard<Cps4Emulator> | undefined;
let card: Cps4Emulator;
let judge: CryptolibJudge;
let dir: string;

before(async () => {
  if ("skip" in found) return;
  judge = found;
  dir = mkdtempSync(path.join(tmpdir(), "passerelle-cryptolib-cps4-"));
  inserted = await insertIntoVpcd(new Cps4Emulator(), { beforeInsert: () => judge.clearCache() });
  card = inserted.card;
  // The module would answer the next run from its cache instead of asking the card.
  judge.clearCache();
});

after(async () => {
  await inserted?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
  if (!("skip" in found)) found.clearCache();
});

const hexForm = (f: CommandForm): string =>
  [f.cla, f.ins, f.p1, f.p2].map((b) => b.toString(16).padStart(2, "0")).join(" ") +
  (f.lc ? ` Lc=${f.lc}` : "") +
  (f.le ? ` Le=${f.ne}` : "");

/** What the card saw, for the assertion messages (command forms only: no data, no PIN). */
const seen = (): string => card.log.map(hexForm).join("\n");

test(
  "Cryptolib lists the emulated CPS4 and reads both certificates as the card holds them",
  { skip },
  async () => {
    const slot = await cryptolibTokenSlot(judge, seen);
    for (const [id, issued] of [
      ["01", card.certificates.authentication],
      ["02", card.certificates.signature],
    ] as const) {
      const file = path.join(dir, `cert-${id}.der`);
      const { code, out } = await judge.pkcs11([
        ...["--slot", slot, "--read-object", "--type", "cert", "--id", id, "--output-file", file],
      ]);
      assert.equal(code, 0, `${out}\ncard saw:\n${seen()}`);
      assert.ok(readFileSync(file).equals(Buffer.from(issued.der)), `certificate ${id} as read by Cryptolib`);
    }
  },
);

const SHA256_DIGEST_INFO = Buffer.from("3031300d060960864801650304020105000420", "hex");

interface Case {
  readonly mechanism: string;
  /** What Cryptolib is given: the message, its SHA-256 DigestInfo, or its SHA-256. */
  readonly input: "message" | "digestInfo" | "hash";
  readonly hash: "sha1" | "sha256";
  readonly pss: boolean;
  readonly extra?: readonly string[];
}

const PSS_CASES: readonly Case[] = [
  { mechanism: "SHA256-RSA-PKCS-PSS", input: "message", hash: "sha256", pss: true },
  { mechanism: "SHA1-RSA-PKCS-PSS", input: "message", hash: "sha1", pss: true },
  {
    mechanism: "RSA-PKCS-PSS",
    input: "hash",
    hash: "sha256",
    pss: true,
    extra: ["--hash-algorithm", "SHA256", "--mgf", "MGF1-SHA256"],
  },
];
const SIGNATURE_KEY_CASES: readonly Case[] = [
  { mechanism: "SHA256-RSA-PKCS", input: "message", hash: "sha256", pss: false },
  { mechanism: "SHA1-RSA-PKCS", input: "message", hash: "sha1", pss: false },
  { mechanism: "RSA-PKCS", input: "digestInfo", hash: "sha256", pss: false },
  ...PSS_CASES,
];

async function signAndVerify(slot: string, id: "01" | "02", c: Case): Promise<void> {
  const message = randomBytes(200);
  const sha256 = createHash("sha256").update(message).digest();
  const input = { message, hash: sha256, digestInfo: Buffer.concat([SHA256_DIGEST_INFO, sha256]) }[c.input];
  writeFileSync(path.join(dir, "in.bin"), input);
  const { code, out } = await judge.pkcs11([
    ...[
      "--slot",
      slot,
      "--login",
      "--pin",
      "1234",
      "--sign",
      "--id",
      id,
      "-m",
      c.mechanism,
      ...(c.extra ?? []),
    ],
    ...["--input-file", path.join(dir, "in.bin"), "--output-file", path.join(dir, "out.bin")],
  ]);
  assert.equal(code, 0, `${c.mechanism} on key ${id}: ${out}\ncard saw:\n${seen()}`);
  const certificate = id === "01" ? card.certificates.authentication.der : card.certificates.signature.der;
  const signature = readFileSync(path.join(dir, "out.bin"));
  assert.ok(
    opensslVerifies(certificate, message, signature, c),
    `openssl verifies ${c.mechanism} on key ${id}`,
  );
}

test(
  "Cryptolib logs in and signs with the signature key (id 02) with each of its mechanisms; openssl verifies",
  { skip },
  async () => {
    const slot = await cryptolibTokenSlot(judge, seen);
    for (const c of SIGNATURE_KEY_CASES) {
      card.log.length = 0;
      await signAndVerify(slot, "02", c);
      // The ChipDoc form: MSE SET DST 81 B6 then PSO CDS over the hash the host made.
      assert.ok(
        card.log.some((f) => f.ins === 0x22 && f.p1 === 0x81 && f.p2 === 0xb6),
        seen(),
      );
      assert.ok(
        card.log.some((f) => f.ins === 0x2a && f.p1 === 0x9e && f.p2 === 0x9a && f.lc > 0),
        seen(),
      );
    }
  },
);

test(
  "Cryptolib signs with the authentication key (id 01): RSA-PKCS as a PSO DECIPHER, and the PSS mechanisms; openssl verifies",
  { skip },
  async () => {
    const slot = await cryptolibTokenSlot(judge, seen);
    // RSA-PKCS on a SHA-256 DigestInfo: the host pads, the card "deciphers" (no INTERNAL AUTHENTICATE
    // on the ChipDoc). Through a caller that offers a 256-byte buffer (see the helper for why).
    const message = randomBytes(200);
    const digestInfo = Buffer.concat([SHA256_DIGEST_INFO, createHash("sha256").update(message).digest()]);
    writeFileSync(path.join(dir, "in.bin"), digestInfo);
    card.log.length = 0;
    const { code, out } = await signWithExactBuffer(judge, {
      ...{ slot, pin: "1234", id: "01" },
      ...{ input: path.join(dir, "in.bin"), output: path.join(dir, "out.bin") },
    });
    assert.equal(code, 0, `${out}\ncard saw:\n${seen()}`);
    const signature = readFileSync(path.join(dir, "out.bin"));
    assert.ok(
      opensslVerifies(card.certificates.authentication.der, message, signature, { hash: "sha256" }),
      "openssl verifies the authentication key's RSA-PKCS signature",
    );
    assert.ok(
      card.log.some((f) => f.ins === 0x22 && f.p1 === 0x41 && f.p2 === 0xb8),
      seen(),
    );
    assert.ok(
      card.log.some((f) => f.cla === 0x11 && f.ins === 0x2a && f.p1 === 0x80 && f.p2 === 0x86),
      seen(),
    );
    assert.ok(!card.log.some((f) => f.ins === 0x88), "no INTERNAL AUTHENTICATE");
    for (const c of PSS_CASES) await signAndVerify(slot, "01", c);
  },
);

test(
  "Cryptolib: a wrong PIN costs a try on the emulated CPS4, the right one restores the counter",
  { skip },
  async () => {
    const slot = await cryptolibTokenSlot(judge, seen);
    const wrong = await judge.pkcs11(["--slot", slot, "--login", "--pin", "9999", "-O"]);
    assert.notEqual(wrong.code, 0, wrong.out);
    assert.match(wrong.out, /CKR_PIN_INCORRECT/);
    assert.equal(card.triesRemaining, 2);
    const right = await judge.pkcs11(["--slot", slot, "--login", "--pin", "1234", "-O"]);
    assert.equal(right.code, 0, right.out);
    assert.equal(card.triesRemaining, 3);
  },
);
