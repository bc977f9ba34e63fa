/**
 * An emulated CPS3 (IAS-ECC "CPx", contact interface): enough of the card for the CPS driver and for
 * OpenSC's "IAS/ECC CPx" driver. SELECT (FID, path, DF name), READ BINARY (with SFI), GET DATA on the
 * PIN's CHV SDO, VERIFY with a tries counter that really blocks, MSE SET (AT, DST, HT), PSO HASH
 * resumed from the host's SHA-256 midstate, PSO COMPUTE DIGITAL SIGNATURE, INTERNAL AUTHENTICATE,
 * GET RESPONSE for T=0 case-4 commands. Status words follow ISO/IEC 7816-4 §5.6.
 *
 * Certificates and RSA-2048 keys come from the lab's test PKI (simulator/pki).
 */
import { constants, privateEncrypt, randomBytes, type KeyObject } from "node:crypto";
import type { CardEmulator } from "../../card-emulator.ts";
import { decodeTlv, findTlv, type TlvNode } from "../../../cards/tlv.ts";
import {
  sha256HashedBytesFromCounter,
  sha256Resume,
  SHA256_STATE_BYTES,
} from "../../../cards/sha256-midstate.ts";
import {
  getTestPki,
  issueCpsCertificates,
  type CpsCertificates,
  type CpsHolderSpec,
  type KeyPair,
  type TestPki,
} from "../../pki/test-pki.ts";
import {
  buildFileSystem,
  concat,
  tlv,
  CPX_IAS_AID,
  CPX_ROOT_AID,
  fcp,
  FID,
  KEY_REF,
  PIN_MAX_LENGTH,
  PIN_MIN_LENGTH,
  PIN_PAD_CHAR,
  PIN_REF,
  PIN_STORED_LENGTH,
  type DfNode,
  type EfNode,
  type FileNode,
} from "./layout.ts";

/** CPS3 contact ATR (dops-cryptolib CPS3_C_ATR; OpenSC card-iasecc.c "IAS/ECC CPx"). */
export const CPS3_ATR = Uint8Array.from(Buffer.from("3BAC00402A001225006480000310009000", "hex"));
/** CPS3 contactless ATR (dops-cryptolib CPS3_CL_ATR; smartcard_list "Contactless CPS v3 Card"). */
export const CPS3_CL_ATR = Uint8Array.from(Buffer.from("3B8F80010031B86404B0ECC1739401808290000E", "hex"));

export const DEFAULT_PIN = "1234";
export const PIN_MAX_TRIES = 3;
const SERIAL_BYTES = 5;
/** Short-APDU response limit; IAS-ECC EF.ATR announces 0x100 bytes. */
const MAX_RESPONSE = 256;
const ALG = { rsaPkcs1: 0x02, sha256: 0x40, sha256RsaPkcs1: 0x42 } as const;
/** DER DigestInfo header for SHA-256 (PKCS#1 v2.2 §9.2 note 1). */
const SHA256_DIGEST_INFO_PREFIX = Uint8Array.from(
  Buffer.from("3031300d060960864801650304020105000420", "hex"),
);
const RSA_PKCS1_OVERHEAD = 11;
/** Headers kept in `log`: enough for any test, bounded for a long `--simulate` session. */
const COMMAND_LOG_LIMIT = 1000;
/** IAS-ECC SDO classes (second byte of the BFxxxx tag; OpenSC iasecc-sdo.h, with the 0x80 bit). */
const SDO_CLASS_CHV = 0x81;
const SDO_CLASS_RSA_PRIVATE = 0x90;
const RSA_BYTES = 256;

export const SW = {
  ok: 0x9000,
  wrongLength: 0x6700,
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
  chainingNotSupported: 0x6884,
} as const;

export const DEFAULT_HOLDER: CpsHolderSpec = {
  idType: "8",
  nationalId: "99700001234",
  lastName: "MEDECIN-TEST",
  firstName: "CLAIRE",
  profession: "Médecin",
};

/**
 * A CPE (Carte de Personnel d'Établissement): the subject layout of a public parser (no SN, no GN;
 * CN = the structure's identifier, a slash, the card's number), every value here a lab choice.
 */
export const CPE_HOLDER: CpsHolderSpec = {
  idType: "3",
  nationalId: "750300016/42",
  lastName: "",
  firstName: "",
  profession: "Carte de service santé ou social",
  employee: { organization: "CLINIQUE TEST", structureId: "3750300016", pseudonym: "CPE-TEST-42" },
};

export interface Cps3Options {
  readonly holder?: CpsHolderSpec;
  /** 4 to 8 digits; default 1234. */
  readonly pin?: string;
  /** Tries left now (0 = blocked); default 3. */
  readonly triesRemaining?: number;
  readonly expired?: boolean;
  /** Certificates that end this many days after the card is made (a soon-expired CPS). */
  readonly expiresInDays?: number;
  /** 5 bytes; random by default so OpenSC's file cache never mixes two emulated cards. */
  readonly serial?: Uint8Array;
  /** Replace the authentication certificate by bytes that are not a certificate (fault tests). */
  readonly corruptAuthenticationCertificate?: boolean;
  readonly pki?: TestPki;
  readonly keys?: { authentication: KeyPair; signature: KeyPair };
  /** Reuse already-issued certificates (with their keys) instead of issuing new ones. */
  readonly certificates?: CpsCertificates;
  /**
   * false: the AODF does not say needs-padding and the card stores the PIN as its digits; a padded
   * block is then a wrong PIN and costs a try, as on such a card. Default true (padded to 8 with FF).
   */
  readonly pinPadding?: boolean;
  /** Bytes after each certificate's DER in its file (a card's file is allocated larger). */
  readonly certificatePadding?: number;
  /**
   * The contactless interface: the contactless ATR, EF.DIR listing "CPx IAS CL" (DF 0002, a guess),
   * and no PSO CDS (Cryptolib `cps3_init`: "En sans contact, il n'est pas permis de faire de la
   * signature"; the card's status word for it is a guess, 6985).
   */
  readonly contactless?: boolean;
}

interface Command {
  readonly cla: number;
  readonly ins: number;
  readonly p1: number;
  readonly p2: number;
  readonly data: Uint8Array;
  /** undefined: no Le; otherwise the maximum response length. */
  readonly le: number | undefined;
  /** Extended Lc/Le (a T=0 card never receives one). */
  readonly extended?: boolean;
}

class ApduFormatError extends Error {}
class MalformedData extends Error {}

/** Command data objects; malformed data answers 6A80 (via MalformedData). */
function parseTlvs(data: Uint8Array): readonly TlvNode[] {
  const result = decodeTlv(data);
  if (!result.ok) throw new MalformedData(result.error.code);
  return result.nodes;
}

const find = findTlv;

/** Decodes a raw C-APDU, short or extended (ISO/IEC 7816-3 §12.1.3). */
function decode(apdu: Uint8Array): Command {
  if (apdu.length < 4) throw new ApduFormatError("header");
  const [cla, ins, p1, p2] = [apdu[0]!, apdu[1]!, apdu[2]!, apdu[3]!];
  const body = apdu.subarray(4);
  const n = body.length;
  if (n === 0) return { cla, ins, p1, p2, data: new Uint8Array(), le: undefined };
  if (n === 1) return { cla, ins, p1, p2, data: new Uint8Array(), le: body[0] === 0 ? 256 : body[0]! };
  if (body[0] !== 0) {
    const lc = body[0]!;
    if (n === 1 + lc) return { cla, ins, p1, p2, data: body.subarray(1, 1 + lc), le: undefined };
    if (n === 2 + lc) {
      const le = body[1 + lc]!;
      return { cla, ins, p1, p2, data: body.subarray(1, 1 + lc), le: le === 0 ? 256 : le };
    }
    throw new ApduFormatError("short length");
  }
  // Extended: 00 then 2 bytes.
  if (n === 3) {
    const le = (body[1]! << 8) | body[2]!;
    return { cla, ins, p1, p2, data: new Uint8Array(), le: le === 0 ? 65536 : le, extended: true };
  }
  const lc = (body[1]! << 8) | body[2]!;
  if (lc === 0) throw new ApduFormatError("extended Lc 0");
  if (n === 3 + lc)
    return { cla, ins, p1, p2, data: body.subarray(3, 3 + lc), le: undefined, extended: true };
  if (n === 5 + lc) {
    const le = (body[3 + lc]! << 8) | body[4 + lc]!;
    return { cla, ins, p1, p2, data: body.subarray(3, 3 + lc), le: le === 0 ? 65536 : le, extended: true };
  }
  throw new ApduFormatError("extended length");
}

function reply(sw: number, data: Uint8Array = new Uint8Array()): Uint8Array {
  return concat(data, Uint8Array.of(sw >> 8, sw & 0xff));
}

const equal = (a: Uint8Array, b: Uint8Array): boolean =>
  a.length === b.length && a.every((x, i) => x === b[i]);

interface SecurityEnvironment {
  at?: number;
  dst?: number;
  ht?: number;
}

export class Cps3Emulator implements CardEmulator {
  readonly atr: Uint8Array;
  readonly #contactless: boolean;
  readonly certificates: CpsCertificates;
  readonly serial: Uint8Array;
  readonly holder: CpsHolderSpec;
  readonly #mf: DfNode;
  /** The IAS application DF (contact "CPx IAS" or contactless "CPx IAS CL"). */
  readonly #app: DfNode;
  readonly #pin: Uint8Array;
  readonly #pinPadding: boolean;
  readonly #keys: Record<number, { key: KeyObject; usage: "authentication" | "signature" }>;
  #tries: number;
  // Volatile state, lost on reset.
  #currentDf: DfNode;
  #currentEf: EfNode | undefined;
  #pinVerified = false;
  #se: SecurityEnvironment = {};
  #digest: Uint8Array | undefined;
  #pending: Uint8Array | undefined;
  /** The last C-APDU headers, in order: tests check what was (not) sent. */
  readonly log: Array<{ ins: number; p1: number; p2: number }> = [];

  constructor(options: Cps3Options = {}) {
    const pin = options.pin ?? DEFAULT_PIN;
    if (!new RegExp(`^[0-9]{${PIN_MIN_LENGTH},${PIN_MAX_LENGTH}}$`).test(pin)) {
      throw new RangeError(`the emulated PIN must be ${PIN_MIN_LENGTH} to ${PIN_MAX_LENGTH} digits`);
    }
    this.#contactless = options.contactless ?? false;
    this.atr = this.#contactless ? CPS3_CL_ATR : CPS3_ATR;
    this.#pinPadding = options.pinPadding ?? true;
    this.#pin = this.#pinPadding ? padPin(pin) : Uint8Array.from(pin, (c) => c.charCodeAt(0));
    this.#tries = Math.max(0, Math.min(PIN_MAX_TRIES, options.triesRemaining ?? PIN_MAX_TRIES));
    this.holder = options.holder ?? DEFAULT_HOLDER;
    this.serial = options.serial ?? new Uint8Array(randomBytes(SERIAL_BYTES));
    this.certificates =
      options.certificates ??
      issueCpsCertificates(
        this.holder,
        {
          ...(options.expired ? { expired: true } : {}),
          ...(options.expiresInDays !== undefined ? { expiresInDays: options.expiresInDays } : {}),
          ...(options.keys ? { keys: options.keys } : {}),
        },
        options.pki ?? getTestPki(),
      );
    const authCert = options.corruptAuthenticationCertificate
      ? Uint8Array.of(0x30, 0x82, 0x01, 0x00, 0x02, 0x01, 0x00)
      : this.certificates.authentication.der;
    const padded = (der: Uint8Array): Uint8Array =>
      concat(der, new Uint8Array(options.certificatePadding ?? 0).fill(0xff));
    this.#mf = buildFileSystem({
      serial: this.serial,
      authenticationCertificate: padded(authCert),
      signatureCertificate: padded(this.certificates.signature.der),
      pinNeedsPadding: this.#pinPadding,
      contactless: this.#contactless,
    });
    this.#app = this.#mf.children.find((n): n is DfNode => n.kind === "df")!;
    this.#keys = {
      [KEY_REF.authentication]: { key: this.certificates.authentication.privateKey, usage: "authentication" },
      [KEY_REF.signature]: { key: this.certificates.signature.privateKey, usage: "signature" },
    };
    this.#currentDf = this.#mf;
  }

  get triesRemaining(): number {
    return this.#tries;
  }

  reset(): void {
    this.#currentDf = this.#mf;
    this.#currentEf = undefined;
    this.#pinVerified = false;
    this.#se = {};
    this.#digest = undefined;
    this.#pending = undefined;
  }

  /**
   * One C-APDU in, one R-APDU out, as a T=0 CPS3 answers (the CPS3 ATR has no TD1: T=0 only).
   *
   * - Every answer with data goes through GET RESPONSE: `61xx` first, whatever the command's Le
   *   (on T=0 the reader drops a case-4 Le before the card sees it, ISO/IEC 7816-3 §12.2.4). A real
   *   CPx answers `61 27` to a SELECT with FCP, `61 18` to GET DATA and `61 00` to PSO CDS (OpenSC
   *   issues #2223 and #2275, the second one traced under the ANS middleware).
   * - READ BINARY and GET CHALLENGE (case 2) answer at once, as in the same traces
   *   (`00 B0 00 00 0C` → 12 bytes ‖ 9000); an Le past what is there is `6Cxx` (ISO/IEC 7816-3
   *   §12.2.3, T=0 case 2 with Ne ≠ Na; the real card's answer is not published).
   * - GET RESPONSE with any Le up to what is waiting returns Le bytes, then `61xx` for the rest
   *   (#2275: `00 C0 00 00 E7` → 0xE7 bytes ‖ `61 19`, then `00 C0 00 00 19` → 0x19 bytes ‖ 9000);
   *   an Le over what is waiting is `6Cxx`.
   * - No extended length on T=0 (`6700`).
   */
  transmit(apdu: Uint8Array): Uint8Array {
    let command: Command;
    try {
      command = decode(apdu);
    } catch {
      return reply(SW.wrongLength);
    }
    this.log.push({ ins: command.ins, p1: command.p1, p2: command.p2 });
    if (this.log.length > COMMAND_LOG_LIMIT) this.log.splice(0, this.log.length - COMMAND_LOG_LIMIT);
    if (command.extended) {
      this.#pending = undefined;
      return reply(SW.wrongLength);
    }
    if (command.ins === 0xc0) return this.#getResponse(command);
    this.#pending = undefined;
    if ((command.cla & 0x10) !== 0) return reply(SW.chainingNotSupported);
    if (command.cla !== 0x00) return reply(SW.claNotSupported);
    const { sw, data } = this.#dispatch(command);
    if (sw !== SW.ok || data.length === 0) return reply(sw);
    if (command.ins === 0xb0 || command.ins === 0x84) {
      const ne = command.le ?? MAX_RESPONSE;
      if (data.length < ne) return reply(0x6c00 | data.length);
      return reply(sw, data.subarray(0, ne));
    }
    return this.#awaitGetResponse(data);
  }

  /** Keeps `data` for GET RESPONSE and says how much waits: `61xx` (`61 00`: 256 or more). */
  #awaitGetResponse(data: Uint8Array): Uint8Array {
    this.#pending = data;
    return reply(0x6100 | (data.length >= MAX_RESPONSE ? 0 : data.length));
  }

  #getResponse(c: Command): Uint8Array {
    const pending = this.#pending;
    this.#pending = undefined;
    if (c.cla !== 0x00) return reply(SW.claNotSupported);
    if (c.p1 !== 0x00 || c.p2 !== 0x00) return reply(SW.incorrectP1P2);
    if (!pending) return reply(SW.conditionsNotSatisfied);
    const ne = c.le ?? MAX_RESPONSE;
    if (ne > pending.length) {
      // Asked for more than there is: say how much (the data stays for the right Le).
      this.#pending = pending;
      return reply(0x6c00 | pending.length);
    }
    const rest = pending.subarray(ne);
    if (rest.length === 0) return reply(SW.ok, pending.subarray(0, ne));
    this.#pending = rest;
    return reply(0x6100 | (rest.length >= MAX_RESPONSE ? 0 : rest.length), pending.subarray(0, ne));
  }

  #dispatch(c: Command): { sw: number; data: Uint8Array } {
    const empty = new Uint8Array();
    const sw = (code: number, data: Uint8Array = empty) => ({ sw: code, data });
    try {
      switch (c.ins) {
        case 0xa4:
          return this.#select(c);
        case 0xb0:
          return this.#readBinary(c);
        case 0xcb:
          return this.#getDataSdo(c);
        case 0x20:
          return sw(this.#verify(c));
        case 0x22:
          return sw(this.#manageSecurityEnvironment(c));
        case 0x2a:
          return this.#performSecurityOperation(c);
        case 0x88:
          return this.#internalAuthenticate(c);
        case 0x84:
          return sw(SW.ok, new Uint8Array(randomBytes(c.le === undefined || c.le > 8 ? 8 : c.le)));
        default:
          return sw(SW.insNotSupported);
      }
    } catch (error) {
      if (error instanceof MalformedData) return sw(SW.incorrectData);
      throw error;
    }
  }

  // --- files ------------------------------------------------------------------------------

  #child(df: DfNode, fid: number): FileNode | undefined {
    return df.children.find((n) => n.fid === fid);
  }

  #walk(start: DfNode, path: Uint8Array): FileNode | undefined {
    if (path.length === 0 || path.length % 2 !== 0) return undefined;
    let node: FileNode = start;
    for (let i = 0; i < path.length; i += 2) {
      const fid = (path[i]! << 8) | path[i + 1]!;
      if (i === 0 && fid === FID.mf) {
        node = this.#mf;
        continue;
      }
      if (node.kind !== "df") return undefined;
      const next = this.#child(node, fid);
      if (!next) return undefined;
      node = next;
    }
    return node;
  }

  #select(c: Command): { sw: number; data: Uint8Array } {
    if (c.p2 !== 0x00 && c.p2 !== 0x04 && c.p2 !== 0x0c)
      return { sw: SW.incorrectP1P2, data: new Uint8Array() };
    let target: FileNode | undefined;
    switch (c.p1) {
      case 0x00:
        if (c.data.length === 0) target = this.#mf;
        else if (c.data.length === 2) {
          const fid = (c.data[0]! << 8) | c.data[1]!;
          target =
            fid === FID.mf
              ? this.#mf
              : (this.#child(this.#currentDf, fid) ??
                (this.#currentDf.parent && this.#child(this.#currentDf.parent, fid)));
        }
        break;
      case 0x01:
      case 0x02: {
        if (c.data.length !== 2) return { sw: SW.incorrectData, data: new Uint8Array() };
        const id = (c.data[0]! << 8) | c.data[1]!;
        // OpenSC's IAS-ECC PIN code selects the MF with P1=02 (card-iasecc.c iasecc_select_mf).
        if (id === FID.mf) {
          target = this.#mf;
          break;
        }
        const node = this.#child(this.#currentDf, id);
        if (node && (node.kind === "df") === (c.p1 === 0x01)) target = node;
        break;
      }
      case 0x03:
        target = this.#currentDf.parent ?? this.#mf;
        break;
      case 0x04: {
        const all = [this.#mf, ...this.#mf.children].filter((n): n is DfNode => n.kind === "df");
        target = all.find((df) => df.aid && equal(df.aid, c.data));
        break;
      }
      case 0x08:
        target = this.#walk(this.#mf, c.data);
        break;
      case 0x09:
        // A path from the current DF; OpenSC's CPx driver sends absolute paths (3F00…) with P1=09.
        target = this.#walk(this.#currentDf, c.data);
        break;
      default:
        return { sw: SW.incorrectP1P2, data: new Uint8Array() };
    }
    // P2: 04 FCP or 0C nothing. A real CPx refuses 00 (FCI) with 6A86, for an AID and for a FID
    // (OpenSC commits 1a3666364 and 20f359ea0, traces of a real card), except for its root
    // application, the MF: 9000 without data (OpenSC issue #2223, `00 A4 04 00 08 80 25 … 01 00`).
    if (c.p2 === 0x00 ? target !== this.#mf : !target)
      return { sw: target || c.p2 === 0x00 ? SW.incorrectP1P2 : SW.fileNotFound, data: new Uint8Array() };
    if (!target) return { sw: SW.fileNotFound, data: new Uint8Array() };
    if (target.kind === "df") {
      this.#currentDf = target;
      this.#currentEf = undefined;
    } else {
      this.#currentEf = target;
      const parent = this.#parentOf(target);
      if (parent) this.#currentDf = parent;
    }
    if (c.p2 !== 0x04) return { sw: SW.ok, data: new Uint8Array() };
    return { sw: SW.ok, data: fcp(target) };
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

  #readBinary(c: Command): { sw: number; data: Uint8Array } {
    let ef = this.#currentEf;
    let offset: number;
    if (c.p1 & 0x80) {
      // P1 = 100 SFI: short EF identifier in the current DF (ISO/IEC 7816-4 §7.2.2).
      if (c.p1 & 0x60) return { sw: SW.incorrectP1P2, data: new Uint8Array() };
      const sfi = c.p1 & 0x1f;
      ef = [...this.#currentDf.children, ...this.#mf.children].find(
        (n): n is EfNode => n.kind === "ef" && n.sfi === sfi,
      );
      if (!ef) return { sw: SW.fileNotFound, data: new Uint8Array() };
      this.#currentEf = ef;
      offset = c.p2;
    } else {
      offset = (c.p1 << 8) | c.p2;
    }
    if (!ef) return { sw: SW.noCurrentEf, data: new Uint8Array() };
    if (offset > ef.content.length) return { sw: SW.wrongOffset, data: new Uint8Array() };
    const want = Math.min(c.le ?? MAX_RESPONSE, MAX_RESPONSE);
    return { sw: SW.ok, data: ef.content.slice(offset, offset + want) };
  }

  // --- PIN --------------------------------------------------------------------------------

  /**
   * IAS-ECC GET DATA on an SDO: `00 CB 3F FF 4D L 70 L BF <class> <ref> L <tag> 80`.
   * - CHV SDO `BF81<ref>` (the PIN, MF selected, as on IAS-ECC cards: OpenSC commit fcd2e665f):
   *   `A0` = DOCP (access rules, 9A max tries, 9B tries left; Cryptolib cps3_get_pin_counter),
   *   `7F41` = the size policy (80 max, 81 min) that OpenSC's login reads.
   * - private RSA key SDO `BF90<ref>` (in the application DF): `A0` = DOCP (80 size in bytes, access
   *   rules) that OpenSC reads before MSE; `7F48` (public data) answers 6A86, "no public data".
   */
  #getDataSdo(c: Command): { sw: number; data: Uint8Array } {
    const none = new Uint8Array();
    if (c.p1 !== 0x3f || c.p2 !== 0xff) return { sw: SW.incorrectP1P2, data: none };
    const [header] = parseTlvs(c.data);
    if (!header || header.tag !== 0x4d) return { sw: SW.incorrectData, data: none };
    // 4D is primitive and its "70 L BFxxxx L <tag> 80" content is a tag list, not BER ("A0 80" would
    // be an indefinite length): match it as bytes.
    const v = header.value;
    if (v.length < 8 || v[0] !== 0x70 || v[2] !== 0xbf) return { sw: SW.incorrectData, data: none };
    const sdoClass = v[3]!;
    const sdoRef = v[4]!;
    const sdoTag = 0xbf0000 | (sdoClass << 8) | sdoRef;
    const requested = hexOf(v.subarray(6, v.length - 1));
    // AMB 7F + seven SCBs 00: every operation without secure messaging (OpenSC reads SCB FF/SM bits
    // as "use secure messaging").
    const rules = tlv(0xa1, tlv(0x8c, [0x7f, 0, 0, 0, 0, 0, 0, 0]));
    if (sdoClass === SDO_CLASS_CHV) {
      if (sdoRef !== PIN_REF || this.#currentDf !== this.#mf) return { sw: SW.referenceNotFound, data: none };
      if (requested === "7F41") {
        const policy = tlv(0x7f41, tlv(0x80, [PIN_STORED_LENGTH]), tlv(0x81, [PIN_MIN_LENGTH]));
        return { sw: SW.ok, data: tlv(sdoTag, policy) };
      }
      if (requested !== "A0") return { sw: SW.referenceNotFound, data: none };
      const docp = tlv(0xa0, rules, tlv(0x9a, [PIN_MAX_TRIES]), tlv(0x9b, [this.#tries]));
      return { sw: SW.ok, data: tlv(sdoTag, docp) };
    }
    if (sdoClass === SDO_CLASS_RSA_PRIVATE) {
      if (!this.#inApplication() || this.#keys[sdoRef | 0x80] === undefined) {
        return { sw: SW.referenceNotFound, data: none };
      }
      if (requested === "7F48") return { sw: SW.incorrectP1P2, data: none };
      if (requested !== "A0") return { sw: SW.referenceNotFound, data: none };
      const docp = tlv(0xa0, tlv(0x80, [RSA_BYTES >> 8, RSA_BYTES & 0xff]), rules);
      return { sw: SW.ok, data: tlv(sdoTag, docp) };
    }
    return { sw: SW.referenceNotFound, data: none };
  }

  #inApplication(): boolean {
    return this.#currentDf === this.#app;
  }

  #verify(c: Command): number {
    if (c.p1 !== 0x00) return SW.incorrectP1P2;
    if (c.p2 !== PIN_REF) return SW.referenceNotFound;
    if (this.#tries === 0) return SW.authBlocked;
    if (c.data.length === 0) return this.#pinVerified ? SW.ok : 0x63c0 | this.#tries;
    // A padded PIN has one length; an unpadded one is compared as it comes (a wrong block = a try).
    if (this.#pinPadding && c.data.length !== PIN_STORED_LENGTH) return SW.wrongLength;
    if (equal(c.data, this.#pin)) {
      this.#tries = PIN_MAX_TRIES;
      this.#pinVerified = true;
      return SW.ok;
    }
    this.#tries -= 1;
    this.#pinVerified = false;
    return this.#tries === 0 ? SW.authBlocked : 0x63c0 | this.#tries;
  }

  // --- cryptography -----------------------------------------------------------------------

  #manageSecurityEnvironment(c: Command): number {
    if (c.p1 !== 0x41) return SW.incorrectP1P2;
    // Private keys are SDOs of the application DF (OpenSC: "3F00:0001"): elsewhere they are unknown.
    if (!this.#inApplication()) return SW.referenceNotFound;
    const items = parseTlvs(c.data);
    const alg = find(items, 0x80)?.value;
    const keyRef = (find(items, 0x84) ?? find(items, 0x83))?.value;
    if (!alg || alg.length !== 1) return SW.incorrectData;
    switch (c.p2) {
      case 0xa4: // authentication template: INTERNAL AUTHENTICATE
        if (alg[0] !== ALG.rsaPkcs1 || !keyRef || keyRef.length !== 1) return SW.incorrectData;
        if (this.#keys[keyRef[0]!]?.usage !== "authentication") return SW.referenceNotFound;
        this.#se.at = keyRef[0]!;
        return SW.ok;
      case 0xb6: // digital signature template: PSO CDS
        if (alg[0] !== ALG.sha256RsaPkcs1 || !keyRef || keyRef.length !== 1) return SW.incorrectData;
        if (this.#keys[keyRef[0]!]?.usage !== "signature") return SW.referenceNotFound;
        // The hash stays: Cryptolib sends MSE SET HT, PSO HASH, then MSE SET DST and PSO CDS.
        this.#se.dst = keyRef[0]!;
        return SW.ok;
      case 0xaa: // hash template: PSO HASH
        if (alg[0] !== ALG.sha256) return SW.incorrectData;
        this.#se.ht = alg[0];
        this.#digest = undefined;
        return SW.ok;
      default:
        return SW.incorrectP1P2;
    }
  }

  #performSecurityOperation(c: Command): { sw: number; data: Uint8Array } {
    const none = new Uint8Array();
    if (c.p1 === 0x90 && c.p2 === 0xa0) {
      // PSO HASH: 90 <0 | 40> [state ‖ bit counter] 80 <1..64> last block.
      if (this.#se.ht !== ALG.sha256) return { sw: SW.conditionsNotSatisfied, data: none };
      const items = parseTlvs(c.data);
      const intermediate = find(items, 0x90)?.value;
      const last = find(items, 0x80)?.value;
      if (!intermediate || !last || last.length === 0 || last.length > 64)
        return { sw: SW.incorrectData, data: none };
      let state: Uint8Array | undefined;
      let hashed = 0;
      if (intermediate.length === SHA256_STATE_BYTES + 8) {
        state = intermediate.subarray(0, SHA256_STATE_BYTES);
        const counted = sha256HashedBytesFromCounter(intermediate.subarray(SHA256_STATE_BYTES));
        if (counted === undefined) return { sw: SW.incorrectData, data: none };
        hashed = counted;
      } else if (intermediate.length !== 0) {
        return { sw: SW.incorrectData, data: none };
      }
      this.#digest = sha256Resume(state ?? initialState(), hashed, last);
      return { sw: SW.ok, data: none };
    }
    if (c.p1 === 0x9e && c.p2 === 0x9a && this.#contactless)
      return { sw: SW.conditionsNotSatisfied, data: none };
    if (c.p1 === 0x9e && c.p2 === 0x9a) {
      // PSO COMPUTE DIGITAL SIGNATURE with the hash the card just finished.
      if (c.data.length !== 0) return { sw: SW.incorrectData, data: none };
      const keyRef = this.#se.dst;
      if (keyRef === undefined || !this.#digest) return { sw: SW.conditionsNotSatisfied, data: none };
      if (!this.#pinVerified) return { sw: SW.securityNotSatisfied, data: none };
      const digestInfo = concat(SHA256_DIGEST_INFO_PREFIX, this.#digest);
      this.#digest = undefined;
      return { sw: SW.ok, data: rsaSign(this.#keys[keyRef]!.key, digestInfo) };
    }
    return { sw: SW.incorrectP1P2, data: none };
  }

  #internalAuthenticate(c: Command): { sw: number; data: Uint8Array } {
    const none = new Uint8Array();
    if (c.p1 !== 0x00 || c.p2 !== 0x00) return { sw: SW.incorrectP1P2, data: none };
    const keyRef = this.#se.at;
    if (keyRef === undefined) return { sw: SW.conditionsNotSatisfied, data: none };
    if (!this.#pinVerified) return { sw: SW.securityNotSatisfied, data: none };
    if (c.data.length === 0 || c.data.length > RSA_BYTES - RSA_PKCS1_OVERHEAD)
      return { sw: SW.wrongLength, data: none };
    return { sw: SW.ok, data: rsaSign(this.#keys[keyRef]!.key, c.data) };
  }
}

function hexOf(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("hex").toUpperCase();
}

function initialState(): Uint8Array {
  return Uint8Array.from(
    Buffer.from("6a09e667bb67ae853c6ef372a54ff53a510e527f9b05688c1f83d9ab5be0cd19", "hex"),
  );
}

/** RSA with PKCS#1 v1.5 type-1 padding over the given block (the card pads, the host does not). */
function rsaSign(key: KeyObject, block: Uint8Array): Uint8Array {
  return new Uint8Array(privateEncrypt({ key, padding: constants.RSA_PKCS1_PADDING }, block));
}

export function padPin(pin: string): Uint8Array {
  const out = new Uint8Array(PIN_STORED_LENGTH).fill(PIN_PAD_CHAR);
  for (let i = 0; i < pin.length; i++) out[i] = pin.charCodeAt(i);
  return out;
}

export function createCps3Emulator(options: Cps3Options = {}): Cps3Emulator {
  return new Cps3Emulator(options);
}

export { CPX_IAS_AID, CPX_ROOT_AID };
