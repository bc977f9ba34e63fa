/**
 * An AssertionSigner for INSi card mode backed by the CPS: RSA PKCS#1 v1.5 with SHA-256, the PIN
 * verified first (through the caller's PIN routes) when the card needs it, every signature checked
 * against the certificate by the driver before it is returned.
 */
import type { CardChannel } from "../../pcsc/apdu.ts";
import { isPasserelleError } from "../../errors.ts";
import type { CpsDriver } from "./driver.ts";
import { type CpsKey, type CpsVerifyPinResult } from "./driver.ts";
import type { VerifyPinRequest } from "./pin.ts";

/** What a signer needs of a CPS driver, whatever the card generation (CPS3, CPS4). */
export interface CpsSigningDriver {
  certificatePem(channel: CardChannel, key?: CpsKey): Promise<string>;
  sign(channel: CardChannel, data: Uint8Array, key: CpsKey, origin: string): Promise<Uint8Array>;
  verifyPin(channel: CardChannel, request: VerifyPinRequest): Promise<CpsVerifyPinResult>;
}

/** Structurally the insi/ AssertionSigner. */
export interface CpsSigner {
  /** The certificate of the key that signs (the signature certificate by default), PEM. */
  signatureCertificatePem(): Promise<string>;
  sign(data: Uint8Array): Promise<Uint8Array>;
  /** `readerId#insertion` of the card as `signatureCertificatePem()` last saw it (see insi/signer.ts). */
  presence(): string | undefined;
}

export interface CpsSignerContext {
  /** The web origin the signatures are for: the PIN must have been entered for it. */
  readonly origin: string;
  /** Runs one operation with exclusive use of the CPS, e.g. `(op) => readers.withCard(readerId, op)`. */
  withCard<T>(operation: (channel: CardChannel) => Promise<T>): Promise<T>;
  /** How to obtain the PIN when the card is not yet unlocked; absent → PIN_REQUIRED. */
  readonly pin?: VerifyPinRequest;
  /** "signature" (default, non-repudiation key, PSO HASH + PSO CDS) or "authentication". */
  readonly key?: CpsKey;
  readonly driver?: CpsSigningDriver;
}

export function createCpsSigner(
  context: CpsSignerContext,
  defaultDriver: CpsDriver | CpsSigningDriver,
): CpsSigner {
  const driver = context.driver ?? defaultDriver;
  const key = context.key ?? "signature";
  let presence: string | undefined;
  return {
    signatureCertificatePem: () =>
      context.withCard((channel) => {
        presence = `${channel.readerId}#${channel.insertion}`;
        return driver.certificatePem(channel, key);
      }),
    presence: () => presence,
    sign: (data) =>
      context.withCard(async (channel) => {
        try {
          return await driver.sign(channel, data, key, context.origin);
        } catch (error) {
          if (!isPasserelleError(error, "PIN_REQUIRED") || !context.pin) throw error;
          await driver.verifyPin(channel, context.pin);
          return driver.sign(channel, data, key, context.origin);
        }
      }),
  };
}
