/**
 * The split Vitale 2 layout that public readers show (Rufus `lecteurvitale.cpp`, cardpeek
 * `vitale_2.lua`): names and birth dates in the MF, NIRs under VITALE, matched by position.
 * The same VitaleReader reads it and the single layout; both routes to the MF's file are tested:
 * the pointer file (cardpeek) and short file 2 (Rufus).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { VitaleReadResult } from "@passerelle/protocol";
import { createPublicLayoutVitaleReader, type VitaleCardData } from "../../../src/cards/vitale/index.ts";
import { encodeTlv } from "../../../src/cards/tlv.ts";
import {
  createVitale2Emulator,
  FAMILY_OF_4,
  FAMILY_OF_6,
  LAB_BENEFICIARY_LAYOUT,
  type Vitale2Beneficiary,
  type Vitale2EmulatorOptions,
} from "../../../src/simulator/cards/vitale2/index.ts";
import {
  identityRecord,
  SPLIT_IDENTITY_FILE_ID,
  SPLIT_NIR_FILE_ID,
} from "../../../src/simulator/cards/vitale2/image.ts";
import { emulatorChannel, type CountingChannel } from "./emulator-channel.ts";
import {
  MF_IDENTITIES,
  POINTERS_SPLIT,
  PUBLIC_FIXTURE_PEOPLE,
  VITALE_NIRS,
} from "./public-reader-fixtures.ts";

const labReader = createPublicLayoutVitaleReader({ layout: LAB_BENEFICIARY_LAYOUT });
const publicReader = createPublicLayoutVitaleReader();

function split(options: Vitale2EmulatorOptions = {}): CountingChannel {
  return emulatorChannel(createVitale2Emulator({ layout: "split", ...options }));
}

function expectedKey(nir: string): string {
  const numeric = nir.replace(/^(.{5})2A/, "$119").replace(/^(.{5})2B/, "$118");
  return String(97n - (BigInt(numeric) % 97n)).padStart(2, "0");
}

function assertFamily(data: VitaleCardData, family: readonly Vitale2Beneficiary[], withRank: boolean): void {
  assert.deepEqual(
    data.beneficiaries.map((b) => [
      b.index,
      b.nir,
      b.nirKey,
      b.nirValid,
      b.lastName,
      b.firstName,
      b.birthDate,
      b.birthRank,
    ]),
    family.map((f, index) => [
      index,
      f.nir,
      expectedKey(f.nir),
      true,
      f.lastName,
      f.firstName,
      `${f.birthDate.slice(0, 4)}-${f.birthDate.slice(4, 6)}-${f.birthDate.slice(6)}`,
      withRank ? f.birthRank : undefined,
    ]),
  );
}

const sent = (channel: CountingChannel): string[] => channel.log.map((line) => line.split(" -> ")[0] ?? "");

test("split layout, listed in the pointer file (cardpeek's route): names matched with the NIRs by position", async () => {
  const channel = split();
  const data = await labReader.read(channel);
  assertFamily(data, FAMILY_OF_4, true);
  assert.equal(data.warnings, undefined);
  assert.deepEqual(data.card, { generation: "vitale2", reader: "public-layout", validFrom: "2024-01-02" });
  VitaleReadResult.parse({ readerId: "Test Reader 00 00", ...data });
  // SELECT VITALE, pointer file (2), CARTE (2), NIR file (2), SELECT MF_VITALE, IDENT (2)
  assert.equal(channel.commands, 10);
  assert.ok(sent(channel).includes("00a404000ed2500000024d465f564954414c4500"), "MF_VITALE selected by AID");
  // nationality stays raw, from the VITALE record
  assert.deepEqual(data.beneficiaries[0]?.raw, { "90": Buffer.from("FRA").toString("hex").toUpperCase() });
});

test("split layout, not listed (Rufus's route): SELECT 3F00, READ BINARY short file 2", async () => {
  const channel = split({ listIdentityFile: false, beneficiaries: FAMILY_OF_6 });
  const data = await labReader.read(channel);
  assertFamily(data, FAMILY_OF_6, true);
  assert.equal(data.warnings, undefined);
  const commands = sent(channel);
  // Rufus's own commands, byte for byte
  assert.ok(commands.includes("00a40000023f00"), "SELECT MF as Rufus sends it");
  assert.ok(commands.includes("00b0820000"), "READ BINARY of short file 2 as Rufus sends it");
});

test("an MF file longer than one READ BINARY: short file 2 first, then by offset", async () => {
  const records = FAMILY_OF_6.map(identityRecord);
  const long = new Uint8Array(records.reduce((sum, r) => sum + r.length, 0) + 300);
  let offset = 0;
  for (const record of records) {
    long.set(record, offset);
    offset += record.length;
  }
  const channel = split({
    listIdentityFile: false,
    beneficiaries: FAMILY_OF_6,
    fileContents: new Map([[SPLIT_IDENTITY_FILE_ID, long]]),
  });
  const data = await labReader.read(channel);
  assertFamily(data, FAMILY_OF_6, true);
  assert.ok(
    sent(channel).some((apdu) => apdu.startsWith("00b00100")),
    "second chunk by offset",
  );
});

test("the public tags alone read the split layout; the lab's rank tag stays raw", async () => {
  const data = await publicReader.read(split());
  assertFamily(data, FAMILY_OF_4, false);
  assert.equal(data.beneficiaries[3]?.raw?.["83"], "02");
});

test("hand-written bytes from the public parsers' rules (fixtures, not the image builder)", async () => {
  for (const listIdentityFile of [true, false]) {
    const fileContents = new Map([
      [SPLIT_IDENTITY_FILE_ID, MF_IDENTITIES],
      [SPLIT_NIR_FILE_ID, VITALE_NIRS],
      ...(listIdentityFile ? [[0x2001, POINTERS_SPLIT] as const] : []),
    ]);
    const data = await publicReader.read(split({ listIdentityFile, fileContents }));
    assert.deepEqual(
      data.beneficiaries.map(({ nir, nirKey, lastName, firstName, birthDate }) => ({
        nir,
        nirKey,
        lastName,
        firstName,
        birthDate,
      })),
      PUBLIC_FIXTURE_PEOPLE,
      `identity file ${listIdentityFile ? "listed" : "by short file 2"}`,
    );
    assert.ok(data.beneficiaries.every((b) => b.nirValid === true));
  }
});

test("more NIRs than identities: every beneficiary kept, matched by position, warned", async () => {
  const identities = Uint8Array.from([
    ...identityRecord(FAMILY_OF_4[0]!),
    ...identityRecord(FAMILY_OF_4[1]!),
  ]);
  const data = await labReader.read(split({ fileContents: new Map([[SPLIT_IDENTITY_FILE_ID, identities]]) }));
  assert.equal(data.beneficiaries.length, 4);
  assert.deepEqual(
    data.beneficiaries.map((b) => [b.nir, b.firstName]),
    [
      [FAMILY_OF_4[0]!.nir, FAMILY_OF_4[0]!.firstName],
      [FAMILY_OF_4[1]!.nir, FAMILY_OF_4[1]!.firstName],
      [FAMILY_OF_4[2]!.nir, ""],
      [FAMILY_OF_4[3]!.nir, ""],
    ],
  );
  assert.ok(
    data.warnings?.some((w) => /holds 4 beneficiary records and the MF 2: matched by position/.test(w)),
  );
  assert.ok(data.warnings?.some((w) => /file 2002 \(NIR\): no first name \(tag 81\)/.test(w)));
});

test("more identities than NIRs: the extra ones come back without a NIR, marked invalid", async () => {
  const nirs = encodeTlv(0x65, [
    encodeTlv(0x93, Buffer.from(FAMILY_OF_4[0]!.nir + expectedKey(FAMILY_OF_4[0]!.nir))),
  ]);
  const data = await labReader.read(split({ fileContents: new Map([[SPLIT_NIR_FILE_ID, nirs]]) }));
  assert.equal(data.beneficiaries.length, 4);
  assert.equal(data.beneficiaries[0]?.nirValid, true);
  assert.deepEqual(
    data.beneficiaries.slice(1).map((b) => [b.nir, b.nirValid, b.firstName]),
    FAMILY_OF_4.slice(1).map((f) => ["", false, f.firstName]),
  );
  assert.ok(data.warnings?.some((w) => /holds 1 beneficiary records and the MF 4/.test(w)));
});

test("the MF's file unreadable: the NIRs still come back, with warnings and no invented names", async () => {
  for (const listIdentityFile of [true, false]) {
    const data = await labReader.read(
      split({ listIdentityFile, failingFiles: [{ fid: SPLIT_IDENTITY_FILE_ID, sw: 0x6982 }] }),
    );
    assert.deepEqual(
      data.beneficiaries.map((b) => [b.nir, b.lastName, b.firstName, b.birthDate]),
      FAMILY_OF_4.map((f) => [f.nir, "", "", ""]),
    );
    assert.ok(data.warnings?.some((w) => /READ BINARY answered status 6982/.test(w)));
  }
});

test("the single layout sends no command to the MF (no extra cost)", async () => {
  const channel = emulatorChannel(createVitale2Emulator());
  await labReader.read(channel);
  assert.equal(channel.commands, 13);
  assert.ok(!sent(channel).some((apdu) => apdu.startsWith("00a40000") || apdu.includes("4d465f")));
});
