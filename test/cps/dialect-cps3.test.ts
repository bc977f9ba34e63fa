/**
 * Our CPS3 driver speaks the official middleware's dialect. The same emulated CPS3, behind the real
 * pcscd, records every C-APDU (TracingCard) while the ANS Cryptolib reads the card, logs in and signs
 * with both keys, then while our driver does the same operations. Every command form of ours (CLA,
 * INS, P1, P2, ISO case, so whether an Le is there) must be one Cryptolib sends: a form it never sends
 * is unproven on the CPS3 cards in the field. The comparison is printed as a table (docs/cards.md
 * "Dialect" has it with each command's public source).
 * Skipped with how to get the module when it is absent; a failure under PASSERELLE_REQUIRE_CRYPTOLIB=1.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { cryptolibJudge, type CryptolibJudge } from "../helpers/cryptolib.ts";
import { cryptolibTokenSlot } from "../helpers/cryptolib-token.ts";
import { insertIntoVpcd, type InsertedCard } from "../helpers/vpcd-card.ts";
import type { Readers } from "../../daemon/src/pcsc/index.ts";
import { Cps3Emulator } from "../../daemon/src/simulator/cards/cps3/emulator.ts";
import { TracingCard, formKey, type TracedApdu } from "../../daemon/src/simulator/apdu-trace.ts";
import { ReplayCard } from "../../daemon/src/simulator/cards/replay/index.ts";
import { recognizeCard } from "../../daemon/src/cards/recognize.ts";
import { TransportChannel } from "../../daemon/test/cards/cps/transport-channel.ts";
import { CpsDriver } from "../../daemon/src/cards/cps/index.ts";

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
  inserted = await insertIntoVpcd(new TracingCard(new Cps3Emulator()), {
    beforeInsert: () => judge.clearCache(),
  });
  ({ card, readers, readerId } = inserted);
});

after(async () => {
  await inserted?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
  if (!("skip" in found)) found.clearCache();
});

/** Wall time of each recorded operation, ms, by label (printed for the closing measurements). */
const times: Record<string, number[]> = {};

/** The forms the card saw during `run`, by operation; its wall time kept under `label`. */
/** The exchanges the card saw, by label (a replay card answers from them below). */
const traces: Record<string, TracedApdu[]> = {};

async function recorded(run: () => Promise<unknown>, label = ""): Promise<string[]> {
  card.clear();
  const started = performance.now();
  await run();
  (times[label] ??= []).push(performance.now() - started);
  (traces[label] ??= []).push(...card.trace);
  return card.forms().map(formKey);
}

test(
  "every command form our CPS3 driver sends is one the ANS Cryptolib sends to the same card",
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
    const cryptolib = async (label: string, args: string[]): Promise<string[]> =>
      recorded(async () => {
        judge.clearCache();
        const { code, out } = await judge.pkcs11(["--slot", slot, ...args]);
        assert.equal(code, 0, out);
      }, `cryptolib ${label}`);
    const theirs = {
      read: [
        ...(await cryptolib("read", [
          "--read-object",
          "--type",
          "cert",
          "--id",
          "01",
          "--output-file",
          file("c1"),
        ])),
        ...(await cryptolib("read", [
          "--read-object",
          "--type",
          "cert",
          "--id",
          "02",
          "--output-file",
          file("c2"),
        ])),
      ],
      pin: await cryptolib("pin", ["--login", "--pin", "1234", "--list-objects"]),
      signature: await cryptolib("signature", [
        ...["--login", "--pin", "1234", "--sign", "--id", "02", "-m", "SHA256-RSA-PKCS"],
        ...["--input-file", file("message"), "--output-file", file("s2")],
      ]),
      authentication: await cryptolib("authentication", [
        ...["--login", "--pin", "1234", "--sign", "--id", "01", "-m", "RSA-PKCS"],
        ...["--input-file", file("digest-info"), "--output-file", file("s1")],
      ]),
    };
    // Replay: a card that knows only what this one answered Cryptolib (reading both certificates,
    // logging in) answers our driver's whole cold read, command for command, byte for byte.
    const replay = new ReplayCard([...traces["cryptolib read"]!, ...traces["cryptolib pin"]!], card.atr);
    const replayed = await new CpsDriver().read(
      new TransportChannel(replay, recognizeCard(card.atr).maxGetResponse),
    );
    assert.deepEqual(
      replay.refused.map((c) => Buffer.from(c).toString("hex")),
      [],
      "our cold read sent commands Cryptolib never sent to this card",
    );
    assert.equal(replayed.pin.triesRemaining, 3);
    console.log(
      `replay: our cold read answered from Cryptolib's trace (${replay.answered.length} exchanges of ${traces["cryptolib read"]!.length + traces["cryptolib pin"]!.length})`,
    );
    const driver = new CpsDriver();
    const ours = {
      read: await recorded(() => readers!.withCard(readerId, (channel) => driver.read(channel)), "ours read"),
      pin: await recorded(
        () =>
          readers!.withCard(readerId, (channel) =>
            driver.verifyPin(channel, { origin: ORIGIN, pin: "1234", pinFromPage: true, usePinPad: false }),
          ),
        "ours pin",
      ),
      signature: await recorded(
        () =>
          readers!.withCard(readerId, (channel) =>
            driver.sign(channel, randomBytes(300), "signature", ORIGIN),
          ),
        "ours signature",
      ),
      authentication: await recorded(
        () =>
          readers!.withCard(readerId, (channel) =>
            driver.sign(channel, randomBytes(300), "authentication", ORIGIN),
          ),
        "ours authentication",
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
    // Indicative wall times (one machine, pcscd + vpcd; a pkcs11-tool process includes its own start
    // and the middleware's PKCS#15 bind): never asserted, reported side by side.
    console.log(
      Object.entries(times)
        .map(([label, ms]) => `${label}: ${ms.map((t) => t.toFixed(0)).join(" + ")} ms`)
        .join("; "),
    );
    assert.deepEqual(missing, [], "forms Cryptolib never sends to a CPS3");
    // GET RESPONSE: the same bytes as Cryptolib's, Le included (after 61 00 it asks 0xE7, never 00).
    const getResponses = (labels: string[]): Set<string> =>
      new Set(
        labels
          .flatMap((label) => traces[label] ?? [])
          .filter((e) => e.command[1] === 0xc0)
          .map((e) => Buffer.from(e.command).toString("hex").toUpperCase()),
      );
    const theirGetResponses = getResponses(Object.keys(traces).filter((l) => l.startsWith("cryptolib")));
    const ourGetResponses = getResponses(Object.keys(traces).filter((l) => l.startsWith("ours")));
    assert.ok(theirGetResponses.has("00C00000E7"), "Cryptolib asks 0xE7 after 61 00");
    assert.ok(ourGetResponses.has("00C00000E7"), "so do we (the signature's 61 00)");
    assert.deepEqual(
      [...ourGetResponses].filter((bytes) => !theirGetResponses.has(bytes)),
      [],
      "GET RESPONSE bytes Cryptolib never sends to a CPS3",
    );
    // The middleware's dialect itself, as the issue measured it (a regression here changes the judge).
    assert.ok(
      [...cryptolibForms].every((form) => !/^00 A4 0[08] /.test(form)),
      "Cryptolib selects with P1=09",
    );
  },
);
