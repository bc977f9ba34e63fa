/**
 * Vitale through the real PC/SC stack: emulated cards plugged into pcscd's virtual reader (vpcd)
 * by the bridge, read by the daemon's koffi binding, CardSession and the Vitale driver.
 * Needs root and pcscd + vsmartcard-vpcd (scripts/system-deps.sh); holds the lab lock throughout.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { acquirePcscd, type PcscdLab } from "../helpers/pcscd.ts";
import { createReaders, type Readers } from "../../daemon/src/pcsc/index.ts";
import { createSystemBackend } from "../../daemon/src/pcsc/binding/koffi-backend.ts";
import { VpcdBridge } from "../../daemon/src/simulator/vpcd-bridge.ts";
import type { CardEmulator } from "../../daemon/src/simulator/card-emulator.ts";
import { createEmulator } from "../../daemon/src/simulator/profiles.ts";
import "../../daemon/src/simulator/cards/vitale2/profile.ts";
import { VITALE_PROFILES } from "../../daemon/src/simulator/cards/vitale2/profile.ts";
import {
  createVitale2Emulator,
  FAMILY_OF_4,
  LAB_BENEFICIARY_LAYOUT,
} from "../../daemon/src/simulator/cards/vitale2/index.ts";
import { beneficiaryRecord } from "../../daemon/src/simulator/cards/vitale2/image.ts";
import {
  createPublicLayoutVitaleReader,
  createVitaleService,
  type VitaleService,
} from "../../daemon/src/cards/vitale/index.ts";
import { chooseReader } from "../../daemon/src/cards/choose-reader.ts";
import { InvalidParamsError, isPasserelleError } from "../../daemon/src/errors.ts";
import { VitaleReadResult } from "@passerelle/protocol";
import { waitForCard } from "../helpers/vpcd-slots.ts";

const CPS3_ATR = Uint8Array.from(Buffer.from("3BAC00402A001225006480000310009000", "hex"));

let lab: PcscdLab;
let readers: Readers;
const bridges = new Set<VpcdBridge>();

before(async () => {
  lab = await acquirePcscd();
  readers = await createReaders({ backend: createSystemBackend() });
});

after(async () => {
  for (const bridge of bridges) await bridge.close();
  await readers?.close();
  await lab?.release();
});

/** Plugs `emulator` into vpcd slot `slot`; resolves with the pcscd reader id once the card is seen. */
async function insert(
  slot: number,
  emulator: CardEmulator,
): Promise<{ readerId: string; bridge: VpcdBridge }> {
  const bridge = new VpcdBridge({ emulator, slot, reconnect: false });
  bridges.add(bridge);
  await bridge.start();
  return { readerId: await waitForCard(readers, slot, true), bridge };
}

async function pull(slot: number, bridge: VpcdBridge): Promise<void> {
  await bridge.close();
  bridges.delete(bridge);
  await waitForCard(readers, slot, false);
}

/** Every test starts with both vpcd slots empty, whatever an earlier failure left behind. */
async function emptySlots(): Promise<void> {
  for (const bridge of bridges) await bridge.close();
  bridges.clear();
  await waitForCard(readers, 0, false);
  await waitForCard(readers, 1, false);
}

function counting(
  emulator: CardEmulator,
  onTransmit?: (count: number) => void,
): CardEmulator & { count: number } {
  const wrapper = {
    atr: emulator.atr,
    count: 0,
    transmit(apdu: Uint8Array) {
      wrapper.count += 1;
      onTransmit?.(wrapper.count);
      return emulator.transmit(apdu);
    },
    reset: () => emulator.reset(),
  };
  return wrapper;
}

function labService(): VitaleService {
  return createVitaleService({ reader: createPublicLayoutVitaleReader({ layout: LAB_BENEFICIARY_LAYOUT }) });
}

test("a 4-beneficiary Vitale 2 through pcscd: every beneficiary, then a warm read with 0 APDUs", async () => {
  await emptySlots();
  const card = counting(await createEmulator(VITALE_PROFILES.vitale4));
  const { readerId, bridge } = await insert(1, card);
  const service = labService();
  const data = await readers.withCard(readerId, (channel) => service.read(channel));
  VitaleReadResult.parse({ readerId, ...data });
  assert.deepEqual(
    data.beneficiaries.map((b) => [
      b.index,
      b.nir,
      b.lastName,
      b.firstName,
      b.birthDate,
      b.birthRank,
      b.nirValid,
    ]),
    FAMILY_OF_4.map((f, index) => [
      index,
      f.nir,
      f.lastName,
      f.firstName,
      `${f.birthDate.slice(0, 4)}-${f.birthDate.slice(4, 6)}-${f.birthDate.slice(6)}`,
      f.birthRank,
      true,
    ]),
  );
  assert.equal(data.warnings, undefined);
  const cold = card.count;
  assert.ok(cold >= 13, `cold read reached the card with ${cold} APDUs`);

  const warm = await readers.withCard(readerId, (channel) => service.read(channel));
  assert.equal(card.count, cold, "the warm read sent no APDU");
  assert.deepEqual(warm, data);

  // Pulled and re-inserted: a new insertion is read again.
  await pull(1, bridge);
  const again = await insert(1, card);
  await readers.withCard(again.readerId, (channel) => service.read(channel));
  assert.equal(card.count, 2 * cold);
  await pull(1, again.bridge);
});

test("the split layout through pcscd, by Rufus's short-file route: names and NIRs matched by position", async () => {
  await emptySlots();
  const card = counting(await createEmulator(VITALE_PROFILES.vitaleSplitUnlisted));
  const { readerId, bridge } = await insert(1, card);
  const data = await readers.withCard(readerId, (channel) => labService().read(channel));
  VitaleReadResult.parse({ readerId, ...data });
  assert.deepEqual(
    data.beneficiaries.map((b) => [b.nir, b.lastName, b.firstName, b.birthRank]),
    FAMILY_OF_4.map((f) => [f.nir, f.lastName, f.firstName, f.birthRank]),
  );
  assert.equal(data.warnings, undefined);
  await pull(1, bridge);
});

test("faults in data files: status error, missing file, truncated TLV, a length past the file", async () => {
  await emptySlots();
  const service = labService();
  const badFile = await insert(0, await createEmulator(VITALE_PROFILES.vitaleBadFile));
  const data = await readers.withCard(badFile.readerId, (channel) => service.read(channel));
  assert.equal(data.beneficiaries.length, 3);
  assert.deepEqual(
    data.beneficiaries.map((b) => b.firstName),
    [FAMILY_OF_4[0]!.firstName, FAMILY_OF_4[2]!.firstName, FAMILY_OF_4[3]!.firstName],
  );
  assert.equal(data.warnings?.length, 1);
  assert.match(data.warnings?.[0] ?? "", /READ BINARY answered status 6982/);
  await pull(0, badFile.bridge);

  const record = beneficiaryRecord(FAMILY_OF_4[1]!);
  const pastTheFile = Uint8Array.from(record);
  pastTheFile[1] = record[1]! + 16;
  const emulator = createVitale2Emulator({ listMissingFile: true });
  const faulty = createVitale2Emulator({
    listMissingFile: true,
    fileContents: new Map([
      [emulator.beneficiaryFiles[0]!, record.subarray(0, record.length - 5)],
      [emulator.beneficiaryFiles[2]!, pastTheFile],
    ]),
  });
  const inserted = await insert(1, faulty);
  const partial = await readers.withCard(inserted.readerId, (channel) => service.read(channel));
  assert.deepEqual(
    partial.beneficiaries.map((b) => [b.index, b.firstName]),
    [
      [0, FAMILY_OF_4[1]!.firstName],
      [1, FAMILY_OF_4[3]!.firstName],
    ],
  );
  assert.equal(partial.warnings?.length, 3);
  assert.match(partial.warnings?.[0] ?? "", /file 2004 .*malformed TLV \(VALUE_OVERRUN/);
  assert.match(partial.warnings?.[1] ?? "", /file 2006 .*malformed TLV \(VALUE_OVERRUN at offset 0\)/);
  assert.match(partial.warnings?.[2] ?? "", /file 20FF .*not on the card/);
  await pull(1, inserted.bridge);
});

test("card pulled mid-read: CARD_REMOVED, and the next insertion reads fine", async () => {
  await emptySlots();
  const service = labService();
  const inserted = await insert(0, createVitale2Emulator());
  let transmits = 0;
  await assert.rejects(
    readers.withCard(inserted.readerId, (channel) =>
      service.read({
        readerId: channel.readerId,
        atr: channel.atr,
        insertion: channel.insertion,
        control: (code, data) => channel.control(code, data),
        async transmit(command) {
          transmits += 1;
          // After the pointer file and two data files: the card leaves the reader, and pcscd has
          // seen it go, before the driver's next command.
          if (transmits === 8) await pull(0, inserted.bridge);
          return channel.transmit(command);
        },
      }),
    ),
    (error) => isPasserelleError(error, "CARD_REMOVED"),
  );
  assert.equal(transmits, 8, "the driver stopped at the first failed command");

  const healthy = await insert(0, createVitale2Emulator());
  const data = await readers.withCard(healthy.readerId, (channel) => service.read(channel));
  assert.equal(data.beneficiaries.length, 4);
  await pull(0, healthy.bridge);
});

test("a CPS in the reader, and a Vitale 1: WRONG_CARD", async () => {
  await emptySlots();
  const service = labService();
  const cps: CardEmulator = {
    atr: CPS3_ATR,
    transmit: () => Uint8Array.of(0x6a, 0x82),
    reset: () => undefined,
  };
  const cpsCard = counting(cps);
  const inCps = await insert(0, cpsCard);
  await assert.rejects(
    readers.withCard(inCps.readerId, (channel) => service.read(channel)),
    (error) => isPasserelleError(error, "WRONG_CARD") && error.details["cardType"] === "cps",
  );
  assert.equal(cpsCard.count, 0, "no APDU sent to a CPS");

  const inV1 = await insert(1, await createEmulator(VITALE_PROFILES.vitale1));
  await assert.rejects(
    readers.withCard(inV1.readerId, (channel) => service.read(channel)),
    (error) => isPasserelleError(error, "WRONG_CARD") && /generation is not supported/.test(error.message),
  );
  // with only a CPS and a Vitale 1 in, chooseReader picks the Vitale 1 for vitale.read
  assert.equal(chooseReader(readers.list(), "vitale"), inV1.readerId);
  assert.equal(chooseReader(readers.list(), "cps"), inCps.readerId);
  await pull(0, inCps.bridge);
  await pull(1, inV1.bridge);
});

test("two Vitale cards in two slots: readerId required and named in the error", async () => {
  await emptySlots();
  const service = labService();
  const first = await insert(0, createVitale2Emulator({ beneficiaries: [FAMILY_OF_4[0]!] }));
  const second = await insert(
    1,
    createVitale2Emulator({ beneficiaries: [FAMILY_OF_4[1]!, FAMILY_OF_4[2]!] }),
  );
  assert.throws(
    () => chooseReader(readers.list(), "vitale"),
    (error) =>
      error instanceof InvalidParamsError &&
      error.issues[0]?.path === "readerId" &&
      error.issues[0].message.includes(first.readerId) &&
      error.issues[0].message.includes(second.readerId),
  );
  const chosen = chooseReader(readers.list(), "vitale", second.readerId);
  const data = await readers.withCard(chosen, (channel) => service.read(channel));
  assert.deepEqual(
    data.beneficiaries.map((b) => b.firstName),
    [FAMILY_OF_4[1]!.firstName, FAMILY_OF_4[2]!.firstName],
  );
  await pull(0, first.bridge);
  await pull(1, second.bridge);
});
