/**
 * The emulated CPS3's file system: MF with EF.DIR, EF.ATR and EF.SN.ICC, and the "CPx IAS" application
 * DF with its PKCS#15 directory (ODF, TokenInfo, PrKDF, CDF, AODF) and the two certificates.
 *
 * Byte layouts follow ISO/IEC 7816-4 (FCP, EF.ATR), ISO/IEC 7816-15 / PKCS#15 v1.1 (directory files),
 * IAS-ECC (FCP ACL tag A1/8C, EF.ATR issuer data E0 with the I/O buffer sizes) and what OpenSC's
 * "IAS/ECC CPx" driver expects (docs/cards.md lists each point). The FIDs below the application are
 * ours: the driver finds them through the ODF and the CDF, never by constant.
 */
import { encodeTlv } from "../../../cards/tlv.ts";

/** Encodes one TLV from raw bytes, byte lists or already-encoded children. */
export function tlv(tag: number, ...value: Array<Uint8Array | readonly number[]>): Uint8Array {
  return encodeTlv(
    tag,
    value.map((v) => (v instanceof Uint8Array ? v : Uint8Array.from(v))),
  );
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

/** Minimal DER INTEGER content of a non-negative number. */
function unsignedBytes(n: number): Uint8Array {
  const out: number[] = [];
  for (let v = n; ; v = Math.floor(v / 256)) {
    out.unshift(v & 0xff);
    if (v < 256) break;
  }
  if (out[0]! & 0x80) out.unshift(0);
  return Uint8Array.from(out);
}

/** "CPx IAS" contact application (dops-cryptolib card-cps3.c; OpenSC dir.c). */
export const CPX_IAS_AID = Uint8Array.of(
  0xe8,
  0x28,
  0xbd,
  0x08,
  0x0f,
  0x80,
  0x25,
  0x00,
  0x00,
  0x01,
  0xff,
  0x00,
  0x10,
);
/** "CPx IAS CL", the contactless application (dops-cryptolib `cps3_aid_cps3_cl`; OpenSC dir.c). */
export const CPX_IAS_CL_AID = Uint8Array.of(...CPX_IAS_AID.subarray(0, 11), 0x00, 0x20);
/**
 * The contactless application's DF: a real CPx has a DF 0002 beside 0001 (opensc-explorer session in
 * OpenSC commit fcd2e665f, `cd 0002`); that it is the "CPx IAS CL" application is a guess.
 */
export const CL_APP_FID = 0x0002;

/** The IAS-ECC root application, named in a real CPx EF.ATR (tag 4F): it is the MF. */
export const CPX_ROOT_AID = Uint8Array.of(0x80, 0x25, 0x00, 0x00, 0x01, 0xff, 0x01, 0x00);
/** ANS issuer number, bytes 2..6 of EF.SN.ICC (Cryptolib `cps3_fsn`). */
export const ANS_ISSUER_NUMBER = Uint8Array.of(0x80, 0x25, 0x00, 0x00, 0x01);

export const FID = {
  mf: 0x3f00,
  dir: 0x2f00,
  atr: 0x2f01,
  snIcc: 0xd003,
  app: 0x0001,
  odf: 0x5031,
  tokenInfo: 0x5032,
  aodf: 0x6001,
  prkdf: 0x6002,
  cdf: 0x6004,
  certAuthentication: 0xc001,
  certSignature: 0xc002,
} as const;

/** Short EF identifiers that IAS-ECC fixes for the MF's EFs (OpenSC iasecc.h IASECC_SFI_EF_*). */
export const SFI = { dir: 0x1e, atr: 0x1d, snIcc: 0x1c } as const;

/** Key and PIN references (the emulator's choice; the real CPS3 values are not public). */
export const KEY_REF = { authentication: 0x81, signature: 0x82 } as const;
export const PIN_REF = 0x01;
export const PIN_STORED_LENGTH = 8;
export const PIN_MIN_LENGTH = 4;
export const PIN_MAX_LENGTH = 8;
export const PIN_PAD_CHAR = 0xff;
const AUTH_ID = 0x01;
const KEY_ID = { authentication: 0x01, signature: 0x02 } as const;
const RSA_BITS = 2048;

export interface EfNode {
  readonly kind: "ef";
  readonly fid: number;
  readonly sfi?: number;
  content: Uint8Array;
}

export interface DfNode {
  readonly kind: "df";
  readonly fid: number;
  readonly aid?: Uint8Array;
  readonly children: Array<EfNode | DfNode>;
  parent?: DfNode;
}

export type FileNode = EfNode | DfNode;

const fid2 = (fid: number): Uint8Array => Uint8Array.of(fid >> 8, fid & 0xff);
const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);
const path = (...fids: number[]): Uint8Array => tlv(0x30, tlv(0x04, concat(...fids.map(fid2))));

/**
 * EF.ATR as a real CPx stores it (OpenSC commit fd83e885f): a stray 0x80 category indicator first,
 * then card service data (43), pre-issuing data (46: IC manufacturer, IC type, OS and IAS-ECC
 * versions; OpenSC needs ≥ 4 bytes), card capabilities (47), the root AID (4F), the IAS-ECC I/O
 * buffer sizes (E0: send / send-SM / receive / receive-SM as four INTEGERs; OpenSC needs ≥ 16 bytes),
 * the allocation scheme OID (78) and the status word (82).
 */
export function efAtr(): Uint8Array {
  const size = (n: number): Uint8Array => tlv(0x02, Uint8Array.of(n >> 8, n & 0xff));
  return concat(
    Uint8Array.of(0x80),
    tlv(0x43, [0xb8]),
    tlv(0x46, [0x04, 0xb0, 0xec, 0xc1]),
    tlv(0x47, [0x94, 0x01, 0x80]),
    tlv(0x4f, CPX_ROOT_AID),
    tlv(0xe0, size(0x0104), size(0x0104), size(0x0100), size(0x0100)),
    tlv(0x78, tlv(0x06, [0x2b, 0x81, 0x22, 0xf8, 0x78, 0x02])),
    tlv(0x82, [0x90, 0x00]),
  );
}

/** EF.DIR: one application template for the contact IAS application. */
export function efDir(aid: Uint8Array = CPX_IAS_AID, app: number = FID.app): Uint8Array {
  return tlv(
    0x61,
    tlv(0x4f, aid),
    tlv(0x50, utf8(app === FID.app ? "CPS3 IAS" : "CPS3 IAS CL")),
    tlv(0x51, fid2(FID.mf), fid2(app)),
  );
}

/** EF.SN.ICC: tag 5A, the ANS issuer number then the card serial (Cryptolib `_cps_read_efsnicc`). */
export function efSnIcc(serial: Uint8Array): Uint8Array {
  return tlv(0x5a, ANS_ISSUER_NUMBER, serial);
}

export function odf(app: number = FID.app): Uint8Array {
  return concat(
    tlv(0xa0, path(FID.mf, app, FID.prkdf)),
    tlv(0xa4, path(FID.mf, app, FID.cdf)),
    tlv(0xa8, path(FID.mf, app, FID.aodf)),
  );
}

/** PKCS#11 mechanism numbers used in TokenInfo's AlgorithmInfo. */
const CKM = { rsaPkcs: 0x0001, sha256RsaPkcs: 0x0040, sha256: 0x0250 } as const;

/** PKCS#15 AlgorithmInfo: reference, PKCS#11 mechanism, NULL parameters, supportedOperations, algRef. */
function algorithmInfo(
  reference: number,
  mechanism: number,
  operations: readonly number[],
  algRef: number,
): Uint8Array {
  return tlv(
    0x30,
    tlv(0x02, unsignedBytes(reference)),
    tlv(0x02, unsignedBytes(mechanism)),
    tlv(0x05, []),
    tlv(0x03, operations),
    tlv(0x02, unsignedBytes(algRef)),
  );
}

export function tokenInfo(serial: Uint8Array): Uint8Array {
  return tlv(
    0x30,
    tlv(0x02, [0x00]),
    tlv(0x04, serial),
    tlv(0x0c, utf8("ANS (TEST)")),
    tlv(0x80, utf8("CPS (TEST)")),
    tlv(0x03, [0x07, 0x80]), // tokenflags: readOnly
    // supportedAlgorithms [2]: what OpenSC's IAS-ECC driver maps to the card's algorithm references
    // for MSE (it re-derives the PrKDF's algReferences from them for CPx cards).
    tlv(
      0xa2,
      algorithmInfo(1, CKM.rsaPkcs, [0x02, 0x44], 0x02), // compute-signature, decipher
      algorithmInfo(2, CKM.sha256, [0x01, 0x02], 0x40), // hash
      algorithmInfo(3, CKM.sha256RsaPkcs, [0x06, 0x40], 0x42), // compute-signature
    ),
  );
}

function certificateEntry(label: string, id: number, fid: number, app: number): Uint8Array {
  return tlv(
    0x30,
    tlv(0x30, tlv(0x0c, utf8(label))),
    tlv(0x30, tlv(0x04, [id])),
    tlv(0xa1, tlv(0x30, path(FID.mf, app, fid))),
  );
}

export function cdf(app: number = FID.app): Uint8Array {
  return concat(
    certificateEntry("Certificat d'authentification CPS", KEY_ID.authentication, FID.certAuthentication, app),
    certificateEntry("Certificat de signature CPS", KEY_ID.signature, FID.certSignature, app),
  );
}

function privateKeyEntry(
  label: string,
  id: number,
  usage: Uint8Array,
  keyRef: number,
  app: number,
): Uint8Array {
  return tlv(
    0x30,
    tlv(0x30, tlv(0x0c, utf8(label)), tlv(0x03, [0x07, 0x80]), tlv(0x04, [AUTH_ID])),
    tlv(0x30, tlv(0x04, [id]), tlv(0x03, usage), tlv(0x02, unsignedBytes(keyRef))),
    tlv(0xa1, tlv(0x30, path(FID.mf, app), tlv(0x02, unsignedBytes(RSA_BITS)))),
  );
}

export function prkdf(app: number = FID.app): Uint8Array {
  return concat(
    // KeyUsageFlags: decrypt(1) + sign(2) for the authentication key…
    privateKeyEntry(
      "Cle d'authentification CPS",
      KEY_ID.authentication,
      Uint8Array.of(0x05, 0x60),
      KEY_REF.authentication,
      app,
    ),
    // …nonRepudiation(9) for the signature key.
    privateKeyEntry(
      "Cle de signature CPS",
      KEY_ID.signature,
      Uint8Array.of(0x06, 0x00, 0x40),
      KEY_REF.signature,
      app,
    ),
  );
}

/** The AODF; `needsPadding` false describes a card that stores the PIN as its digits only. */
export function aodf(needsPadding = true): Uint8Array {
  return tlv(
    0x30,
    tlv(0x30, tlv(0x0c, utf8("Code porteur")), tlv(0x03, [0x07, 0x80])),
    tlv(0x30, tlv(0x04, [AUTH_ID])),
    tlv(
      0xa1,
      tlv(
        0x30,
        // pinFlags: initialized(4), needs-padding(5) — or initialized alone.
        needsPadding ? tlv(0x03, [0x02, 0x0c]) : tlv(0x03, [0x03, 0x08]),
        tlv(0x0a, [0x01]), // pinType: ascii-numeric
        tlv(0x02, [PIN_MIN_LENGTH]),
        tlv(0x02, [PIN_STORED_LENGTH]),
        tlv(0x02, [PIN_MAX_LENGTH]),
        tlv(0x80, [PIN_REF]),
        tlv(0x04, [PIN_PAD_CHAR]),
      ),
    ),
  );
}

/**
 * The FCP of a file (ISO/IEC 7816-4 table 12): size, descriptor, FID, DF name, life cycle "operational
 * activated", and the IAS-ECC security attributes A1{8C} that OpenSC's iasecc driver requires
 * ("ACLs tag missing" otherwise). EFs: UPDATE never, READ always.
 */
export function fcp(node: FileNode): Uint8Array {
  if (node.kind === "df") {
    return tlv(
      0x62,
      tlv(0x82, [0x38]),
      tlv(0x83, fid2(node.fid)),
      node.aid ? tlv(0x84, node.aid) : new Uint8Array(),
      tlv(0x8a, [0x05]),
      tlv(0xa1, tlv(0x8c, [0x00])),
    );
  }
  return tlv(
    0x62,
    tlv(0x80, Uint8Array.of(node.content.length >> 8, node.content.length & 0xff)),
    tlv(0x82, [0x01]),
    tlv(0x83, fid2(node.fid)),
    node.sfi === undefined ? new Uint8Array() : tlv(0x88, [node.sfi << 3]),
    tlv(0x8a, [0x05]),
    tlv(0xa1, tlv(0x8c, [0x03, 0xff, 0x00])),
  );
}

export interface LayoutContent {
  readonly serial: Uint8Array;
  readonly authenticationCertificate: Uint8Array;
  readonly signatureCertificate: Uint8Array;
  /** The AODF's needs-padding flag (default true). */
  readonly pinNeedsPadding?: boolean;
  /** The contactless interface: the application is "CPx IAS CL" in DF 0002 (a guess, see CL_APP_FID). */
  readonly contactless?: boolean;
}

export function buildFileSystem(content: LayoutContent): DfNode {
  const ef = (fid: number, data: Uint8Array, sfi?: number): EfNode =>
    sfi === undefined ? { kind: "ef", fid, content: data } : { kind: "ef", fid, sfi, content: data };
  const appFid = content.contactless ? CL_APP_FID : FID.app;
  const app: DfNode = {
    kind: "df",
    fid: appFid,
    aid: content.contactless ? CPX_IAS_CL_AID : CPX_IAS_AID,
    children: [
      ef(FID.odf, odf(appFid)),
      ef(FID.tokenInfo, tokenInfo(content.serial)),
      ef(FID.aodf, aodf(content.pinNeedsPadding ?? true)),
      ef(FID.prkdf, prkdf(appFid)),
      ef(FID.cdf, cdf(appFid)),
      ef(FID.certAuthentication, content.authenticationCertificate),
      ef(FID.certSignature, content.signatureCertificate),
    ],
  };
  const mf: DfNode = {
    kind: "df",
    fid: FID.mf,
    aid: CPX_ROOT_AID,
    children: [
      ef(FID.dir, efDir(app.aid, appFid), SFI.dir),
      ef(FID.atr, efAtr(), SFI.atr),
      ef(FID.snIcc, efSnIcc(content.serial), SFI.snIcc),
      app,
    ],
  };
  app.parent = mf;
  return mf;
}
