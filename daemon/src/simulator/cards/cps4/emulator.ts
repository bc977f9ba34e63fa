/**
 * An emulated CPS4 (NXP ChipDoc applet, contact, T=0), answering the way the public evidence says the
 * card answers the ANS Cryptolib (dops-cryptolib card-cps4.c, pkcs15-sec.c; the Cryptolib
 * specifications; docs/cards.md "CPS4" lists each fact and what is a guess):
 *
 * - logical channels: the basic channel keeps the CPS2ter applet selected; Cryptolib talks to the
 *   ChipDoc applet on channel 1 (CLA 01), opened by its first SELECT (ISO/IEC 7816-4 §5.4.2);
 * - SELECT by DF name (P1=04), by FID (P1=00), by path from the current DF (P1=09), child DF/EF
 *   (P1=01/02), parent (P1=03), path from the MF (P1=08); P2=04 returns the FCP, P2=0C nothing;
 * - T=0: every answer with data to a command with data is `61xx` then GET RESPONSE; GET RESPONSE
 *   gives any Le ≤ what waits (the rest as `61xx`), `6Cxx` when Le asks for more; READ BINARY with
 *   an Le past the end of the file answers `6Cxx` (a T=0 card sends exactly P3 bytes or nothing);
 * - VERIFY without data gives the counter (`63Cx`, `6983` blocked, `9000` verified); VERIFY with a
 *   block compares it as is: any other block costs a try;
 * - MSE `81 B6 {91 02 alg keyRef|80}` for PSO COMPUTE DIGITAL SIGNATURE over a hash the host made
 *   (PKCS#1 v1.5 or PSS, SHA-1 or SHA-256), MSE `41 B8 {83 01 20}` for PSO DECIPHER, which is a raw
 *   RSA private operation (the ChipDoc has no INTERNAL AUTHENTICATE: authentication is a
 *   "decipher" of the block the host padded), with command chaining (CLA b5).
 *
 * Certificates and RSA-2048 keys come from the lab's test PKI (simulator/pki).
 */
import {
  constants,
  createHash,
  privateDecrypt,
  privateEncrypt,
  randomBytes,
  type KeyObject,
} from "node:crypto";
import type { CardEmulator } from "../../card-emulator.ts";
import { decodeTlv, findTlv } from "../../../cards/tlv.ts";
import {
  getTestPki,
  issueCpsCertificates,
  type CpsCertificates,
  type CpsHolderSpec,
  type KeyPair,
  type TestPki,
} from "../../pki/test-pki.ts";
import {
  AID,
  buildFileSystem,
  concat,
  CPS4_ATR,
  fcp,
  FID,
  KEY_REF,
  PIN,
  tlv,
  type DfNode,
  type EfNode,
  type FileNode,
} from "./layout.ts";

export const DEFAULT_PIN = "1234";
export const PIN_MAX_TRIES = 3;
const SERIAL_BYTES = 5;
const MAX_RESPONSE = 256;
const RSA_BYTES = 256;
/** Logical channels 0..3 (CLA b1-b2; ISO/IEC 7816-4 §5.4.1). */
const CHANNELS = 4;
const CLA_CHAINING = 0x10;
/** Bounded log of command forms (never the data: a VERIFY carries the PIN). */
const COMMAND_LOG_LIMIT = 2000;
const MAX_CHAINED_DATA = 1024;

/** ChipDoc algorithm identifiers (dops-cryptolib cards.h `CPSV4_ALG_*`). */
export const CPS4_ALGORITHM = {
  sha1Pkcs1: 0x0a,
  sha256Pkcs1: 0x28,
  sha1Pss: 0x15,
  sha256Pss: 0x2c,
} as const;

const DIGEST: Record<number, { hash: "sha1" | "sha256"; length: number; pss: boolean }> = {
  [CPS4_ALGORITHM.sha1Pkcs1]: { hash: "sha1", length: 20, pss: false },
  [CPS4_ALGORITHM.sha256Pkcs1]: { hash: "sha256", length: 32, pss: false },
  [CPS4_ALGORITHM.sha1Pss]: { hash: "sha1", length: 20, pss: true },
  [CPS4_ALGORITHM.sha256Pss]: { hash: "sha256", length: 32, pss: true },
};
/** DER DigestInfo headers (PKCS#1 v2.2 §9.2 note 1). */
const DIGEST_INFO_PREFIX = {
  sha1: Uint8Array.from(Buffer.from("3021300906052b0e03021a05000414", "hex")),
  sha256: Uint8Array.from(Buffer.from("3031300d060960864801650304020105000420", "hex")),
} as const;

export const SW = {
  ok: 0x9000,
  wrongLength: 0x6700,
  channelNotSupported: 0x6881,
  smNotSupported: 0x6882,
  lastCommandOfChainExpected: 0x6883,
  securityNotSatisfied: 0x6982,
  authBlocked: 0x6983,
  conditionsNotSatisfied: 0x6985,
  noCurrentEf: 0x6986,
  incorrectData: 0x6a80,
  fileNotFound: 0x6a82,
  incorrectP1P2: 0x6a86,
  referenceNotFound: 0x6a88,
  wrongOffset: 0x6b00,
  insNotSupported: 0x6d00,
  claNotSupported: 0x6e00,
} as const;

export const DEFAULT_CPS4_HOLDER: CpsHolderSpec = {
  idType: "8",
  nationalId: "99700004321",
  lastName: "INFIRMIER-TEST",
  firstName: "JEANNE",
  profession: "Infirmier",
};

export interface Cps4Options {
  readonly holder?: CpsHolderSpec;
  readonly pin?: string;
  readonly triesRemaining?: number;
  readonly expired?: boolean;
  readonly serial?: Uint8Array;
  readonly atr?: Uint8Array;
  readonly pki?: TestPki;
  readonly keys?: { authentication: KeyPair; signature: KeyPair };
  readonly certificates?: CpsCertificates;
}

/** What a test may check about a command without ever seeing its data. */
export interface CommandForm {
  readonly cla: number;
  readonly ins: number;
  readonly p1: number;
  readonly p2: number;
  /** Lc, 0 when the command has no data. */
  readonly lc: number;
  /** Whether the command carried an Le byte. */
  readonly le: boolean;
  /** The Le it carried (256 for `00`). */
  readonly ne?: number;
}

interface Command {
  readonly cla: number;
  readonly ins: number;
  readonly p1: number;
  readonly p2: number;
  readonly data: Uint8Array;
  readonly le: number | undefined;
}

type Applet = "cps2ter" | "chipdoc" | "isd";

interface Channel {
  applet: Applet | undefined;
  df: DfNode;
  ef: EfNode | undefined;
  pending: Uint8Array | undefined;
  chain: { ins: number; p1: number; p2: number; data: Uint8Array } | undefined;
  se: { signature?: { algorithm: number; key: number }; decipher?: number };
}

class MalformedData extends Error {}

/** Short APDUs only (T=0): `CLA INS P1 P2 [Lc data] [Le]`. */
function decode(apdu: Uint8Array): Command | undefined {
  if (apdu.length < 4) return undefined;
  const [cla, ins, p1, p2] = [apdu[0]!, apdu[1]!, apdu[2]!, apdu[3]!];
  const body = apdu.subarray(4);
  if (body.length === 0) return { cla, ins, p1, p2, data: new Uint8Array(), le: undefined };
  if (body.length === 1) return { cla, ins, p1, p2, data: new Uint8Array(), le: body[0] || 256 };
  const lc = body[0]!;
  if (lc === 0) return undefined;
  if (body.length === 1 + lc) return { cla, ins, p1, p2, data: body.subarray(1), le: undefined };
  if (body.length === 2 + lc)
    return { cla, ins, p1, p2, data: body.subarray(1, 1 + lc), le: body[1 + lc] || 256 };
  return undefined;
}

const reply = (sw: number, data: Uint8Array = new Uint8Array()): Uint8Array =>
  concat(data, Uint8Array.of(sw >> 8, sw & 0xff));
const equal = (a: Uint8Array, b: Uint8Array): boolean =>
  a.length === b.length && a.every((x, i) => x === b[i]);

export class Cps4Emulator implements CardEmulator {
  readonly atr: Uint8Array;
  readonly certificates: CpsCertificates;
  readonly serial: Uint8Array;
  readonly holder: CpsHolderSpec;
  readonly #mf: DfNode;
  readonly #pin: Uint8Array;
  readonly #keys: Record<number, { key: KeyObject; decipher: boolean }>;
  #tries: number;
  #verified = false;
  #channels: Array<Channel | undefined> = [];
  /** The command forms received, in order (bounded): what a dialect test compares. */
  readonly log: CommandForm[] = [];

  constructor(options: Cps4Options = {}) {
    const pin = options.pin ?? DEFAULT_PIN;
    if (!new RegExp(`^[0-9]{${PIN.minLength},${PIN.maxLength}}$`).test(pin))
      throw new RangeError(`the emulated PIN must be ${PIN.minLength} to ${PIN.maxLength} digits`);
    this.#pin = new Uint8Array(PIN.storedLength).fill(PIN.padChar);
    for (let i = 0; i < pin.length; i++) this.#pin[i] = pin.charCodeAt(i);
    this.#tries = Math.max(0, Math.min(PIN_MAX_TRIES, options.triesRemaining ?? PIN_MAX_TRIES));
    this.atr = options.atr ?? CPS4_ATR;
    this.holder = options.holder ?? DEFAULT_CPS4_HOLDER;
    this.serial = options.serial ?? new Uint8Array(randomBytes(SERIAL_BYTES));
    this.certificates =
      options.certificates ??
      issueCpsCertificates(
        this.holder,
        { ...(options.expired ? { expired: true } : {}), ...(options.keys ? { keys: options.keys } : {}) },
        options.pki ?? getTestPki(),
      );
    this.#mf = buildFileSystem({
      serial: this.serial,
      authenticationCertificate: this.certificates.authentication.der,
      signatureCertificate: this.certificates.signature.der,
    });
    this.#keys = {
      [KEY_REF.authentication]: { key: this.certificates.authentication.privateKey, decipher: true },
      [KEY_REF.signature]: { key: this.certificates.signature.privateKey, decipher: false },
    };
    this.reset();
  }

  get triesRemaining(): number {
    return this.#tries;
  }

  get pinVerified(): boolean {
    return this.#verified;
  }

  reset(): void {
    this.#verified = false;
    // After reset only the basic channel is open, with the CPS2ter applet selected by default.
    this.#channels = [this.#newChannel("cps2ter")];
  }

  #newChannel(applet: Applet | undefined): Channel {
    return { applet, df: this.#mf, ef: undefined, pending: undefined, chain: undefined, se: {} };
  }

  transmit(apdu: Uint8Array): Uint8Array {
    const command = decode(apdu);
    if (!command) return reply(SW.wrongLength);
    this.log.push({
      cla: command.cla,
      ins: command.ins,
      p1: command.p1,
      p2: command.p2,
      lc: command.data.length,
      le: command.le !== undefined,
      ...(command.le === undefined ? {} : { ne: command.le }),
    });
    if (this.log.length > COMMAND_LOG_LIMIT) this.log.splice(0, this.log.length - COMMAND_LOG_LIMIT);
    if ((command.cla & ~(CLA_CHAINING | 0x03)) !== 0) {
      return reply((command.cla & 0x0c) !== 0 ? SW.smNotSupported : SW.claNotSupported);
    }
    const number = command.cla & 0x03;
    let channel = this.#channels[number];
    if (!channel) {
      // A SELECT on a closed channel opens it (ISO/IEC 7816-4 §5.4.2): Cryptolib's first command.
      if (command.ins !== 0xa4 || number >= CHANNELS) return reply(SW.channelNotSupported);
      channel = this.#newChannel(undefined);
      this.#channels[number] = channel;
    }
    if (command.ins === 0xc0) return this.#getResponse(channel, command);
    channel.pending = undefined;
    if (channel.chain && (channel.chain.ins !== command.ins || command.ins !== 0x2a)) {
      channel.chain = undefined;
      if ((command.cla & CLA_CHAINING) === 0) return reply(SW.lastCommandOfChainExpected);
    }
    let result: { sw: number; data: Uint8Array };
    try {
      result = this.#dispatch(channel, command, number);
    } catch (error) {
      if (error instanceof MalformedData) result = { sw: SW.incorrectData, data: new Uint8Array() };
      else throw error;
    }
    const { sw, data } = result;
    if (sw === SW.ok && data.length > 0) {
      if (command.data.length > 0 || command.ins === 0x70) {
        // T=0 case 4: the data waits for GET RESPONSE (ISO/IEC 7816-3 §12.2.4), Le or not.
        channel.pending = data;
        return reply(0x6100 | (data.length >= MAX_RESPONSE ? 0 : data.length));
      }
      // T=0 case 2: P3 is the exact number of bytes the card sends, or it says 6Cxx.
      const le = command.le ?? 256;
      if (le > data.length) return reply(0x6c00 | data.length);
      return reply(sw, data.subarray(0, le));
    }
    return reply(sw, data);
  }

  #getResponse(channel: Channel, c: Command): Uint8Array {
    const pending = channel.pending;
    if (c.p1 !== 0 || c.p2 !== 0) return reply(SW.incorrectP1P2);
    if (!pending) return reply(SW.conditionsNotSatisfied);
    const le = c.le ?? 256;
    if (le > pending.length) return reply(0x6c00 | (pending.length >= MAX_RESPONSE ? 0 : pending.length));
    const rest = pending.subarray(le);
    channel.pending = rest.length > 0 ? rest : undefined;
    if (rest.length > 0)
      return reply(0x6100 | (rest.length >= MAX_RESPONSE ? 0 : rest.length), pending.subarray(0, le));
    return reply(SW.ok, pending.subarray(0, le));
  }

  #dispatch(channel: Channel, c: Command, number: number): { sw: number; data: Uint8Array } {
    const sw = (code: number, data: Uint8Array = new Uint8Array()) => ({ sw: code, data });
    if (c.ins === 0xa4) return this.#select(channel, c);
    if (c.ins === 0x70) return this.#manageChannel(c, number);
    if (channel.applet !== "chipdoc")
      return sw(channel.applet === undefined ? SW.conditionsNotSatisfied : SW.insNotSupported);
    if ((c.cla & CLA_CHAINING) !== 0 && c.ins !== 0x2a) return sw(0x6884);
    switch (c.ins) {
      case 0xb0:
        return this.#readBinary(channel, c);
      case 0x20:
        return sw(this.#verify(c));
      case 0x22:
        return sw(this.#manageSecurityEnvironment(channel, c));
      case 0x2a:
        return this.#performSecurityOperation(channel, c);
      case 0x84:
        return sw(SW.ok, new Uint8Array(randomBytes(Math.min(c.le ?? 8, 32))));
      default:
        // INTERNAL AUTHENTICATE (88) included: the ChipDoc applet has none (Cryptolib
        // specifications, "Carte CPS4").
        return sw(SW.insNotSupported);
    }
  }

  #manageChannel(c: Command, number: number): { sw: number; data: Uint8Array } {
    if (number !== 0 && c.p1 === 0x00) return { sw: SW.incorrectP1P2, data: new Uint8Array() };
    if (c.p1 === 0x00 && c.p2 === 0x00) {
      const free = this.#channels.findIndex((ch, i) => i > 0 && ch === undefined);
      const next = free > 0 ? free : this.#channels.length < CHANNELS ? this.#channels.length : -1;
      if (next < 0) return { sw: 0x6a81, data: new Uint8Array() };
      this.#channels[next] = this.#newChannel(undefined);
      return { sw: SW.ok, data: Uint8Array.of(next) };
    }
    if (c.p1 === 0x80 && c.p2 > 0 && c.p2 < CHANNELS) {
      this.#channels[c.p2] = undefined;
      return { sw: SW.ok, data: new Uint8Array() };
    }
    return { sw: SW.incorrectP1P2, data: new Uint8Array() };
  }

  // --- files ------------------------------------------------------------------------------

  #child(df: DfNode, fid: number): FileNode | undefined {
    return df.children.find((n) => n.fid === fid);
  }

  #walk(start: DfNode, path: Uint8Array): FileNode | undefined {
    if (path.length === 0 || path.length % 2 !== 0) return undefined;
    let node: FileNode = start;
    for (let i = 0; i < path.length; i += 2) {
      if (node.kind !== "df") return undefined;
      const next = this.#child(node, (path[i]! << 8) | path[i + 1]!);
      if (!next) return undefined;
      node = next;
    }
    return node;
  }

  #select(channel: Channel, c: Command): { sw: number; data: Uint8Array } {
    const none = new Uint8Array();
    const answer = c.p2 & 0x0c;
    if ((c.p2 & ~0x0c) !== 0 || answer === 0x08) return { sw: SW.incorrectP1P2, data: none };
    if (c.p1 === 0x04) {
      const applet: Applet | undefined = equal(c.data, AID.chipDoc)
        ? "chipdoc"
        : equal(c.data, AID.cps2ter)
          ? "cps2ter"
          : equal(c.data, AID.issuerSecurityDomain)
            ? "isd"
            : undefined;
      if (applet) {
        channel.applet = applet;
        channel.df = this.#mf;
        channel.ef = undefined;
        channel.se = {};
        if (answer === 0x0c || applet !== "chipdoc") return { sw: SW.ok, data: none };
        return this.#selected(channel, this.#mf, answer);
      }
      // A DF name inside the ChipDoc applet's file system (the PKCS#15 application).
      if (channel.applet !== "chipdoc") return { sw: SW.fileNotFound, data: none };
      const df = this.#mf.children.find(
        (n): n is DfNode => n.kind === "df" && !!n.aid && equal(n.aid, c.data),
      );
      if (!df) return { sw: SW.fileNotFound, data: none };
      return this.#selected(channel, df, answer);
    }
    if (channel.applet !== "chipdoc") return { sw: SW.fileNotFound, data: none };
    let target: FileNode | undefined;
    switch (c.p1) {
      case 0x00:
        if (c.data.length === 0) target = this.#mf;
        else if (c.data.length === 2) target = this.#byFid(channel.df, (c.data[0]! << 8) | c.data[1]!);
        else return { sw: SW.incorrectData, data: none };
        break;
      case 0x01:
      case 0x02: {
        if (c.data.length !== 2) return { sw: SW.incorrectData, data: none };
        const node = this.#child(channel.df, (c.data[0]! << 8) | c.data[1]!);
        if (node && (node.kind === "df") === (c.p1 === 0x01)) target = node;
        break;
      }
      case 0x03:
        target = channel.df.parent ?? this.#mf;
        break;
      case 0x08:
        target = this.#walk(this.#mf, c.data);
        break;
      case 0x09:
        target = this.#walk(channel.df, c.data);
        break;
      default:
        return { sw: SW.incorrectP1P2, data: none };
    }
    if (!target) return { sw: SW.fileNotFound, data: none };
    return this.#selected(channel, target, answer);
  }

  /** P1=00: the MF, the current DF, a child of it, or a child of its parent. */
  #byFid(df: DfNode, fid: number): FileNode | undefined {
    if (fid === FID.mf) return this.#mf;
    if (fid === df.fid) return df;
    return this.#child(df, fid) ?? (df.parent ? this.#child(df.parent, fid) : undefined);
  }

  #selected(channel: Channel, target: FileNode, answer: number): { sw: number; data: Uint8Array } {
    if (target.kind === "df") {
      channel.df = target;
      channel.ef = undefined;
    } else {
      channel.ef = target;
      channel.df = this.#parentOf(target) ?? this.#mf;
    }
    if (answer === 0x0c) return { sw: SW.ok, data: new Uint8Array() };
    const info = fcp(target);
    // P2=00: the FCI template 6F carries the same objects as the FCP (ISO/IEC 7816-4 §7.4.1).
    return { sw: SW.ok, data: answer === 0x00 ? tlv(0x6f, info.subarray(2)) : info };
  }

  #parentOf(node: FileNode): DfNode | undefined {
    const search = (df: DfNode): DfNode | undefined => {
      if (df.children.includes(node)) return df;
      for (const child of df.children) {
        const hit = child.kind === "df" ? search(child) : undefined;
        if (hit) return hit;
      }
      return undefined;
    };
    return search(this.#mf);
  }

  #readBinary(channel: Channel, c: Command): { sw: number; data: Uint8Array } {
    const none = new Uint8Array();
    if (c.p1 & 0x80) return { sw: SW.incorrectP1P2, data: none };
    if (c.data.length > 0) return { sw: SW.wrongLength, data: none };
    const ef = channel.ef;
    if (!ef) return { sw: SW.noCurrentEf, data: none };
    const offset = (c.p1 << 8) | c.p2;
    if (offset >= ef.content.length) return { sw: SW.wrongOffset, data: none };
    return { sw: SW.ok, data: ef.content.subarray(offset, offset + MAX_RESPONSE) };
  }

  // --- PIN --------------------------------------------------------------------------------

  #verify(c: Command): number {
    if (c.p1 !== 0x00) return SW.incorrectP1P2;
    if (c.p2 !== PIN.reference) return SW.referenceNotFound;
    if (this.#tries === 0) return SW.authBlocked;
    // Without data: the counter, no try spent (card-cps4.c _cps4_get_pin_counter).
    if (c.data.length === 0) return this.#verified ? SW.ok : 0x63c0 | this.#tries;
    if (equal(c.data, this.#pin)) {
      this.#tries = PIN_MAX_TRIES;
      this.#verified = true;
      return SW.ok;
    }
    this.#tries -= 1;
    this.#verified = false;
    return this.#tries === 0 ? SW.authBlocked : 0x63c0 | this.#tries;
  }

  // --- cryptography -----------------------------------------------------------------------

  #manageSecurityEnvironment(channel: Channel, c: Command): number {
    const parsed = decodeTlv(c.data);
    if (!parsed.ok) throw new MalformedData(parsed.error.code);
    if (c.p1 === 0x81 && c.p2 === 0xb6) {
      // Digital signature template: 91 02 <algorithm> <key reference | 80 = the hash is given>.
      const item = findTlv(parsed.nodes, 0x91)?.value;
      if (!item || item.length !== 2) return SW.incorrectData;
      const [algorithm, reference] = [item[0]!, item[1]!];
      if (DIGEST[algorithm] === undefined || (reference & 0x80) === 0) return SW.incorrectData;
      if (this.#keys[reference & 0x7f] === undefined) return SW.referenceNotFound;
      channel.se = { signature: { algorithm, key: reference & 0x7f } };
      return SW.ok;
    }
    if (c.p1 === 0x41 && c.p2 === 0xb8) {
      // Confidentiality template: 83 01 <key reference>.
      const item = findTlv(parsed.nodes, 0x83)?.value;
      if (!item || item.length !== 1) return SW.incorrectData;
      if (this.#keys[item[0]!]?.decipher !== true) return SW.referenceNotFound;
      channel.se = { decipher: item[0]! };
      return SW.ok;
    }
    return SW.incorrectP1P2;
  }

  #performSecurityOperation(channel: Channel, c: Command): { sw: number; data: Uint8Array } {
    const none = new Uint8Array();
    if (c.p1 === 0x9e && c.p2 === 0x9a) {
      if ((c.cla & CLA_CHAINING) !== 0) return { sw: 0x6884, data: none };
      const env = channel.se.signature;
      if (!env) return { sw: SW.conditionsNotSatisfied, data: none };
      if (!this.#verified) return { sw: SW.securityNotSatisfied, data: none };
      const digest = DIGEST[env.algorithm]!;
      if (c.data.length !== digest.length) return { sw: SW.wrongLength, data: none };
      const key = this.#keys[env.key]!.key;
      const signature = digest.pss
        ? rsaRaw(key, emsaPss(c.data, digest.hash))
        : new Uint8Array(
            privateEncrypt(
              { key, padding: constants.RSA_PKCS1_PADDING },
              concat(DIGEST_INFO_PREFIX[digest.hash], c.data),
            ),
          );
      return { sw: SW.ok, data: signature };
    }
    if (c.p1 === 0x80 && c.p2 === 0x86) {
      const reference = channel.se.decipher;
      if (reference === undefined) {
        channel.chain = undefined;
        return { sw: SW.conditionsNotSatisfied, data: none };
      }
      const so_far = channel.chain?.data ?? none;
      const data = concat(so_far, c.data);
      if (data.length > MAX_CHAINED_DATA) {
        channel.chain = undefined;
        return { sw: SW.wrongLength, data: none };
      }
      if ((c.cla & CLA_CHAINING) !== 0) {
        channel.chain = { ins: c.ins, p1: c.p1, p2: c.p2, data };
        return { sw: SW.ok, data: none };
      }
      channel.chain = undefined;
      if (!this.#verified) return { sw: SW.securityNotSatisfied, data: none };
      if (data.length !== RSA_BYTES) return { sw: SW.wrongLength, data: none };
      try {
        return { sw: SW.ok, data: rsaRaw(this.#keys[reference]!.key, data) };
      } catch {
        // The block is not below the modulus.
        return { sw: SW.incorrectData, data: none };
      }
    }
    return { sw: SW.incorrectP1P2, data: none };
  }
}

/** The RSA private operation alone (m^d mod n): what PSO DECIPHER returns. */
function rsaRaw(key: KeyObject, block: Uint8Array): Uint8Array {
  return new Uint8Array(privateDecrypt({ key, padding: constants.RSA_NO_PADDING }, block));
}

/** EMSA-PSS-ENCODE (RFC 8017 §9.1.1) of a hash, salt as long as the hash, MGF1 with the same hash. */
function emsaPss(mHash: Uint8Array, hash: "sha1" | "sha256"): Uint8Array {
  const hLen = mHash.length;
  const emLen = RSA_BYTES; // modulus 2048 bits: emBits = 2047, emLen = 256
  const salt = new Uint8Array(randomBytes(hLen));
  const h = createHash(hash)
    .update(concat(new Uint8Array(8), mHash, salt))
    .digest();
  const db = new Uint8Array(emLen - hLen - 1);
  db[db.length - hLen - 1] = 0x01;
  db.set(salt, db.length - hLen);
  const mask = mgf1(h, db.length, hash);
  for (let i = 0; i < db.length; i++) db[i]! ^= mask[i]!;
  db[0]! &= 0x7f; // 8·emLen − emBits = 1 leftmost bit cleared
  return concat(db, new Uint8Array(h), Uint8Array.of(0xbc));
}

function mgf1(seed: Uint8Array, length: number, hash: "sha1" | "sha256"): Uint8Array {
  const out: Uint8Array[] = [];
  let produced = 0;
  for (let counter = 0; produced < length; counter++) {
    const block = createHash(hash)
      .update(
        concat(
          seed,
          Uint8Array.of(counter >>> 24, (counter >>> 16) & 0xff, (counter >>> 8) & 0xff, counter & 0xff),
        ),
      )
      .digest();
    out.push(new Uint8Array(block));
    produced += block.length;
  }
  return concat(...out).subarray(0, length);
}

export function createCps4Emulator(options: Cps4Options = {}): Cps4Emulator {
  return new Cps4Emulator(options);
}
