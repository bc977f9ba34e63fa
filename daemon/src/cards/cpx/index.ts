/**
 * The CPx family (the ANS professional cards: CPS, CPE…) behind one surface, whatever the generation:
 * the CPS3 (IAS-ECC, cards/cps/) and the CPS4 (NXP ChipDoc, cards/cps4/) are sibling drivers with the
 * same methods, and this module picks one from the ATR (the card table's generation), as OpenSC's
 * card.c asks each card driver in turn. It holds the daemon's one instance of each (their caches are
 * per reader and insertion). A CPx ATR the table does not place (the ANS marker only) goes to the
 * CPS3 driver, the elder, whose SELECT of the IAS application decides (WRONG_CARD otherwise).
 */
import type { CpsGeneration } from "@passerelle/protocol";
import type { CardChannel } from "../../pcsc/apdu.ts";
import { recognizeCard } from "../recognize.ts";
import {
  cpsDriver,
  createCpsSigner as createSignerFor,
  type CpsKey,
  type CpsReadResult,
  type CpsSigner,
  type CpsSignerContext,
  type CpsVerifyPinResult,
  type VerifyPinRequest,
} from "../cps/index.ts";
import { Cps4Driver } from "../cps4/index.ts";

/** One driver per generation, with the same surface. */
export interface CpsGenerationDriver {
  read(channel: CardChannel): Promise<CpsReadResult>;
  certificatePem(channel: CardChannel, key?: CpsKey): Promise<string>;
  verifyPin(channel: CardChannel, request: VerifyPinRequest): Promise<CpsVerifyPinResult>;
  sign(channel: CardChannel, data: Uint8Array, key: CpsKey, origin: string): Promise<Uint8Array>;
  forget(readerId: string): void;
}

/** The card-table generations of the CPx entries, as the protocol names them. */
const GENERATIONS: Readonly<Record<string, CpsGeneration>> = { CPS3: "cps3", CPS4: "cps4" };

/** The CPS generation an ATR says (card.inserted, cps.read), or undefined (not placed, not a CPS). */
export function cpsGenerationOf(atr: Uint8Array): CpsGeneration | undefined {
  const card = recognizeCard(atr);
  return card.type === "cps" && card.generation !== undefined ? GENERATIONS[card.generation] : undefined;
}

/** The CPS3 driver is cards/cps/'s own instance (one cache for the elder, whoever calls it). */
export const cps3Driver = cpsDriver;
export const cps4Driver = new Cps4Driver();

/** The driver for the card in this channel. */
export function driverFor(channel: CardChannel): CpsGenerationDriver {
  return cpsGenerationOf(channel.atr) === "cps4" ? cps4Driver : cps3Driver;
}

/** cps.read, with the generation whose driver read the card. */
export async function readCps(channel: CardChannel): Promise<CpsReadResult & { generation: CpsGeneration }> {
  const driver = driverFor(channel);
  const result = await driver.read(channel);
  return { ...result, generation: driver === cps4Driver ? "cps4" : "cps3" };
}

export function verifyCpsPin(channel: CardChannel, request: VerifyPinRequest): Promise<CpsVerifyPinResult> {
  return driverFor(channel).verifyPin(channel, request);
}

export function signWithCps(
  channel: CardChannel,
  data: Uint8Array,
  key: CpsKey,
  origin: string,
): Promise<Uint8Array> {
  return driverFor(channel).sign(channel, data, key, origin);
}

/**
 * The INSi AssertionSigner backed by whichever CPS is in the reader: each call goes to the driver of
 * the card present in that transaction.
 */
export function createCpsSigner(context: CpsSignerContext): CpsSigner {
  const byChannel = {
    certificatePem: (channel: CardChannel, key?: CpsKey) => driverFor(channel).certificatePem(channel, key),
    sign: (channel: CardChannel, data: Uint8Array, key: CpsKey, origin: string) =>
      driverFor(channel).sign(channel, data, key, origin),
    verifyPin: (channel: CardChannel, request: VerifyPinRequest) =>
      driverFor(channel).verifyPin(channel, request),
  };
  return createSignerFor({ ...context, driver: context.driver ?? byChannel });
}

/** Drop what every generation's driver knows about this reader: wire to card.removed / reader.removed. */
export function forgetCps(readerId: string): void {
  cps3Driver.forget(readerId);
  cps4Driver.forget(readerId);
}
