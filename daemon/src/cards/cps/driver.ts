/**
 * The CPS driver: reads the holder and certificates, the PIN counter, verifies the PIN and signs,
 * talking to the card only through a CardChannel. Status words are turned into PasserelleError here,
 * once.
 *
 * Per-insertion cache: what was read (serial from EF.SN.ICC included) is kept per reader, keyed by
 * the PC/SC layer's insertion counter and the ATR — checking the serial would itself cost APDUs. A
 * later insertion, another ATR, a CARD_REMOVED or forget(readerId) drops it. A warm read sends no
 * APDU at all.
 */
import { createHash, verify as verifySignature } from "node:crypto";
import type { CardChannel, CommandApdu, ResponseApdu } from "../../pcsc/apdu.ts";
import { isPasserelleError, PasserelleError } from "../../errors.ts";
import { cardTypeOf } from "../card-type.ts";
import { recognizeCard } from "../recognize.ts";
import { decodeTlv, findTlv } from "../tlv.ts";
import { sha256BitCounter, sha256Midstate } from "../sha256-midstate.ts";
import * as apdu from "./commands.ts";
import { SW, swHex } from "./commands.ts";
import {
  CpsCertificateError,
  holderFromCertificate,
  parseCertificate,
  type CpsHolder,
  type ParsedCertificate,
} from "./holder.ts";
import {
  fileSizeFromFcp,
  parseAodf,
  parseCdf,
  parseOdf,
  parseDir,
  parsePrkdf,
  Pkcs15Error,
  type CertificateEntry,
  type PinEntry,
  type PrivateKeyEntry,
} from "./pkcs15.ts";
import type { VerifyPinRequest } from "./pin.ts";
import {
  dropVerification,
  PinPads,
  runPinVerification,
  type CpsVerifyPinResult,
  type PinCard,
  type PinState,
} from "./verify-pin.ts";

/** Largest file we read: certificates are ~1.5 KiB; a bigger "file" is a broken card. */
export const MAX_FILE_BYTES = 8 * 1024;
/** The CPx IAS application DF under the MF (OpenSC card-iasecc.c: private keys in 3F00:0001). */
const DEFAULT_APPLICATION_FID = Uint8Array.of(0x00, 0x01);
/** DER DigestInfo header for SHA-256 (PKCS#1 v2.2 §9.2 note 1). */
const SHA256_DIGEST_INFO_PREFIX = Uint8Array.from(
  Buffer.from("3031300d060960864801650304020105000420", "hex"),
);

export type CpsKey = "signature" | "authentication";

export interface CpsCertificateInfo {
  readonly pem: string;
  readonly notAfter: string;
}

/** cps.read's result without readerId (protocol CpsReadResult). */
export interface CpsReadResult {
  readonly holder: CpsHolder;
  readonly certificates: {
    readonly authentication: CpsCertificateInfo;
    readonly signature: CpsCertificateInfo;
  };
  readonly pin: { readonly verified: boolean; readonly triesRemaining?: number };
}

export type { CpsVerifyPinResult } from "./verify-pin.ts";

interface CardData {
  readonly serial: Uint8Array;
  readonly holder: CpsHolder;
  readonly applicationPath: Uint8Array;
  readonly certificates: Record<CpsKey, ParsedCertificate>;
  readonly keys: Record<CpsKey, PrivateKeyEntry>;
  readonly pin: PinEntry;
}

interface CacheEntry extends PinState {
  readonly insertion: number;
  readonly atr: Uint8Array;
  data: CardData;
  maxTries?: number;
}

const sameBytes = (a: Uint8Array, b: Uint8Array): boolean =>
  a.length === b.length && a.every((x, i) => x === b[i]);

function cardError(step: string, sw?: number, message?: string): PasserelleError {
  return new PasserelleError(
    "CARD_ERROR",
    message ?? `CPS: ${step} failed${sw === undefined ? "" : ` (${swHex(sw)})`}`,
    sw === undefined ? { step } : { step, sw: swHex(sw) },
  );
}

export class CpsDriver {
  readonly #cache = new Map<string, CacheEntry>();
  readonly #pinPads = new PinPads();

  /** Drop what is known about the card in this reader (call on card.removed / reader.removed). */
  forget(readerId: string): void {
    this.#cache.delete(readerId);
    this.#pinPads.forget(readerId);
  }

  /** cps.read: holder, both certificates and the PIN state. Warm: 0 APDUs. */
  async read(channel: CardChannel): Promise<CpsReadResult> {
    const entry = await this.#entry(channel);
    const { data } = entry;
    return {
      holder: data.holder,
      certificates: {
        authentication: {
          pem: data.certificates.authentication.pem,
          notAfter: data.certificates.authentication.notAfter,
        },
        signature: { pem: data.certificates.signature.pem, notAfter: data.certificates.signature.notAfter },
      },
      pin: {
        verified: entry.verified,
        ...(entry.triesRemaining === undefined ? {} : { triesRemaining: entry.triesRemaining }),
      },
    };
  }

  /** The signature certificate (PEM), from the cache when warm. */
  async certificatePem(channel: CardChannel, key: CpsKey = "signature"): Promise<string> {
    return (await this.#entry(channel)).data.certificates[key].pem;
  }

  /** cps.verifyPin: the flow both generations share (verify-pin.ts), with this card's commands. */
  async verifyPin(channel: CardChannel, request: VerifyPinRequest): Promise<CpsVerifyPinResult> {
    return runPinVerification(channel, request, this.#pinPads, async () => {
      const entry = await this.#entry(channel);
      return { state: entry, card: this.#pinCard(channel, entry) };
    });
  }

  /**
   * RSA PKCS#1 v1.5 with SHA-256 over `data`. Signature key: the host hashes up to the last block,
   * PSO HASH sends the midstate and the rest, the card finishes and PSO CDS signs. Authentication
   * key: INTERNAL AUTHENTICATE with the DigestInfo. The result is verified against the certificate.
   * The PIN must have been verified for `origin` (PIN_REQUIRED otherwise), even if the card is
   * already unlocked by another origin's PIN entry.
   */
  async sign(channel: CardChannel, data: Uint8Array, key: CpsKey, origin: string): Promise<Uint8Array> {
    if (data.length === 0) throw new RangeError("nothing to sign");
    const entry = await this.#entry(channel);
    if (!entry.verified || !entry.verifiedFor.has(origin)) throw new PasserelleError("PIN_REQUIRED");
    const keyEntry = entry.data.keys[key];
    await this.#expect(channel, apdu.selectPath(entry.data.applicationPath), "SELECT application");
    let response: ResponseApdu;
    if (key === "signature") {
      const mid = sha256Midstate(data);
      const intermediate =
        mid.hashedBytes === 0
          ? new Uint8Array()
          : Uint8Array.from([...mid.state, ...sha256BitCounter(mid.hashedBytes)]);
      await this.#expect(channel, apdu.mseSetHash(), "MSE SET HT");
      await this.#expect(channel, apdu.psoHash(intermediate, mid.remainder), "PSO HASH");
      await this.#expect(channel, apdu.mseSetSignature(keyEntry.keyReference), "MSE SET DST");
      response = await this.#transmit(channel, apdu.psoComputeDigitalSignature());
    } else {
      await this.#expect(channel, apdu.mseSetAuthentication(keyEntry.keyReference), "MSE SET AT");
      const digestInfo = Uint8Array.from([
        ...SHA256_DIGEST_INFO_PREFIX,
        ...createHash("sha256").update(data).digest(),
      ]);
      response = await this.#transmit(channel, apdu.internalAuthenticate(digestInfo));
    }
    if (response.sw === SW.securityNotSatisfied) {
      dropVerification(entry);
      throw new PasserelleError("PIN_REQUIRED", "the card wants the PIN again");
    }
    if (response.sw !== SW.ok)
      throw cardError(key === "signature" ? "PSO CDS" : "INTERNAL AUTHENTICATE", response.sw);
    const signature = response.data;
    const ok = verifySignature("sha256", data, entry.data.certificates[key].publicKey, signature);
    if (!ok)
      throw cardError(
        "signature check",
        undefined,
        "CPS: the card's signature does not verify against its certificate",
      );
    return signature;
  }

  // --- internals --------------------------------------------------------------------------

  async #entry(channel: CardChannel): Promise<CacheEntry> {
    // A card the ATR table does not know may be a newer CPx generation (chooseReader offers it
    // for "cps"): the SELECT of the CPx application decides (6A82 → WRONG_CARD).
    if (cardTypeOf(channel.atr) === "vitale") {
      throw new PasserelleError("WRONG_CARD", "the card in this reader is not a CPS", { expected: "cps" });
    }
    const cached = this.#cache.get(channel.readerId);
    if (cached && cached.insertion === channel.insertion && sameBytes(cached.atr, channel.atr)) return cached;
    this.forget(channel.readerId);
    const { data, triesRemaining } = await this.#readCard(channel);
    const entry: CacheEntry = {
      insertion: channel.insertion,
      atr: channel.atr.slice(),
      data,
      verified: false,
      verifiedFor: new Set(),
      triesRemaining,
    };
    this.#cache.set(channel.readerId, entry);
    return entry;
  }

  async #transmit(channel: CardChannel, command: CommandApdu): Promise<ResponseApdu> {
    try {
      return await channel.transmit(command);
    } catch (error) {
      if (isPasserelleError(error, "CARD_REMOVED") || isPasserelleError(error, "NO_CARD"))
        this.forget(channel.readerId);
      // The transport's own CARD_ERROR (an answer without status word, a 61xx loop, more bytes than
      // Le) names no step: name it by the command it broke.
      if (isPasserelleError(error, "CARD_ERROR") && error.details["step"] === undefined) {
        throw new PasserelleError(
          "CARD_ERROR",
          error.message,
          { ...error.details, step: stepOf(command) },
          error,
        );
      }
      throw error;
    }
  }

  async #expect(channel: CardChannel, command: CommandApdu, step: string): Promise<ResponseApdu> {
    const response = await this.#transmit(channel, command);
    if (response.sw === SW.securityNotSatisfied && step.startsWith("MSE")) {
      // The card has lost its PIN state (reset by another application…): so do we.
      const entry = this.#cache.get(channel.readerId);
      if (entry) dropVerification(entry);
      throw new PasserelleError("PIN_REQUIRED");
    }
    if (response.sw !== SW.ok) throw cardError(step, response.sw);
    return response;
  }

  /** Selects by absolute path and reads the whole transparent EF. */
  async #readFile(channel: CardChannel, path: Uint8Array, step: string): Promise<Uint8Array> {
    const selected = await this.#transmit(channel, apdu.selectPathWithFcp(path));
    if (selected.sw === SW.fileNotFound && step === "EF.DIR")
      throw new PasserelleError("WRONG_CARD", "no EF.DIR: not a CPx card", { expected: "cps" });
    if (selected.sw !== SW.ok) throw cardError(`SELECT ${step}`, selected.sw);
    const size = fileSizeFromFcp(selected.data);
    if (size !== undefined && size > MAX_FILE_BYTES)
      throw cardError(step, undefined, `CPS: ${step} is too large`);
    const chunks: Uint8Array[] = [];
    let offset = 0;
    for (;;) {
      const want = size === undefined ? apdu.READ_BINARY_MAX : Math.min(size - offset, apdu.READ_BINARY_MAX);
      if (want <= 0) break;
      const response = await this.#transmit(channel, apdu.readBinary(offset, want));
      // Without an FCP size we read until the card says the end was reached: 6B00 (offset past the
      // end, no data) or 6282 (end reached, with the last bytes: keep them), or a short chunk.
      if (size === undefined && offset > 0 && response.sw === 0x6b00) break;
      if (response.sw !== SW.ok && response.sw !== 0x6282)
        throw cardError(`READ BINARY ${step}`, response.sw);
      if (response.data.length === 0) break;
      chunks.push(response.data);
      offset += response.data.length;
      if (offset > MAX_FILE_BYTES) throw cardError(step, undefined, `CPS: ${step} is too large`);
      if (response.sw === 0x6282) break;
      if (size === undefined && response.data.length < want) break;
    }
    const out = new Uint8Array(offset);
    let at = 0;
    for (const chunk of chunks) {
      out.set(chunk, at);
      at += chunk.length;
    }
    return out;
  }

  async #readCard(channel: CardChannel): Promise<{ data: CardData; triesRemaining: number | undefined }> {
    try {
      // EF.DIR says where the CPx IAS application lives (`61 { 4F AID, 51 path }`), as Cryptolib
      // reads it: no SELECT by AID (the ANS middleware never sends one to a CPS3). The contactless
      // interface has its own application ("CPx IAS CL"). No CPx application listed: WRONG_CARD.
      const applications = parseDir(
        await this.#readFile(
          channel,
          Uint8Array.of(0x3f, 0x00, apdu.EF_DIR >> 8, apdu.EF_DIR & 0xff),
          "EF.DIR",
        ),
      );
      const wanted = recognizeCard(channel.atr).contactless === true ? apdu.CPX_IAS_CL_AID : apdu.CPX_IAS_AID;
      const application =
        applications.find((a) => sameBytes(a.aid, wanted)) ??
        applications.find((a) => sameBytes(a.aid, apdu.CPX_IAS_AID) || sameBytes(a.aid, apdu.CPX_IAS_CL_AID));
      if (!application) {
        throw new PasserelleError("WRONG_CARD", "no CPx IAS application on this card", { expected: "cps" });
      }
      const applicationPath = application.path ?? Uint8Array.of(0x3f, 0x00, ...DEFAULT_APPLICATION_FID);
      const odfPath = Uint8Array.of(...applicationPath, apdu.EF_ODF >> 8, apdu.EF_ODF & 0xff);
      const odf = parseOdf(await this.#readFile(channel, odfPath, "ODF"), applicationPath);
      const certificates: CertificateEntry[] = [];
      for (const path of odf.certificates)
        certificates.push(...parseCdf(await this.#readFile(channel, path, "CDF"), applicationPath));
      const keys: PrivateKeyEntry[] = [];
      for (const path of odf.privateKeys)
        keys.push(...parsePrkdf(await this.#readFile(channel, path, "PrKDF")));
      const pins: PinEntry[] = [];
      for (const path of odf.authObjects)
        pins.push(...parseAodf(await this.#readFile(channel, path, "AODF")));

      const signatureKey = keys.find((k) => k.nonRepudiation);
      const authenticationKey = keys.find((k) => !k.nonRepudiation && k.sign);
      const pin = pins[0];
      if (!signatureKey || !authenticationKey)
        throw new Pkcs15Error("the PrKDF lacks the signature or authentication key");
      if (!pin) throw new Pkcs15Error("the AODF has no PIN");
      const certificateFor = (k: PrivateKeyEntry): CertificateEntry => {
        const found = certificates.find((c) => sameBytes(c.id, k.id));
        if (!found) throw new Pkcs15Error("no certificate matches a private key's iD");
        return found;
      };
      const authDer = await this.#readFile(
        channel,
        certificateFor(authenticationKey).path,
        "authentication certificate",
      );
      const signDer = await this.#readFile(
        channel,
        certificateFor(signatureKey).path,
        "signature certificate",
      );
      const authentication = parseCertificate(authDer, "authentication");
      const signature = parseCertificate(signDer, "signature");
      const holder = holderFromCertificate(authentication);

      // EF.SN.ICC (MF/D003): the serial, and the ANS issuer number that confirms a CPx. The SELECT
      // leaves the MF current, which GET DATA on the CHV SDO needs.
      const sn = await this.#readFile(
        channel,
        Uint8Array.of(0x3f, 0x00, apdu.EF_SN_ICC >> 8, apdu.EF_SN_ICC & 0xff),
        "EF.SN.ICC",
      );
      const serial = parseSerial(sn);
      const counter = await this.#transmit(channel, apdu.getPinCounter(pin.reference));
      const tries = counter.sw === SW.ok ? parsePinCounter(counter.data) : undefined;
      const triesRemaining = tries?.remaining;
      return {
        data: {
          serial,
          holder,
          applicationPath,
          certificates: { authentication, signature },
          keys: { authentication: authenticationKey, signature: signatureKey },
          pin,
        },
        triesRemaining,
      };
    } catch (error) {
      if (error instanceof Pkcs15Error) throw cardError("PKCS#15", undefined, `CPS: ${error.message}`);
      if (error instanceof CpsCertificateError) {
        throw new PasserelleError(
          "CARD_ERROR",
          `CPS: ${error.message}`,
          { step: "certificate", problem: error.message },
          error,
        );
      }
      throw error;
    }
  }

  /** This card's half of the PIN verification (verify-pin.ts): the CPS3's commands. */
  #pinCard(channel: CardChannel, entry: CacheEntry): PinCard {
    return {
      pin: entry.data.pin,
      cla: 0x00,
      serial: entry.data.serial,
      // The counter and VERIFY need no application: #readTries selects the MF itself.
      prepare: async () => {},
      readTries: () => this.#readTries(channel, entry),
      maxTries: () => entry.maxTries,
      readSerial: async () =>
        parseSerial(
          await this.#readFile(
            channel,
            Uint8Array.of(0x3f, 0x00, apdu.EF_SN_ICC >> 8, apdu.EF_SN_ICC & 0xff),
            "EF.SN.ICC",
          ),
        ),
      verify: async (block) =>
        (await this.#transmit(channel, apdu.verify(entry.data.pin.reference, block))).sw,
      cardError,
      forget: () => this.forget(channel.readerId),
    };
  }

  /** The tries counter, fresh from the card (SELECT MF + GET DATA: 2 APDUs). */
  async #readTries(channel: CardChannel, entry: CacheEntry): Promise<number> {
    await this.#expect(channel, apdu.selectMf(), "SELECT MF");
    const response = await this.#transmit(channel, apdu.getPinCounter(entry.data.pin.reference));
    if (response.sw !== SW.ok) throw cardError("GET DATA PIN counter", response.sw);
    const counter = parsePinCounter(response.data);
    if (counter?.remaining === undefined)
      throw cardError("GET DATA PIN counter", undefined, "CPS: unreadable PIN counter");
    entry.triesRemaining = counter.remaining;
    if (counter.maximum !== undefined) entry.maxTries = counter.maximum;
    return counter.remaining;
  }
}

const STEP_BY_INS: Readonly<Record<number, string>> = {
  0xa4: "SELECT",
  0xb0: "READ BINARY",
  0xcb: "GET DATA",
  0x20: "VERIFY",
  0x22: "MSE SET",
  0x2a: "PSO",
  0x88: "INTERNAL AUTHENTICATE",
};

function stepOf(command: CommandApdu): string {
  return STEP_BY_INS[command.ins] ?? `INS ${command.ins.toString(16).toUpperCase().padStart(2, "0")}`;
}

/** EF.SN.ICC: `5A len <ANS issuer number (5)> <serial>`. */
function parseSerial(bytes: Uint8Array): Uint8Array {
  const decoded = decodeTlv(bytes, { trailingPadding: true });
  const pan = decoded.ok ? findTlv(decoded.nodes, 0x5a) : undefined;
  if (!pan || pan.value.length <= apdu.ANS_ISSUER_NUMBER.length)
    throw new Pkcs15Error("EF.SN.ICC does not parse");
  if (!sameBytes(pan.value.subarray(0, apdu.ANS_ISSUER_NUMBER.length), apdu.ANS_ISSUER_NUMBER)) {
    throw new PasserelleError("WRONG_CARD", "EF.SN.ICC does not carry the ANS issuer number", {
      expected: "cps",
    });
  }
  return pan.value.slice(apdu.ANS_ISSUER_NUMBER.length);
}

/** The CHV SDO answer `BF81xx { A0 { 9A max, 9B remaining } }` (Cryptolib `_cps_get_pin_info`). */
export function parsePinCounter(bytes: Uint8Array): { maximum?: number; remaining?: number } | undefined {
  const decoded = decodeTlv(bytes);
  if (!decoded.ok) return undefined;
  let maximum: number | undefined;
  let remaining: number | undefined;
  const stack = [...decoded.nodes];
  while (stack.length > 0) {
    const node = stack.shift()!;
    if (node.tag === 0x9a && node.value.length === 1) maximum = node.value[0];
    if (node.tag === 0x9b && node.value.length === 1) remaining = node.value[0];
    stack.push(...node.children);
  }
  return {
    ...(maximum === undefined ? {} : { maximum }),
    ...(remaining === undefined ? {} : { remaining }),
  };
}
