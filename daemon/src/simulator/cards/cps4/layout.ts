/**
 * The emulated CPS4's file system, as the ChipDoc applet shows it to the ANS Cryptolib: the applet's
 * MF with EF.DIR, EF.SN.ICC and the PKCS#15 application DF (ODF, TokenInfo, PrKDF, CDF, AODF and the
 * two certificates).
 *
 * Public facts used (sources in docs/cards.md, "CPS4"): the ChipDoc applet AID and the PKCS#15
 * application AID (dops-cryptolib card-cps4.c `CHIPDOC_APP_AID`, `cps_aid_cps4`), EF.SN.ICC at
 * 3F00/D003 with 12 bytes whose bytes 2..6 are the ANS issuer number (card-cps.c
 * `_cps_read_efsnicc`), the authentication key reference 0x20 (internal.h `CPS4_AUTH_PRIV_KEY_ID`),
 * ODF and TokenInfo at 5031/5032 of the application DF (PKCS#15 v1.1 §5.5). Everything else — the
 * application DF's FID, the other FIDs, the signature key reference, the PIN reference and format —
 * is the lab's choice: the driver finds them through EF.DIR and PKCS#15, never by constant.
 *
 * Written independently of the driver (daemon/src/cards/cps4/): nothing here is imported from it.
 */
import { encodeTlv } from "../../../cards/tlv.ts";

const hex = (text: string): Uint8Array => Uint8Array.from(Buffer.from(text, "hex"));

/** CPS4 contact ATR (dops-cryptolib card-cps.c `CPS4_C_ATR`, exact match). */
export const CPS4_ATR = hex("3B9B188001001225006480040100009044");
/** The other CPS4 ATRs Cryptolib knows (`CPS4RC_C_ATR`, `CPS4TO_C_ATR`): release candidate, T=0 only. */
export const CPS4_RC_ATR = hex("3B9B188001001225006480000401009044");
export const CPS4_T0_ATR = hex("3BDC18FF00001225006480000401009000");

export const AID = {
  /** The ChipDoc applet, selected on logical channel 1 (card-cps4.c `CHIPDOC_APP_AID`). */
  chipDoc: hex("8025000001FF0100"),
  /** The CPS2ter applet, on the basic channel (card-cps4.c `_do_reselect_cps4_aid`). */
  cps2ter: hex("8025000001FF0002"),
  /** The issuer security domain (GlobalPlatform), used by Cryptolib's reselection sequence. */
  issuerSecurityDomain: hex("A0000001510000"),
  /** The PKCS#15 application Cryptolib looks for in EF.DIR (card-cps4.c `cps_aid_cps4`). */
  pkcs15: hex("E828BD080F8025000001FF0010"),
} as const;

/** ANS issuer number, bytes 2..6 of EF.SN.ICC (card-cps.c `cps3_fsn`). */
export const ANS_ISSUER_NUMBER = hex("8025000001");

export const FID = {
  mf: 0x3f00,
  dir: 0x2f00,
  snIcc: 0xd003,
  // The lab's choices from here on.
  app: 0x0001,
  odf: 0x5031,
  tokenInfo: 0x5032,
  aodf: 0x4401,
  prkdf: 0x4402,
  cdf: 0x4404,
  certAuthentication: 0x4c01,
  certSignature: 0x4c02,
} as const;

/** Key references: 0x20 is Cryptolib's fixed authentication key; 0x10 is the lab's signature key. */
export const KEY_REF = { authentication: 0x20, signature: 0x10 } as const;
/** The PIN (lab's choice: a specific reference, ASCII digits padded with FF to 8 bytes). */
export const PIN = { reference: 0x81, minLength: 4, storedLength: 8, maxLength: 8, padChar: 0xff } as const;
const AUTH_ID = 0x01;
const KEY_ID = { authentication: 0x01, signature: 0x02 } as const;
const RSA_BITS = 2048;

export interface EfNode {
  readonly kind: "ef";
  readonly fid: number;
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

const fid2 = (fid: number): Uint8Array => Uint8Array.of(fid >> 8, fid & 0xff);
const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);
const path = (...fids: number[]): Uint8Array => tlv(0x30, tlv(0x04, concat(...fids.map(fid2))));
const integer = (n: number): Uint8Array => {
  const out: number[] = [];
  for (let v = n; ; v = Math.floor(v / 256)) {
    out.unshift(v & 0xff);
    if (v < 256) break;
  }
  if (out[0]! & 0x80) out.unshift(0);
  return tlv(0x02, out);
};

/** EF.DIR: the PKCS#15 application and its path (ISO/IEC 7816-4 §8.2.1.1, tags 61/4F/50/51). */
export function efDir(): Uint8Array {
  return tlv(
    0x61,
    tlv(0x4f, AID.pkcs15),
    tlv(0x50, utf8("CPS4 PKCS15")),
    tlv(0x51, fid2(FID.mf), fid2(FID.app)),
  );
}

/** EF.SN.ICC: `5A 0A <ANS issuer number> <serial>`, 12 bytes (card-cps.c wants exactly 12). */
export function efSnIcc(serial: Uint8Array): Uint8Array {
  return tlv(0x5a, ANS_ISSUER_NUMBER, serial);
}

export function odf(): Uint8Array {
  return concat(
    tlv(0xa0, path(FID.mf, FID.app, FID.prkdf)),
    tlv(0xa4, path(FID.mf, FID.app, FID.cdf)),
    tlv(0xa8, path(FID.mf, FID.app, FID.aodf)),
  );
}

export function tokenInfo(serial: Uint8Array): Uint8Array {
  return tlv(
    0x30,
    integer(0),
    tlv(0x04, serial),
    tlv(0x0c, utf8("ANS (TEST)")),
    tlv(0x80, utf8("CPS4 (TEST)")),
    tlv(0x03, [0x07, 0x80]), // tokenflags: readOnly
  );
}

function certificateEntry(label: string, id: number, fid: number): Uint8Array {
  return tlv(
    0x30,
    tlv(0x30, tlv(0x0c, utf8(label))),
    tlv(0x30, tlv(0x04, [id])),
    tlv(0xa1, tlv(0x30, path(FID.mf, FID.app, fid))),
  );
}

export function cdf(): Uint8Array {
  return concat(
    certificateEntry("CPS_CERT_AUT", KEY_ID.authentication, FID.certAuthentication),
    certificateEntry("CPS_CERT_SIG", KEY_ID.signature, FID.certSignature),
  );
}

function privateKeyEntry(label: string, id: number, usage: readonly number[], keyRef: number): Uint8Array {
  return tlv(
    0x30,
    tlv(0x30, tlv(0x0c, utf8(label)), tlv(0x03, [0x07, 0x80]), tlv(0x04, [AUTH_ID])),
    tlv(0x30, tlv(0x04, [id]), tlv(0x03, usage), integer(keyRef)),
    tlv(0xa1, tlv(0x30, path(FID.mf, FID.app), integer(RSA_BITS))),
  );
}

export function prkdf(): Uint8Array {
  return concat(
    // KeyUsageFlags (PKCS#15 §6.4): decrypt(1) + sign(2) for the authentication key…
    privateKeyEntry("CPS_PRIV_AUT", KEY_ID.authentication, [0x05, 0x60], KEY_REF.authentication),
    // …nonRepudiation(9) for the signature key.
    privateKeyEntry("CPS_PRIV_SIG", KEY_ID.signature, [0x06, 0x00, 0x40], KEY_REF.signature),
  );
}

export function aodf(): Uint8Array {
  return tlv(
    0x30,
    tlv(0x30, tlv(0x0c, utf8("Code porteur")), tlv(0x03, [0x07, 0x80])),
    tlv(0x30, tlv(0x04, [AUTH_ID])),
    tlv(
      0xa1,
      tlv(
        0x30,
        tlv(0x03, [0x02, 0x0c]), // pinFlags: initialized(4), needs-padding(5)
        tlv(0x0a, [0x01]), // pinType: ascii-numeric
        integer(PIN.minLength),
        integer(PIN.storedLength),
        integer(PIN.maxLength),
        tlv(0x80, [PIN.reference]),
        tlv(0x04, [PIN.padChar]),
      ),
    ),
  );
}

/** FCP (ISO/IEC 7816-4 table 12): size (EFs), descriptor, FID, DF name, life cycle "activated". */
export function fcp(node: FileNode): Uint8Array {
  if (node.kind === "df") {
    return tlv(
      0x62,
      tlv(0x82, [0x38]),
      tlv(0x83, fid2(node.fid)),
      node.aid ? tlv(0x84, node.aid) : new Uint8Array(),
      tlv(0x8a, [0x05]),
    );
  }
  return tlv(
    0x62,
    tlv(0x80, fid2(node.content.length)),
    tlv(0x82, [0x01]),
    tlv(0x83, fid2(node.fid)),
    tlv(0x8a, [0x05]),
  );
}

export interface LayoutContent {
  readonly serial: Uint8Array;
  readonly authenticationCertificate: Uint8Array;
  readonly signatureCertificate: Uint8Array;
}

export function buildFileSystem(content: LayoutContent): DfNode {
  const ef = (fid: number, data: Uint8Array): EfNode => ({ kind: "ef", fid, content: data });
  const app: DfNode = {
    kind: "df",
    fid: FID.app,
    aid: AID.pkcs15,
    children: [
      ef(FID.odf, odf()),
      ef(FID.tokenInfo, tokenInfo(content.serial)),
      ef(FID.aodf, aodf()),
      ef(FID.prkdf, prkdf()),
      ef(FID.cdf, cdf()),
      ef(FID.certAuthentication, content.authenticationCertificate),
      ef(FID.certSignature, content.signatureCertificate),
    ],
  };
  const mf: DfNode = {
    kind: "df",
    fid: FID.mf,
    children: [ef(FID.dir, efDir()), ef(FID.snIcc, efSnIcc(content.serial)), app],
  };
  app.parent = mf;
  return mf;
}
