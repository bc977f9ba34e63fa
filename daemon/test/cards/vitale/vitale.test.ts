import { test } from "node:test";
import assert from "node:assert/strict";
import { VitaleReadResult } from "@passerelle/protocol";
import {
  createPublicLayoutVitaleReader,
  createVitaleService,
  vitaleGenerationOf,
  isCpxAtr,
  MAX_BENEFICIARIES,
  type VitaleCardData,
} from "../../../src/cards/vitale/index.ts";
import { isPasserelleError } from "../../../src/errors.ts";
import { encodeTlv } from "../../../src/cards/tlv.ts";
import {
  createVitale1Emulator,
  createVitale2Emulator,
  FAMILY_OF_4,
  FAMILY_OF_6,
  LAB_BENEFICIARY_LAYOUT,
  SINGLE,
  type Vitale2Beneficiary,
  type Vitale2EmulatorOptions,
} from "../../../src/simulator/cards/vitale2/index.ts";
import { beneficiaryRecord, CARD_FILE_ID } from "../../../src/simulator/cards/vitale2/image.ts";
import { emulatorChannel } from "./emulator-channel.ts";

const hex = (text: string): Uint8Array => Uint8Array.from(Buffer.from(text.replace(/\s+/g, ""), "hex"));
const CPS3_ATR = hex("3BAC00402A001225006480000310009000");

const labReader = createPublicLayoutVitaleReader({ layout: LAB_BENEFICIARY_LAYOUT });
const publicReader = createPublicLayoutVitaleReader();

async function readLab(options: Vitale2EmulatorOptions = {}): Promise<VitaleCardData> {
  return labReader.read(emulatorChannel(createVitale2Emulator(options)));
}

/** Independent key computation (97 − N mod 97, 2A → 19, 2B → 18), not the INS module's. */
function expectedKey(nir: string): string {
  const numeric = nir.replace(/^(.{5})2A/, "$119").replace(/^(.{5})2B/, "$118");
  return String(97n - (BigInt(numeric) % 97n)).padStart(2, "0");
}

function expectedBirthDate(yyyymmdd: string): string {
  return `${yyyymmdd.slice(0, 4)}-${yyyymmdd.slice(4, 6)}-${yyyymmdd.slice(6, 8)}`;
}

function assertBeneficiariesMatch(
  data: VitaleCardData,
  fixtures: readonly Vitale2Beneficiary[],
  withRank: boolean,
): void {
  assert.equal(data.beneficiaries.length, fixtures.length);
  fixtures.forEach((fixture, index) => {
    const beneficiary = data.beneficiaries[index];
    assert.ok(beneficiary);
    assert.equal(beneficiary.index, index);
    assert.equal(beneficiary.nir, fixture.nir);
    assert.equal(beneficiary.nirKey, expectedKey(fixture.nir));
    assert.equal(beneficiary.nirValid, true);
    assert.equal(beneficiary.lastName, fixture.lastName);
    assert.equal(beneficiary.firstName, fixture.firstName);
    assert.equal(beneficiary.birthDate, expectedBirthDate(fixture.birthDate));
    assert.equal(typeof beneficiary.birthDate, "string");
    assert.equal(beneficiary.birthRank, withRank ? fixture.birthRank : undefined);
  });
}

test("ATR recognition: Vitale 2, Vitale 1, CPS, unknown", () => {
  assert.equal(vitaleGenerationOf(hex("3B 75 13 00 00 44 09 EA 90 00")), "vitale2");
  assert.equal(vitaleGenerationOf(hex("3B 75 13 00 00 45 09 FA 90 00")), "vitale2");
  assert.equal(vitaleGenerationOf(hex("3B 75 13 00 00 45 09 EB 90 00")), undefined);
  assert.equal(vitaleGenerationOf(hex("3F 65 25 00 2C 09 69 90 00")), "vitale1");
  assert.equal(vitaleGenerationOf(hex("3F 65 25 00 22 09 F9 90 00")), "vitale1");
  assert.equal(vitaleGenerationOf(hex("3F 65 25 00 A4 09 6A 90 00")), "vitale1");
  assert.equal(vitaleGenerationOf(CPS3_ATR), undefined);
  assert.equal(isCpxAtr(CPS3_ATR), true);
  assert.equal(isCpxAtr(hex("3B 9B 18 80 01 00 12 25 00 64 80 04 01 00 00 90 44")), true);
  // the marker's nibbles straddling two bytes is not the marker
  assert.equal(isCpxAtr(hex("3B 01 22 50 06 48 00")), false);
  assert.equal(isCpxAtr(hex("3B 75 13 00 00 44 09 EA 90 00")), false);
});

test("a 4-beneficiary card: every field, Corsican NIR, lunar date, twins with ranks, hyphens and apostrophes", async () => {
  const data = await readLab();
  assertBeneficiariesMatch(data, FAMILY_OF_4, true);
  assert.deepEqual(data.card, { generation: "vitale2", reader: "public-layout", validFrom: "2024-01-02" });
  assert.equal(data.warnings, undefined);
  const [insured, spouse, twin1, twin2] = data.beneficiaries;
  assert.equal(insured?.nir.slice(5, 7), "2A");
  assert.equal(spouse?.birthDate, "1982-00-00");
  assert.deepEqual([twin1?.birthRank, twin2?.birthRank], [1, 2]);
  assert.equal(twin1?.nir, twin2?.nir);
  assert.equal(insured?.lastName, "LE GOFF-D'ARVOR");
  // nationality (tag 90) is known to cardpeek but not part of the contract: kept raw, as hex
  assert.deepEqual(insured?.raw, { "90": Buffer.from("FRA").toString("hex").toUpperCase() });
  // what the server will send validates against the protocol schema
  VitaleReadResult.parse({ readerId: "Test Reader 00 00", ...data });
});

test("6 beneficiaries and 1 beneficiary; a 2B NIR; Latin-1 text", async () => {
  const six = await readLab({ beneficiaries: FAMILY_OF_6 });
  assertBeneficiariesMatch(six, FAMILY_OF_6, true);
  assert.equal(six.beneficiaries[4]?.nir.slice(5, 7), "2B");
  assert.equal(six.beneficiaries[5]?.firstName, "MAËLLE D'ANNA");
  const one = await readLab({ beneficiaries: SINGLE });
  assertBeneficiariesMatch(one, SINGLE, true);
});

test("the public layout does not guess the birth rank: the lab's tag 83 stays raw", async () => {
  const data = await publicReader.read(emulatorChannel(createVitale2Emulator()));
  assertBeneficiariesMatch(data, FAMILY_OF_4, false);
  assert.deepEqual(data.beneficiaries[3]?.raw, { "83": "02" });
});

test("a NIR whose key fails is marked, never dropped; a NIR without key is shape-checked", async () => {
  const beneficiaries: Vitale2Beneficiary[] = [
    { ...SINGLE[0]!, nirKey: expectedKey(SINGLE[0]!.nir) === "01" ? "02" : "01" },
    { ...SINGLE[0]!, firstName: "SANS-CLE", nirKey: null },
    { ...SINGLE[0]!, firstName: "MAUVAIS", nir: "1800199X04123", nirKey: "12" },
  ];
  const data = await readLab({ beneficiaries });
  assert.equal(data.beneficiaries.length, 3);
  const [wrongKey, noKey, badShape] = data.beneficiaries;
  assert.equal(wrongKey?.nirValid, false);
  assert.equal(wrongKey?.nir, SINGLE[0]!.nir);
  assert.equal(noKey?.nirValid, true);
  assert.equal(noKey?.nirKey, undefined);
  assert.equal(noKey?.nir, SINGLE[0]!.nir);
  assert.equal(badShape?.nirValid, false);
  assert.equal(badShape?.firstName, "MAUVAIS");
});

test("a status error on one file: the other beneficiaries come back with a per-file warning", async () => {
  const emulator = createVitale2Emulator({ failingBeneficiary: { index: 1, sw: 0x6982 } });
  const data = await labReader.read(emulatorChannel(emulator));
  assert.deepEqual(
    data.beneficiaries.map((b) => b.firstName),
    [FAMILY_OF_4[0]!.firstName, FAMILY_OF_4[2]!.firstName, FAMILY_OF_4[3]!.firstName],
  );
  assert.deepEqual(
    data.beneficiaries.map((b) => b.index),
    [0, 1, 2],
  );
  const fid = emulator.beneficiaryFiles[1]!.toString(16).toUpperCase();
  assert.equal(data.warnings?.length, 1);
  assert.match(data.warnings?.[0] ?? "", new RegExp(`file ${fid} .*6982`));
});

test("a pointer file listing a missing file: a warning, everything else read", async () => {
  const data = await readLab({ listMissingFile: true });
  assertBeneficiariesMatch(data, FAMILY_OF_4, true);
  assert.equal(data.warnings?.length, 1);
  assert.match(data.warnings?.[0] ?? "", /file 20FF .*not on the card/);
});

test("truncated TLV and a length that runs past the file: per-file warnings", async () => {
  const emulator = createVitale2Emulator();
  const [first, second] = emulator.beneficiaryFiles;
  const good = beneficiaryRecord(FAMILY_OF_4[0]!);
  const truncated = good.subarray(0, good.length - 3);
  const overlong = Uint8Array.from(good);
  overlong[1] = good[1]! + 40; // the 65 record claims 40 bytes more than the file holds
  const data = await readLab({
    fileContents: new Map([
      [first!, truncated],
      [second!, overlong],
    ]),
  });
  assert.deepEqual(
    data.beneficiaries.map((b) => b.firstName),
    [FAMILY_OF_4[2]!.firstName, FAMILY_OF_4[3]!.firstName],
  );
  assert.equal(data.warnings?.length, 2);
  assert.match(data.warnings?.[0] ?? "", /malformed TLV \(VALUE_OVERRUN/);
  assert.match(data.warnings?.[1] ?? "", /malformed TLV \(VALUE_OVERRUN at offset 0\)/);
});

test("nested-wrong record and missing fields: the record is kept with empty fields and warnings", async () => {
  const emulator = createVitale2Emulator();
  const [first, second] = emulator.beneficiaryFiles;
  // 65 { 80 "X" } : no NIR, no first name, no birth date
  const sparse = encodeTlv(0x65, [encodeTlv(0x80, hex("58"))]);
  // 65 declares 5 bytes but its child 80 declares 6
  const nestedWrong = hex("65 05 80 06 41 42 43 44 45 46");
  const data = await readLab({
    fileContents: new Map([
      [first!, sparse],
      [second!, nestedWrong],
    ]),
  });
  assert.equal(data.beneficiaries.length, 3);
  assert.deepEqual(data.beneficiaries[0], {
    index: 0,
    nir: "",
    nirValid: false,
    lastName: "X",
    firstName: "",
    birthDate: "",
  });
  assert.ok(data.warnings?.some((w) => /no NIR \(tag 93\)/.test(w)));
  assert.ok(data.warnings?.some((w) => /no first name/.test(w)));
  assert.ok(data.warnings?.some((w) => /VALUE_OVERRUN at offset 2/.test(w)));
});

test("warnings never carry personal data", async () => {
  const emulator = createVitale2Emulator();
  const data = await readLab({
    failingBeneficiary: { index: 0, sw: 0x6982 },
    listMissingFile: true,
    fileContents: new Map([
      [emulator.beneficiaryFiles[1]!, beneficiaryRecord({ ...FAMILY_OF_4[1]!, birthDate: "1982" })],
    ]),
  });
  const text = JSON.stringify(data.warnings);
  assert.ok(data.warnings !== undefined && data.warnings.length >= 3);
  for (const fixture of FAMILY_OF_4) {
    for (const value of [fixture.nir, fixture.lastName, fixture.firstName, fixture.birthDate]) {
      assert.ok(!text.includes(value), `a warning leaks a personal value`);
    }
  }
});

test("a file larger than one READ BINARY chunk, and one of exactly 256 bytes", async () => {
  const emulator = createVitale2Emulator();
  const [first, second] = emulator.beneficiaryFiles;
  const long = encodeTlv(0x65, [
    beneficiaryRecord(FAMILY_OF_4[0]!).subarray(2),
    encodeTlv(0x99, new Uint8Array(400).fill(0x5a)),
  ]);
  const base = beneficiaryRecord(FAMILY_OF_4[1]!).subarray(2);
  // pad with a raw tag so that the whole record is exactly 256 bytes
  let exact: Uint8Array = new Uint8Array();
  for (let fill = 0; exact.length < 256; fill += 1)
    exact = encodeTlv(0x65, [base, encodeTlv(0x98, new Uint8Array(fill))]);
  assert.equal(exact.length, 256);
  const channel = emulatorChannel(
    createVitale2Emulator({
      fileContents: new Map([
        [first!, long],
        [second!, exact],
      ]),
    }),
  );
  const data = await labReader.read(channel);
  assert.equal(data.warnings, undefined);
  assert.equal(data.beneficiaries[0]?.raw?.["99"], "5A".repeat(400));
  assert.equal(data.beneficiaries[0]?.firstName, FAMILY_OF_4[0]!.firstName);
  assert.equal(data.beneficiaries[1]?.firstName, FAMILY_OF_4[1]!.firstName);
});

test("without 61xx (getResponse off) the same data comes back", async () => {
  const data = await readLab({ getResponse: false });
  assertBeneficiariesMatch(data, FAMILY_OF_4, true);
});

test("a malformed pointer file is a CARD_ERROR", async () => {
  await assert.rejects(
    readLab({ fileContents: new Map([[0x2001, hex("E0 10 A0 02 82 00")]]) }),
    (error) => isPasserelleError(error, "CARD_ERROR") && /pointer file/.test(error.message),
  );
  await assert.rejects(readLab({ fileContents: new Map([[0x2001, hex("66 02 80 00")]]) }), (error) =>
    isPasserelleError(error, "CARD_ERROR"),
  );
});

test("a card file (66) with a bad date: a warning, no validFrom", async () => {
  const data = await readLab({ fileContents: new Map([[CARD_FILE_ID, hex("66 04 80 02 32 30")]]) });
  assert.equal(data.card["validFrom"], undefined);
  assert.deepEqual(data.warnings, ["file 2002 (CARTE): card validity start is not YYYYMMDD"]);
});

test("Vitale 1: WRONG_CARD naming the unsupported generation, no APDU sent", async () => {
  const channel = emulatorChannel(createVitale1Emulator());
  await assert.rejects(
    labReader.read(channel),
    (error) => isPasserelleError(error, "WRONG_CARD") && /generation is not supported/.test(error.message),
  );
  assert.equal(channel.commands, 0);
});

test("a card without the Vitale application: WRONG_CARD", async () => {
  const emulator = { ...createVitale1Emulator(), atr: hex("3B 02 14 50") };
  await assert.rejects(labReader.read(emulatorChannel(emulator)), (error) =>
    isPasserelleError(error, "WRONG_CARD"),
  );
});

test("service: a CPS in the reader is WRONG_CARD before any APDU", async () => {
  const service = createVitaleService({ reader: labReader });
  const channel = emulatorChannel({ ...createVitale2Emulator(), atr: CPS3_ATR });
  await assert.rejects(
    service.read(channel),
    (error) => isPasserelleError(error, "WRONG_CARD") && error.details["cardType"] === "cps",
  );
  assert.equal(channel.commands, 0);
});

test("service: cache per insertion — warm read is 0 APDUs, a new insertion reads again", async () => {
  const service = createVitaleService({ reader: labReader });
  const emulator = createVitale2Emulator();
  const cold = emulatorChannel(emulator, { insertion: 7 });
  const first = await service.read(cold);
  // SELECT app, SELECT+READ pointer, SELECT+READ card file and 4 beneficiary files
  assert.equal(cold.commands, 1 + 2 + 2 * 5);
  assert.ok(cold.exchanges > cold.commands, "T=0 round trips happen below the driver");

  const warm = emulatorChannel(emulator, { insertion: 7 });
  const second = await service.read(warm);
  assert.equal(warm.commands, 0);
  assert.deepEqual(second, first);
  // the caller cannot corrupt the cache through the returned object
  assert.throws(() => second.beneficiaries.pop(), TypeError);
  assert.throws(() => {
    second.beneficiaries[0]!.nir = "";
  }, TypeError);
  assert.equal((await service.read(warm)).beneficiaries[0]?.nir, FAMILY_OF_4[0]!.nir);

  const reinserted = emulatorChannel(emulator, { insertion: 8 });
  await service.read(reinserted);
  assert.equal(reinserted.commands, cold.commands);

  service.forget(reinserted.readerId);
  const afterForget = emulatorChannel(emulator, { insertion: 8 });
  await service.read(afterForget);
  assert.equal(afterForget.commands, cold.commands);

  const otherReader = emulatorChannel(emulator, { insertion: 8, readerId: "Other 00 01" });
  await service.read(otherReader);
  assert.equal(otherReader.commands, cold.commands);
});

test("card pulled mid-read: CARD_REMOVED, nothing cached", async () => {
  const service = createVitaleService({ reader: labReader });
  const emulator = createVitale2Emulator();
  const channel = emulatorChannel(emulator, { insertion: 3 });
  channel.removeAfter(9);
  await assert.rejects(service.read(channel), (error) => isPasserelleError(error, "CARD_REMOVED"));
  const again = emulatorChannel(emulator, { insertion: 3 });
  const data = await service.read(again);
  assert.ok(again.commands > 0);
  assert.equal(data.beneficiaries.length, 4);
});

test("service: a licensed reader plugs into the same seam", async () => {
  let calls = 0;
  const service = createVitaleService({
    reader: {
      name: "licensed-test",
      async read() {
        calls += 1;
        return { card: { generation: "vitale2", reader: "licensed-test" }, beneficiaries: [] };
      },
    },
  });
  const channel = emulatorChannel(createVitale2Emulator());
  await service.read(channel);
  await service.read(channel);
  assert.equal(service.readerName, "licensed-test");
  assert.equal(calls, 1);
});

test("at most MAX_BENEFICIARIES beneficiaries, in card order, the rest dropped with a warning", async () => {
  const emulator = createVitale2Emulator();
  const [first] = emulator.beneficiaryFiles;
  // One data file holding more records than any card carries (a hostile or broken card), then the
  // three other files of the family.
  const crowd = Array.from({ length: MAX_BENEFICIARIES + 2 }, (_, i) =>
    beneficiaryRecord({ ...FAMILY_OF_4[0]!, firstName: `CROWD${i}` }),
  );
  const data = await readLab({
    fileContents: new Map([[first!, Uint8Array.from(crowd.flatMap((r) => [...r]))]]),
  });
  assert.equal(data.beneficiaries.length, MAX_BENEFICIARIES);
  assert.deepEqual(
    data.beneficiaries.map((b) => b.firstName),
    Array.from({ length: MAX_BENEFICIARIES }, (_, i) => `CROWD${i}`),
  );
  assert.deepEqual(
    data.beneficiaries.map((b) => b.index),
    Array.from({ length: MAX_BENEFICIARIES }, (_, i) => i),
  );
  assert.ok(
    data.warnings?.some((w) => w.includes(`more than ${MAX_BENEFICIARIES} beneficiaries`)),
    JSON.stringify(data.warnings),
  );
});
