/**
 * The Vitale driver through the daemon's real PC/SC layer (createReaders → CardSession, with its
 * own 61xx/6Cxx handling) over the in-process virtual backend, with the lab profiles.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { createReaders, type Readers } from "../../../src/pcsc/index.ts";
import { VirtualPcsc, VIRTUAL_READER_NAMES } from "../../../src/simulator/virtual-pcsc.ts";
import { createEmulator } from "../../../src/simulator/profiles.ts";
import "../../../src/simulator/cards/vitale2/profile.ts";
import { VITALE_PROFILES } from "../../../src/simulator/cards/vitale2/profile.ts";
import { LAB_BENEFICIARY_LAYOUT, FAMILY_OF_4 } from "../../../src/simulator/cards/vitale2/index.ts";
import type { CardEmulator } from "../../../src/simulator/card-emulator.ts";
import { createPublicLayoutVitaleReader, createVitaleService } from "../../../src/cards/vitale/index.ts";
import { isPasserelleError } from "../../../src/errors.ts";

const [SLOT0, SLOT1] = VIRTUAL_READER_NAMES;

/** Counts what reaches the card, and can pull the card out of its reader mid-read. */
function counted(
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
    reset() {
      emulator.reset();
    },
  };
  return wrapper;
}

async function cardSeen(readers: Readers, readerId: string, present: boolean): Promise<void> {
  for (let i = 0; i < 200; i += 1) {
    if (readers.list().some((reader) => reader.id === readerId && reader.cardPresent === present)) return;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error(`reader ${readerId} never showed cardPresent=${present}`);
}

async function withLab(run: (lab: { pcsc: VirtualPcsc; readers: Readers }) => Promise<void>): Promise<void> {
  const pcsc = new VirtualPcsc();
  const readers = await createReaders({ backend: pcsc });
  try {
    await run({ pcsc, readers });
  } finally {
    await readers.close();
  }
}

test("cold read through CardSession, warm read with 0 APDUs, re-insertion reads again", async () => {
  await withLab(async ({ pcsc, readers }) => {
    const service = createVitaleService({
      reader: createPublicLayoutVitaleReader({ layout: LAB_BENEFICIARY_LAYOUT }),
    });
    const card = counted(await createEmulator(VITALE_PROFILES.vitale4));
    pcsc.insert(SLOT1, card);
    await cardSeen(readers, SLOT1, true);

    const cold = await readers.withCard(SLOT1, (channel) => service.read(channel));
    assert.deepEqual(
      cold.beneficiaries.map((b) => [b.firstName, b.birthRank]),
      FAMILY_OF_4.map((f) => [f.firstName, f.birthRank]),
    );
    assert.equal(cold.warnings, undefined);
    const coldApdus = card.count;
    // 13 driver commands; each data read costs 6C + 61 + GET RESPONSE on this T=0 card
    assert.ok(coldApdus > 13, `cold read: ${coldApdus} APDUs`);

    const warm = await readers.withCard(SLOT1, (channel) => service.read(channel));
    assert.equal(card.count, coldApdus, "warm read sends no APDU");
    assert.deepEqual(warm, cold);

    pcsc.remove(SLOT1);
    await cardSeen(readers, SLOT1, false);
    pcsc.insert(SLOT1, card);
    await cardSeen(readers, SLOT1, true);
    await readers.withCard(SLOT1, (channel) => service.read(channel));
    assert.equal(card.count, 2 * coldApdus, "a new insertion is read again");
  });
});

test("status error on one file, Vitale 1, CPS-like card: through the real PC/SC layer", async () => {
  await withLab(async ({ pcsc, readers }) => {
    const service = createVitaleService({ reader: createPublicLayoutVitaleReader() });
    pcsc.insert(SLOT0, await createEmulator(VITALE_PROFILES.vitaleBadFile));
    pcsc.insert(SLOT1, await createEmulator(VITALE_PROFILES.vitale1));
    await cardSeen(readers, SLOT0, true);
    await cardSeen(readers, SLOT1, true);

    const data = await readers.withCard(SLOT0, (channel) => service.read(channel));
    assert.equal(data.beneficiaries.length, 3);
    assert.equal(data.warnings?.length, 1);
    assert.match(data.warnings?.[0] ?? "", /6982/);

    await assert.rejects(
      readers.withCard(SLOT1, (channel) => service.read(channel)),
      (error) => isPasserelleError(error, "WRONG_CARD") && /generation is not supported/.test(error.message),
    );
  });
});

test("card pulled mid-read: CARD_REMOVED", async () => {
  await withLab(async ({ pcsc, readers }) => {
    const service = createVitaleService({ reader: createPublicLayoutVitaleReader() });
    const card = counted(await createEmulator(VITALE_PROFILES.vitale), (count) => {
      if (count === 8) pcsc.remove(SLOT0);
    });
    pcsc.insert(SLOT0, card);
    await cardSeen(readers, SLOT0, true);
    await assert.rejects(
      readers.withCard(SLOT0, (channel) => service.read(channel)),
      (error) => isPasserelleError(error, "CARD_REMOVED"),
    );
  });
});

async function insertionIs(readers: Readers, readerId: string, insertion: number): Promise<boolean> {
  for (let i = 0; i < 100; i += 1) {
    if (readers.list().some((reader) => reader.id === readerId && reader.insertion === insertion))
      return true;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return false;
}

test("two same-ATR Vitale cards swapped between two wake-ups (counter moved by 2): the second patient, never the first's cache", async () => {
  await withLab(async ({ pcsc, readers }) => {
    const service = createVitaleService({
      reader: createPublicLayoutVitaleReader({ layout: LAB_BENEFICIARY_LAYOUT }),
    });
    pcsc.insert(SLOT0!, await createEmulator(VITALE_PROFILES.vitale4));
    await cardSeen(readers, SLOT0!, true);
    const first = await readers.withCard(SLOT0!, (channel) => service.read(channel));
    assert.equal(first.beneficiaries.length, 4);
    const other = await createEmulator(VITALE_PROFILES.vitaleSingle);
    assert.deepEqual(other.atr, (await createEmulator(VITALE_PROFILES.vitale4)).atr, "same ATR");
    // pulled and another pushed before the monitor woke: the ATR is the same, only the counter tells
    const before = readers.list().find((r) => r.id === SLOT0)!.insertion;
    pcsc.swapUnnoticed(SLOT0!, other, 2);
    assert.ok(await insertionIs(readers, SLOT0!, before + 1), "a new insertion");
    const second = await readers.withCard(SLOT0!, (channel) => service.read(channel));
    assert.equal(second.beneficiaries.length, 1, "the new card was read, not the cache of the old one");
  });
});

test("a reader whose counter moved by one only: another ATR still makes a new insertion", async () => {
  await withLab(async ({ pcsc, readers }) => {
    const service = createVitaleService({
      reader: createPublicLayoutVitaleReader({ layout: LAB_BENEFICIARY_LAYOUT }),
    });
    pcsc.insert(SLOT0!, await createEmulator(VITALE_PROFILES.vitale4));
    await cardSeen(readers, SLOT0!, true);
    await readers.withCard(SLOT0!, (channel) => service.read(channel));
    const before = readers.list().find((r) => r.id === SLOT0)!.insertion;
    // the other Vitale 2 ATR of smartcard_list.txt
    const otherAtr = Uint8Array.from(Buffer.from("3B751300004509FA9000", "hex"));
    const inner = await createEmulator(VITALE_PROFILES.vitaleSingle);
    pcsc.swapUnnoticed(
      SLOT0!,
      { atr: otherAtr, transmit: (a) => inner.transmit(a), reset: () => inner.reset() },
      1,
    );
    assert.ok(await insertionIs(readers, SLOT0!, before + 1), "a new insertion");
    const second = await readers.withCard(SLOT0!, (channel) => service.read(channel));
    assert.equal(second.beneficiaries.length, 1);
  });
});
