/**
 * The CPS (IAS-ECC CPx) driver's public surface. Everything goes through a CardChannel; a default
 * driver instance holds the per-insertion cache (call forgetCps(readerId) on card.removed).
 */
import type { CardChannel } from "../../pcsc/apdu.ts";
import { CpsDriver, type CpsKey, type CpsReadResult, type CpsVerifyPinResult } from "./driver.ts";
import { createCpsSigner as createSigner, type CpsSigner, type CpsSignerContext } from "./signer.ts";
import type { VerifyPinRequest } from "./pin.ts";

export { CpsDriver, MAX_FILE_BYTES, parsePinCounter } from "./driver.ts";
export type { CpsKey, CpsReadResult, CpsVerifyPinResult, CpsCertificateInfo } from "./driver.ts";
export type { CpsHolder, ParsedCertificate } from "./holder.ts";
export { ID_NAT_TYPES, CpsCertificateError, holderFromCertificate, parseCertificate } from "./holder.ts";
// The PKCS#15 directory parsers, shared with the CPS4 driver (cards/cps4/).
export {
  Pkcs15Error,
  fileSizeFromFcp,
  parseAodf,
  parseCdf,
  parseOdf,
  parsePrkdf,
  type CertificateEntry,
  type PinEntry,
  type PrivateKeyEntry,
} from "./pkcs15.ts";
export {
  PinFormatError,
  PIN_PATTERN,
  checkPinFormat,
  checkTriesBeforeVerify,
  choosePinRoute,
  buildPinBlock,
  buildPinVerifyStructure,
  parseFeatures,
  scardCtlCode,
  FEATURE_VERIFY_PIN_DIRECT,
  CM_IOCTL_GET_FEATURE_REQUEST_FUNCTION,
} from "./pin.ts";
export type { PinPrompt, PinRoute, VerifyPinRequest } from "./pin.ts";
// The PIN verification flow both generations run, each with its own commands (a PinCard).
export { dropVerification, PinPads, runPinVerification } from "./verify-pin.ts";
export type { PinCard, PinState } from "./verify-pin.ts";
export type { CpsSigner, CpsSignerContext, CpsSigningDriver } from "./signer.ts";

/** The daemon's one driver instance (its cache is per reader and insertion). */
export const cpsDriver = new CpsDriver();

export function readCps(channel: CardChannel): Promise<CpsReadResult> {
  return cpsDriver.read(channel);
}

export function verifyCpsPin(channel: CardChannel, request: VerifyPinRequest): Promise<CpsVerifyPinResult> {
  return cpsDriver.verifyPin(channel, request);
}

export function signWithCps(
  channel: CardChannel,
  data: Uint8Array,
  key: CpsKey,
  origin: string,
): Promise<Uint8Array> {
  return cpsDriver.sign(channel, data, key, origin);
}

export function createCpsSigner(context: CpsSignerContext): CpsSigner {
  return createSigner(context, cpsDriver);
}

/** Drop the cache for a reader: wire to card.removed / reader.removed. */
export function forgetCps(readerId: string): void {
  cpsDriver.forget(readerId);
}

export { verifyCpsPin as verifyPin };
