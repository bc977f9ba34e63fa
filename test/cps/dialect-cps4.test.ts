/**
 * Our CPS4 driver speaks the official middleware's dialect. The same emulated CPS4 (ChipDoc), behind
 * the real pcscd, records every C-APDU (TracingCard) while the ANS Cryptolib reads the card, logs in
 * and signs with both keys, then while our driver does the same operations through the CPx surface.
 * Every command form of ours (CLA, INS, P1, P2, ISO case, so whether an Le is there) must be one
 * Cryptolib sends: a form it never sends is unproven on the CPS4 cards in the field. The comparison
 * is printed as a table (docs/cards.md "CPS4", "Dialect" has it with each command's public source).
 * Skipped with how to get the module when it is absent; a failure under PASSERELLE_REQUIRE_CRYPTOLIB=1.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { cryptolibJudge, type CryptolibJudge } from "../helpers/cryptolib.ts";
import { cryptolibTokenSlot, signWithExactBuffer } from "../helpers/cryptolib-token.ts";
import { insertIntoVpcd, type InsertedCard } from "../helpers/vpcd-card.ts";
import type { Readers } from "../../daemon/src/pcsc/index.ts";
import { Cps4Emulator } from "../../daemon/src/simulator/cards/cps4/index.ts";
import { TracingCard, formKey } from "../../daemon/src/simulator/apdu-trace.ts";
import { forgetCps, readCps, signWithCps, verifyCpsPin } from "../../daemon/src/cards/cpx/index.ts";

const ORIGIN = "https://dialect.test";
const found = cryptolibJudge();
const skip = "skip" in found ? found.skip : false;

let inserted: InsertedCard<TracingCard> | undefined;
let readers: Readers | undefined;
let card: TracingCard;
let readerId: string;
let judge: CryptolibJudge;
let dir: string;

before(async () => {
  if ("skip" in found) return;
  judge = found;
  dir = mkdtempSync(path.join(tmpdir(), "passerelle-dialect-"));
  inserted = await insertIntoVpcd(new TracingCard(new Cps4Emulator()), {
    beforeInsert: () => judge.clearCache(),
  });
  ({ card, readers, readerId } = inserted);
});

after(async () => {
  if (readerId) forgetCps(readerId);
  await inserted?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
  if (!("skip" in found)) found.clearCache();
});

/** The forms the card saw during `run`, by operation. */
async function recorded(run: () => Promise<unknown>): Promise<string[]> {
  card.clear();
  await run();
  return card.forms().map(formKey);
}

test(
  "every command form our CPS4 driver sends is one the ANS Cryptolib sends to the same card",
  { skip },
  async () => {
    const slot = await cryptolibTokenSlot(judge);
    const file = (name: string): string => path.join(dir, name);
    writeFileSync(file("message"), randomBytes(300));
    writeFileSync(
      file("digest-info"),
      Buffer.concat([
        Buffer.from("3031300d060960864801650304020105000420", "hex"),
        createHash("sha256").update("dialect").digest(),
      ]),
    );
    // Cryptolib: each operation from a cold cache (it caches card files by serial).
    const cryptolib = async (args: string[]): Promise<string[]> =>
      recorded(async () => {
        judge.clearCache();
        const { code, out } = await judge.pkcs11(["--slot", slot, ...args]);
        assert.equal(code, 0, out);
      });
    const theirs = {
      read: [
        ...(await cryptolib(["--read-object", "--type", "cert", "--id", "01", "--output-file", file("c1")])),
        ...(await cryptolib(["--read-object", "--type", "cert", "--id", "02", "--output-file", file("c2")])),
      ],
      pin: await cryptolib(["--login", "--pin", "1234", "--list-objects"]),
      signature: await cryptolib([
        ...["--login", "--pin", "1234", "--sign", "--id", "02", "-m", "SHA256-RSA-PKCS"],
        ...["--input-file", file("message"), "--output-file", file("s2")],
      ]),
      // RSA-PKCS on the authentication key through a caller with a 256-byte buffer (pkcs11-tool's
      // larger one makes Cryptolib refuse before any APDU: test/helpers/pkcs11-sign.ts).
      authentication: await recorded(async () => {
        judge.clearCache();
        const { code, out } = await signWithExactBuffer(judge, {
          ...{ slot, pin: "1234", id: "01" },
          ...{ input: file("digest-info"), output: file("s1") },
        });
        assert.equal(code, 0, out);
      }),
    };
    const ours = {
      read: await recorded(() => readers!.withCard(readerId, (channel) => readCps(channel))),
      pin: await recorded(() =>
        readers!.withCard(readerId, (channel) =>
          verifyCpsPin(channel, { origin: ORIGIN, pin: "1234", pinFromPage: true, usePinPad: false }),
        ),
      ),
      signature: await recorded(() =>
        readers!.withCard(readerId, (channel) => signWithCps(channel, randomBytes(300), "signature", ORIGIN)),
      ),
      authentication: await recorded(() =>
        readers!.withCard(readerId, (channel) =>
          signWithCps(channel, randomBytes(300), "authentication", ORIGIN),
        ),
      ),
    };
    const cryptolibForms = new Set(Object.values(theirs).flat());
    const rows: string[] = [];
    const missing: string[] = [];
    for (const [operation, forms] of Object.entries(ours)) {
      assert.ok(forms.length > 0, `our ${operation} sent nothing`);
      for (const form of new Set(forms)) {
        const seen = cryptolibForms.has(form);
        rows.push(`| ${operation} | \`${form}\` | ${seen ? "yes" : "**no**"} |`);
        if (!seen) missing.push(`${operation}: ${form}`);
      }
    }
    console.log(["| operation | our form | Cryptolib sends it |", "|---|---|---|", ...rows].join("\n"));
    console.log(
      `APDUs (ours / Cryptolib, cold cache): ${Object.entries(ours)
        .map(([op, forms]) => `${op} ${forms.length}/${theirs[op as keyof typeof theirs].length}`)
        .join(", ")}`,
    );
    assert.deepEqual(missing, [], "forms Cryptolib never sends to a CPS4");
    // The middleware's CPS4 dialect itself (a change here changes the judge): channel 1 only, the
    // ChipDoc MSE and PSO DECIPHER forms, no INTERNAL AUTHENTICATE.
    assert.ok(
      [...cryptolibForms].every((form) => /^[01]1 /.test(form)),
      "Cryptolib talks on channel 1",
    );
    assert.ok(cryptolibForms.has("01 22 81 B6 case 3") && cryptolibForms.has("01 22 41 B8 case 3"));
    assert.ok(![...cryptolibForms].some((form) => / 88 00 00 /.test(form)), "no INTERNAL AUTHENTICATE");
  },
);
