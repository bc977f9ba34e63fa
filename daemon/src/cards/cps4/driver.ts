/**
 * The CPS4 driver (NXP ChipDoc applet): reads the holder and certificates, the PIN counter, verifies
 * the PIN and signs with either key, talking to the card only through a CardChannel, on logical
 * channel 1 as the ANS Cryptolib does. The sibling of the CPS3 driver (cards/cps/), with the same
 * surface; the generation-neutral pieces (PKCS#15 parsers, holder from the certificate, PIN routes,
 * PIN block and PIN pad structure) come from cards/cps/. Status words become PasserelleError here,
 * once, each CARD_ERROR naming its step.
 *
 * Per-insertion cache as for the CPS3: what was read is kept per reader, keyed by the insertion
 * counter and the ATR; a warm read sends no APDU.
 */
import { createHash, verify as verifySignature } from "node:crypto";
import type { CardChannel, CommandApdu, ResponseApdu } from "../../pcsc/apdu.ts";
import { isPasserelleError, PasserelleError } from "../../errors.ts";
import { decodeTlv, findTlv } from "../tlv.ts";
import {
  CpsCertificateError,
  dropVerification,
  fileSizeFromFcp,
  holderFromCertificate,
  parseAodf,
  parseCdf,
  parseCertificate,
  parseOdf,
  parsePrkdf,
  PinPads,
  Pkcs15Error,
  runPinVerification,
  type CertificateEntry,
  type CpsHolder,
  type CpsKey,
  type CpsReadResult,
  type CpsVerifyPinResult,
  type ParsedCertificate,
  type PinCard,
  type PinEntry,
  type PinState,
  type PrivateKeyEntry,
  type VerifyPinRequest,
} from "../cps/index.ts";
import * as apdu from "./commands.ts";
import { SW, swHex } from "./commands.ts";

/** Largest file we read: certificates are ~1.5 KiB; a bigger "file" is a broken card. */
export const MAX_FILE_BYTES = 8 * 1024;
/** DER DigestInfo header for SHA-256 (PKCS#1 v2.2 §9.2 note 1). */
const SHA256_DIGEST_INFO_PREFIX = Uint8Array.from(
  Buffer.from("3031300d060960864801650304020105000420", "hex"),
);
const MF = Uint8Array.of(0x3f, 0x00);
const fid = (value: number): Uint8Array => Uint8Array.of(value >> 8, value & 0xff);

interface CardData {
  readonly serial: Uint8Array;
  readonly holder: CpsHolder;
  readonly certificates: Record<CpsKey, ParsedCertificate>;
  readonly keys: Record<CpsKey, PrivateKeyEntry & { readonly path: Uint8Array }>;
  readonly pin: PinEntry;
}

interface CacheEntry extends PinState {
  readonly insertion: number;
  readonly atr: Uint8Array;
  readonly data: CardData;
}

const sameBytes = (a: Uint8Array, b: Uint8Array): boolean =>
  a.length === b.length && a.every((x, i) => x === b[i]);

function cardError(step: string, sw?: number, message?: string): PasserelleError {
  return new PasserelleError(
    "CARD_ERROR",
    message ?? `CPS4: ${step} failed${sw === undefined ? "" : ` (${swHex(sw)})`}`,
    sw === undefined ? { step } : { step, sw: swHex(sw) },
  );
}

const wrongCard = (message: string): PasserelleError =>
  new PasserelleError("WRONG_CARD", message, { expected: "cps" });

export class Cps4Driver {
  readonly #cache = new Map<string, CacheEntry>();
  readonly #pinPads = new PinPads();

  forget(readerId: string): void {
    this.#cache.delete(readerId);
    this.#pinPads.forget(readerId);
  }

  /** cps.read: holder, both certificates and the PIN state. Warm: 0 APDUs. */
  async read(channel: CardChannel): Promise<CpsReadResult> {
    const entry = await this.#entry(channel);
    const { certificates } = entry.data;
    return {
      holder: entry.data.holder,
      certificates: {
        authentication: {
          pem: certificates.authentication.pem,
          notAfter: certificates.authentication.notAfter,
        },
        signature: { pem: certificates.signature.pem, notAfter: certificates.signature.notAfter },
      },
      pin: {
        verified: entry.verified,
        ...(entry.triesRemaining === undefined ? {} : { triesRemaining: entry.triesRemaining }),
      },
    };
  }

  async certificatePem(channel: CardChannel, key: CpsKey = "signature"): Promise<string> {
    return (await this.#entry(channel)).data.certificates[key].pem;
  }

  /** cps.verifyPin: the flow both generations share (cards/cps/ runPinVerification), with this card's commands. */
  async verifyPin(channel: CardChannel, request: VerifyPinRequest): Promise<CpsVerifyPinResult> {
    return runPinVerification(channel, request, this.#pinPads, async () => {
      const entry = await this.#entry(channel);
      return { state: entry, card: this.#pinCard(channel, entry) };
    });
  }

  /**
   * RSA PKCS#1 v1.5 with SHA-256 over `data`, checked against the certificate before it is returned.
   * Signature key: MSE SET DST (algorithm 28, the hash given) and PSO CDS over the SHA-256.
   * Authentication key: the ChipDoc has no INTERNAL AUTHENTICATE; the host pads the DigestInfo
   * (PKCS#1 type 1) and the card "deciphers" it (MSE 41 B8, PSO DECIPHER), as Cryptolib does.
   */
  async sign(channel: CardChannel, data: Uint8Array, key: CpsKey, origin: string): Promise<Uint8Array> {
    if (data.length === 0) throw new RangeError("nothing to sign");
    const entry = await this.#entry(channel);
    if (!entry.verified || !entry.verifiedFor.has(origin)) throw new PasserelleError("PIN_REQUIRED");
    const keyEntry = entry.data.keys[key];
    const certificate = entry.data.certificates[key];
    await this.#selectApplet(channel);
    // Cryptolib selects the key's DF (the PrKDF path) before MSE.
    await this.#expect(channel, apdu.selectPath(keyEntry.path.subarray(2)), "SELECT key DF");
    const hash = createHash("sha256").update(data).digest();
    let response: ResponseApdu;
    if (key === "signature") {
      await this.#expect(channel, apdu.mseSetSignature(keyEntry.keyReference), "MSE SET DST");
      response = await this.#transmit(channel, apdu.psoComputeDigitalSignature(hash), "PSO CDS");
    } else {
      const modulusBytes = modulusLength(certificate);
      const block = pkcs1Type1(Uint8Array.from([...SHA256_DIGEST_INFO_PREFIX, ...hash]), modulusBytes);
      await this.#expect(channel, apdu.mseSetDecipher(keyEntry.keyReference), "MSE SET decipher");
      response = await this.#transmit(channel, apdu.psoDecipher(block), "PSO DECIPHER");
    }
    if (response.sw === SW.securityNotSatisfied) {
      dropVerification(entry);
      throw new PasserelleError("PIN_REQUIRED", "the card wants the PIN again");
    }
    if (response.sw !== SW.ok) throw cardError(key === "signature" ? "PSO CDS" : "PSO DECIPHER", response.sw);
    const signature = response.data;
    if (!verifySignature("sha256", data, certificate.publicKey, signature))
      throw cardError(
        "signature check",
        undefined,
        "CPS4: the card's signature does not verify against its certificate",
      );
    return signature;
  }

  // --- internals --------------------------------------------------------------------------

  async #entry(channel: CardChannel): Promise<CacheEntry> {
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

  /** One command; a CARD_ERROR from below (a malformed answer, a 61xx loop…) gets the step's name. */
  async #transmit(channel: CardChannel, command: CommandApdu, step: string): Promise<ResponseApdu> {
    try {
      return await channel.transmit(command);
    } catch (error) {
      if (isPasserelleError(error, "CARD_REMOVED") || isPasserelleError(error, "NO_CARD"))
        this.forget(channel.readerId);
      if (isPasserelleError(error, "CARD_ERROR") && error.details["step"] === undefined) {
        throw new PasserelleError(
          "CARD_ERROR",
          `CPS4: ${step}: ${error.message}`,
          { ...error.details, step },
          error,
        );
      }
      throw error;
    }
  }

  /** A parser's complaint about what the card holds, as a CARD_ERROR naming the step. */
  #parse<T>(step: string, parse: () => T): T {
    try {
      return parse();
    } catch (error) {
      if (error instanceof Pkcs15Error) throw cardError(step, undefined, `CPS4: ${step}: ${error.message}`);
      if (error instanceof CpsCertificateError) {
        throw new PasserelleError(
          "CARD_ERROR",
          `CPS4: ${error.message}`,
          { step, problem: error.message },
          error,
        );
      }
      throw error;
    }
  }

  async #expect(channel: CardChannel, command: CommandApdu, step: string): Promise<ResponseApdu> {
    const response = await this.#transmit(channel, command, step);
    if (response.sw === SW.securityNotSatisfied && step.startsWith("MSE")) {
      const entry = this.#cache.get(channel.readerId);
      if (entry) dropVerification(entry);
      throw new PasserelleError("PIN_REQUIRED");
    }
    if (response.sw !== SW.ok) throw cardError(step, response.sw);
    return response;
  }

  /**
   * The ChipDoc applet on channel 1, at the start of every operation: a reset or another
   * application may have closed the channel or selected something else since.
   */
  async #selectApplet(channel: CardChannel): Promise<void> {
    const response = await this.#transmit(channel, apdu.selectApplet(), "SELECT ChipDoc applet");
    if (response.sw === SW.fileNotFound) throw wrongCard("no ChipDoc applet on this card");
    if (response.sw !== SW.ok) throw cardError("SELECT ChipDoc applet", response.sw);
  }

  /** Selects by absolute path (P1=08) and reads the whole transparent EF the FCI sizes. */
  async #readFile(channel: CardChannel, path: Uint8Array, step: string): Promise<Uint8Array> {
    if (path.length < 4 || !sameBytes(path.subarray(0, 2), MF) || path.length % 2 !== 0)
      throw cardError(step, undefined, `CPS4: ${step} has no path from the MF`);
    const selected = await this.#transmit(channel, apdu.selectPath(path.subarray(2)), `SELECT ${step}`);
    if (selected.sw !== SW.ok) throw cardError(`SELECT ${step}`, selected.sw);
    const size = fileSizeFromFcp(selected.data);
    if (size === undefined)
      throw cardError(`SELECT ${step}`, undefined, `CPS4: ${step} has no size in its FCI`);
    if (size > MAX_FILE_BYTES) throw cardError(step, undefined, `CPS4: ${step} is too large`);
    const out = new Uint8Array(size);
    for (let offset = 0; offset < size;) {
      const want = Math.min(size - offset, apdu.READ_BINARY_MAX);
      const response = await this.#transmit(channel, apdu.readBinary(offset, want), `READ BINARY ${step}`);
      if (response.sw !== SW.ok) throw cardError(`READ BINARY ${step}`, response.sw);
      // The FCI gave the size and we ask for what is left: a card that answers 9000 with fewer
      // bytes is not at the end of the file (ISO/IEC 7816-4 would say 6282), it is broken.
      if (response.data.length !== want)
        throw cardError(
          `READ BINARY ${step}`,
          undefined,
          `CPS4: ${step} answered ${response.data.length} bytes for ${want}`,
        );
      out.set(response.data, offset);
      offset += response.data.length;
    }
    return out;
  }

  async #readCard(channel: CardChannel): Promise<{ data: CardData; triesRemaining: number | undefined }> {
    await this.#selectApplet(channel);
    const mfFile = (id: number): Uint8Array => Uint8Array.of(...MF, ...fid(id));
    // EF.SN.ICC first, as Cryptolib: the ANS issuer number confirms a CPx before anything else.
    const snIcc = await this.#readFile(channel, mfFile(apdu.EF_SN_ICC), "EF.SN.ICC");
    const serial = this.#parse("EF.SN.ICC", () => parseSerial(snIcc));
    const dir = await this.#readFile(channel, mfFile(apdu.EF_DIR), "EF.DIR");
    const applicationPath = this.#parse("EF.DIR", () => parseDirectory(dir));
    const odfBytes = await this.#readFile(
      channel,
      Uint8Array.of(...applicationPath, ...fid(apdu.EF_ODF)),
      "ODF",
    );
    const odf = this.#parse("ODF", () => parseOdf(odfBytes, applicationPath));
    const keys: PrivateKeyEntry[] = [];
    for (const path of odf.privateKeys) {
      const bytes = await this.#readFile(channel, path, "PrKDF");
      keys.push(...this.#parse("PrKDF", () => parsePrkdf(bytes)));
    }
    const certificates: CertificateEntry[] = [];
    for (const path of odf.certificates) {
      const bytes = await this.#readFile(channel, path, "CDF");
      certificates.push(...this.#parse("CDF", () => parseCdf(bytes, applicationPath)));
    }
    const pins: PinEntry[] = [];
    for (const path of odf.authObjects) {
      const bytes = await this.#readFile(channel, path, "AODF");
      pins.push(...this.#parse("AODF", () => parseAodf(bytes)));
    }
    const signatureKey = keys.find((k) => k.nonRepudiation);
    const authenticationKey = keys.find((k) => !k.nonRepudiation && k.sign);
    const pin = pins[0];
    if (!signatureKey || !authenticationKey)
      throw cardError("PrKDF", undefined, "CPS4: the PrKDF lacks the signature or authentication key");
    if (!pin) throw cardError("AODF", undefined, "CPS4: the AODF has no PIN");
    const certificateFor = (k: PrivateKeyEntry): CertificateEntry => {
      const found = certificates.find((c) => sameBytes(c.id, k.id));
      if (!found) throw cardError("CDF", undefined, "CPS4: no certificate matches a private key's iD");
      return found;
    };
    const authenticationPath = certificateFor(authenticationKey).path;
    const signaturePath = certificateFor(signatureKey).path;
    const authenticationDer = await this.#readFile(channel, authenticationPath, "authentication certificate");
    const authentication = this.#parse("authentication certificate", () =>
      parseCertificate(authenticationDer, "authentication"),
    );
    const signatureDer = await this.#readFile(channel, signaturePath, "signature certificate");
    const signature = this.#parse("signature certificate", () => parseCertificate(signatureDer, "signature"));
    const holder = this.#parse("certificate", () => holderFromCertificate(authentication));
    const counter = await this.#transmit(channel, apdu.pinCounter(pin.reference), "VERIFY PIN counter");
    return {
      data: {
        serial,
        holder,
        certificates: { authentication, signature },
        // The keys' DF: Cryptolib selects it before MSE; the application DF when the PrKDF has no path.
        keys: {
          authentication: { ...authenticationKey, path: applicationPath },
          signature: { ...signatureKey, path: applicationPath },
        },
        pin,
      },
      // 9000: already verified (by another application): at its maximum after a correct PIN.
      triesRemaining: counter.sw === SW.ok ? PIN_MAX_TRIES : triesFrom(counter.sw),
    };
  }

  /** This card's half of the PIN verification (cards/cps/ runPinVerification): the ChipDoc's commands. */
  #pinCard(channel: CardChannel, entry: CacheEntry): PinCard {
    return {
      pin: entry.data.pin,
      cla: apdu.CLA,
      serial: entry.data.serial,
      // A reset or another application may have closed channel 1 or selected something else.
      prepare: () => this.#selectApplet(channel),
      readTries: () => this.#readTries(channel, entry),
      // A correct PIN resets the counter to its maximum; the ChipDoc does not say it: 3 (card-cps4.c).
      maxTries: () => PIN_MAX_TRIES,
      readSerial: async () =>
        parseSerial(await this.#readFile(channel, Uint8Array.of(...MF, ...fid(apdu.EF_SN_ICC)), "EF.SN.ICC")),
      verify: async (block) =>
        (await this.#transmit(channel, apdu.verify(entry.data.pin.reference, block), "VERIFY")).sw,
      cardError,
      forget: () => this.forget(channel.readerId),
    };
  }

  /** The tries counter, fresh: VERIFY without data (1 APDU, the applet already selected). */
  async #readTries(channel: CardChannel, entry: CacheEntry): Promise<number> {
    const response = await this.#transmit(
      channel,
      apdu.pinCounter(entry.data.pin.reference),
      "VERIFY PIN counter",
    );
    if (response.sw === SW.ok) {
      // Already verified on the card (another application's PIN entry): the counter is at its
      // maximum after a correct PIN. This origin still enters the PIN itself.
      entry.triesRemaining = PIN_MAX_TRIES;
      return PIN_MAX_TRIES;
    }
    const tries = triesFrom(response.sw);
    if (tries === undefined) throw cardError("VERIFY PIN counter", response.sw);
    entry.triesRemaining = tries;
    return tries;
  }
}

/** Cryptolib's `tries_max = 3` for the CPS4 (card-cps4.c `_cps4_get_pin_counter`). */
export const PIN_MAX_TRIES = 3;

/** `63Cx` → x, `6983` → 0 (card-cps4.c); anything else: unknown. */
function triesFrom(sw: number): number | undefined {
  if ((sw & 0xfff0) === 0x63c0) return sw & 0x0f;
  if (sw === SW.authenticationBlocked) return 0;
  return undefined;
}

/** EF.SN.ICC: `5A 0A <ANS issuer number (5)> <serial>`, 12 bytes. */
function parseSerial(bytes: Uint8Array): Uint8Array {
  if (bytes.length !== apdu.EF_SN_ICC_SIZE) throw new Pkcs15Error("EF.SN.ICC is not 12 bytes");
  const decoded = decodeTlv(bytes);
  const pan = decoded.ok ? findTlv(decoded.nodes, 0x5a) : undefined;
  if (!pan || pan.value.length <= apdu.ANS_ISSUER_NUMBER.length)
    throw new Pkcs15Error("EF.SN.ICC does not parse");
  if (!sameBytes(pan.value.subarray(0, apdu.ANS_ISSUER_NUMBER.length), apdu.ANS_ISSUER_NUMBER))
    throw wrongCard("EF.SN.ICC does not carry the ANS issuer number");
  return pan.value.slice(apdu.ANS_ISSUER_NUMBER.length);
}

/**
 * EF.DIR (ISO/IEC 7816-4 §8.2.1.1): the application templates `61 { 4F AID, 51 path }`; the path of
 * the PKCS#15 application Cryptolib looks for, from the MF.
 */
function parseDirectory(bytes: Uint8Array): Uint8Array {
  const decoded = decodeTlv(bytes, { trailingPadding: true });
  if (!decoded.ok) throw new Pkcs15Error(`EF.DIR: ${decoded.error.code} at ${decoded.error.offset}`);
  for (const template of decoded.nodes) {
    if (template.tag !== 0x61) continue;
    const aid = findTlv(template.children, 0x4f)?.value;
    if (!aid || !sameBytes(aid, apdu.PKCS15_AID)) continue;
    const path = findTlv(template.children, 0x51)?.value;
    if (!path || path.length < 4 || path.length % 2 !== 0 || !sameBytes(path.subarray(0, 2), MF))
      throw new Pkcs15Error("EF.DIR: the PKCS#15 application has no path from the MF");
    return path.slice();
  }
  throw new Pkcs15Error("EF.DIR does not list the CPS4 PKCS#15 application");
}

function modulusLength(certificate: ParsedCertificate): number {
  const bits = certificate.publicKey.asymmetricKeyDetails?.modulusLength;
  if (bits === undefined || bits % 8 !== 0)
    throw cardError("certificate", undefined, "CPS4: not an RSA certificate");
  return bits / 8;
}

/** EMSA-PKCS1-v1_5 (RFC 8017 §9.2): `00 01 FF… 00 DigestInfo`, as long as the modulus. */
function pkcs1Type1(digestInfo: Uint8Array, length: number): Uint8Array {
  if (digestInfo.length + 11 > length) throw new RangeError("modulus too short for the DigestInfo");
  const block = new Uint8Array(length).fill(0xff);
  block[0] = 0x00;
  block[1] = 0x01;
  block[length - digestInfo.length - 1] = 0x00;
  block.set(digestInfo, length - digestInfo.length);
  return block;
}
