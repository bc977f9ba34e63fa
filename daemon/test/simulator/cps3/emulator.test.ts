import { test } from "node:test";
import assert from "node:assert/strict";
import { constants, createHash, publicDecrypt, randomBytes, verify, X509Certificate } from "node:crypto";
import { Cps3Emulator, CPS3_ATR } from "../../../src/simulator/cards/cps3/emulator.ts";
import { sha256BitCounter, sha256Midstate } from "../../../src/cards/sha256-midstate.ts";
import { recognizeCard } from "../../../src/cards/recognize.ts";
import { createTestPki, generateRsaKeyPair } from "../../../src/simulator/pki/test-pki.ts";

const pki = createTestPki();
const keys = { authentication: generateRsaKeyPair(), signature: generateRsaKeyPair() };
const card = (options = {}) => new Cps3Emulator({ pki, keys, ...options });
const h = (text: string): Uint8Array => Uint8Array.from(Buffer.from(text.replace(/\s/g, ""), "hex"));
const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString("hex").toUpperCase();
const sw = (r: Uint8Array): string => hex(r.subarray(r.length - 2));
const data = (r: Uint8Array): Uint8Array => r.subarray(0, r.length - 2);

/**
 * Sends a command and follows the card's 61xx with GET RESPONSE (Le = xx) as a T=0 host does:
 * the data of every round and the last status word.
 */
function full(c: Cps3Emulator, apdu: string | Uint8Array): Uint8Array {
  let r = c.transmit(typeof apdu === "string" ? h(apdu) : apdu);
  const out: number[] = [...data(r)];
  while (r[r.length - 2] === 0x61) {
    r = c.transmit(Uint8Array.of(0x00, 0xc0, 0x00, 0x00, r[r.length - 1]!));
    out.push(...data(r));
  }
  return Uint8Array.from([...out, ...r.subarray(r.length - 2)]);
}

const SELECT_APP = "00A4040C0DE828BD080F8025000001FF0010";
const SELECT_MF = "00A4000C023F00";
const GET_COUNTER = "00CB3FFF0A4D087006BF810102A08000";

test("the ATR is the CPS3 contact ATR and the card table calls it a CPS", () => {
  assert.equal(hex(CPS3_ATR), "3BAC00402A001225006480000310009000");
  assert.equal(recognizeCard(CPS3_ATR).type, "cps");
});

test("SELECT by AID, by FID, by path; FCP with size, FID and the IAS-ECC ACL tag", () => {
  const c = card();
  assert.equal(sw(c.transmit(h(SELECT_APP))), "9000");
  const fcp = full(c, "00A4000402503100");
  assert.equal(sw(fcp), "9000");
  assert.match(hex(data(fcp)), /^62158002....820101830250318A0105A1058C0303FF00$/);
  // OpenSC's CPx select of EF.ATR: P1=09 with an absolute path.
  const atr = full(c, "00A40904043F002F0100");
  assert.equal(sw(atr), "9000");
  assert.match(hex(data(atr)), /^62188002003982010183022F018801E88A0105A1058C0303FF00$/);
  assert.equal(sw(c.transmit(h("00A4080C020001"))), "9000");
  // OpenSC selects the MF with P1=02 before PIN commands.
  assert.equal(sw(c.transmit(h("00A4020C023F00"))), "9000");
  assert.equal(sw(c.transmit(h("00A4000C02ABCD"))), "6A82");
  assert.equal(sw(c.transmit(h("00A4040C03A00000"))), "6A82");
  assert.equal(sw(c.transmit(h("00A4770C00"))), "6A86");
});

test("READ BINARY by SFI: EF.ATR starts with the CPx 0x80 quirk, EF.SN.ICC with 5A 0A 80 25 00 00 01", () => {
  const c = card({ serial: h("0102030405") });
  const atr = full(c, "00B09D0039");
  assert.equal(sw(atr), "9000");
  // Byte for byte the real CPx EF.ATR that OpenSC commit fd83e885f shows.
  assert.equal(
    hex(data(atr)),
    "804301B8460404B0ECC147039401804F088025000001FF0100E01002020104020201040202010002020100780806062B8122F8780282029000",
  );
  assert.equal(hex(c.transmit(h("00B09C000C"))), "5A0A80250000010102030405" + "9000");
});

test("READ BINARY: offset past the end 6B00, no current EF 6986, Le smaller than the rest returns Le bytes", () => {
  const c = card();
  assert.equal(sw(c.transmit(h("00B0000010"))), "6986");
  c.transmit(h("00A4080C022F01"));
  assert.equal(data(c.transmit(h("00B0000004"))).length, 4);
  assert.equal(sw(c.transmit(h("00B07FFF00"))), "6B00");
});

test("GET DATA on the CHV SDO gives max and remaining tries, only with the MF selected", () => {
  const c = card({ triesRemaining: 2 });
  c.transmit(h(SELECT_APP));
  assert.equal(sw(c.transmit(h(GET_COUNTER))), "6A88");
  c.transmit(h(SELECT_MF));
  // DOCP: access rules A1{8C AMB 7F, seven SCBs "always"}, 9A max tries, 9B tries left.
  assert.equal(hex(full(c, GET_COUNTER)), "BF810114A012A10A8C087F000000000000009A01039B0102" + "9000");
  // The CHV's size policy (7F41: 80 max, 81 min), as OpenSC's IAS-ECC login asks for it.
  assert.equal(hex(full(c, "00CB3FFF0B4D097007BF8101037F418000")), "BF8101097F4106800108810104" + "9000");
  assert.equal(sw(c.transmit(h("00CB3FFF0A4D087006BF810502A08000"))), "6A88");
});

test("GET DATA on a private key SDO (application DF): DOCP with the size in bytes; no public data", () => {
  const c = card();
  assert.equal(sw(c.transmit(h("00CB3FFF0A4D087006BF900102A08000"))), "6A88", "MF current: no key");
  c.transmit(h(SELECT_APP));
  assert.equal(
    hex(full(c, "00CB3FFF0A4D087006BF900102A08000")),
    "BF900112A010800201" + "00A10A8C087F00000000000000" + "9000",
  );
  assert.equal(sw(c.transmit(h("00CB3FFF0B4D097007BF9002037F488000"))), "6A86");
  assert.equal(sw(c.transmit(h("00CB3FFF0A4D087006BF900502A08000"))), "6A88");
});

test("VERIFY: 63Cx counting down, blocking at 0 with 6983, a correct PIN resets the counter", () => {
  const c = card({ pin: "2580" });
  const wrong = "0020000108" + "31313131FFFFFFFF";
  const right = "0020000108" + "32353830FFFFFFFF";
  assert.equal(sw(c.transmit(h("00200001"))), "63C3");
  assert.equal(sw(c.transmit(h(wrong))), "63C2");
  assert.equal(sw(c.transmit(h(right))), "9000");
  assert.equal(c.triesRemaining, 3);
  assert.equal(sw(c.transmit(h("00200001"))), "9000");
  assert.equal(sw(c.transmit(h(wrong))), "63C2");
  assert.equal(sw(c.transmit(h(wrong))), "63C1");
  assert.equal(sw(c.transmit(h(wrong))), "6983");
  assert.equal(sw(c.transmit(h(right))), "6983", "a blocked PIN stays blocked, even with the right value");
  assert.equal(sw(c.transmit(h("002000010431323334"))), "6983");
  assert.equal(sw(c.transmit(h("00200002" + "08" + "31313131FFFFFFFF"))), "6A88");
});

test("VERIFY with a block of the wrong length is 6700 and costs no try", () => {
  const c = card();
  assert.equal(sw(c.transmit(h("002000010431323334"))), "6700");
  assert.equal(c.triesRemaining, 3);
});

test("PSO HASH resumed from a host midstate + PSO CDS: a PKCS#1 v1.5 SHA-256 signature of the message", () => {
  const c = card();
  const message = randomBytes(1000);
  const mid = sha256Midstate(message);
  c.transmit(h("0020000108" + "31323334FFFFFFFF"));
  c.transmit(h(SELECT_APP));
  assert.equal(sw(c.transmit(h("002241AA03800140"))), "9000");
  const intermediate = Buffer.concat([mid.state, sha256BitCounter(mid.hashedBytes)]);
  const body = Buffer.concat([
    Buffer.from([0x90, 40]),
    intermediate,
    Buffer.from([0x80, mid.remainder.length]),
    mid.remainder,
  ]);
  assert.equal(
    sw(c.transmit(Uint8Array.from(Buffer.concat([h("002A90A0"), Buffer.from([body.length]), body])))),
    "9000",
  );
  assert.equal(sw(c.transmit(h("002241B606800142840182"))), "9000");
  const signature = full(c, "002A9E9A00");
  assert.equal(sw(signature), "9000");
  const cert = new X509Certificate(c.certificates.signature.der);
  assert.equal(verify("sha256", message, cert.publicKey, data(signature)), true);
  assert.equal(sw(c.transmit(h("002A9E9A00"))), "6985", "the hash is used once");
});

test("PSO CDS without PIN is 6982; without a hash 6985; malformed PSO HASH 6A80", () => {
  const c = card();
  c.transmit(h(SELECT_APP));
  c.transmit(h("002241AA03800140"));
  c.transmit(h("002A90A006900080020102"));
  c.transmit(h("002241B606800142840182"));
  assert.equal(sw(c.transmit(h("002A9E9A00"))), "6982");
  const d = card();
  d.transmit(h(SELECT_APP));
  d.transmit(h("002241B606800142840182"));
  assert.equal(sw(d.transmit(h("002A9E9A00"))), "6985");
  d.transmit(h("002241AA03800140"));
  assert.equal(sw(d.transmit(h("002A90A00490008000"))), "6A80", "an empty last block");
  assert.equal(sw(d.transmit(h("002A90A0049005AABB"))), "6A80", "truncated TLV");
});

test("MSE SET: the key must match the template and live in the application DF", () => {
  const c = card();
  assert.equal(sw(c.transmit(h("002241A406800102840181"))), "6A88", "MF current: no key");
  c.transmit(h(SELECT_APP));
  assert.equal(sw(c.transmit(h("002241A406800102840182"))), "6A88", "signature key in an AT");
  assert.equal(sw(c.transmit(h("002241B606800142840181"))), "6A88", "authentication key in a DST");
  assert.equal(sw(c.transmit(h("002241B606800112840182"))), "6A80", "SHA-1 is not offered");
  assert.equal(sw(c.transmit(h("002241A406800102840181"))), "9000");
});

test("INTERNAL AUTHENTICATE pads PKCS#1 type 1 over the DigestInfo the host sends", () => {
  const c = card();
  c.transmit(h("0020000108" + "31323334FFFFFFFF"));
  c.transmit(h(SELECT_APP));
  c.transmit(h("002241A406800102840181"));
  const digestInfo = Buffer.concat([
    h("3031300d060960864801650304020105000420"),
    createHash("sha256").update("x").digest(),
  ]);
  const r = full(
    c,
    Uint8Array.from(Buffer.concat([h("00880000"), Buffer.from([digestInfo.length]), digestInfo, h("00")])),
  );
  assert.equal(sw(r), "9000");
  const cert = new X509Certificate(c.certificates.authentication.der);
  assert.equal(
    hex(publicDecrypt({ key: cert.publicKey, padding: constants.RSA_PKCS1_PADDING }, data(r))),
    hex(digestInfo),
  );
  assert.equal(
    sw(c.transmit(Uint8Array.from([0x00, 0x88, 0x00, 0x00, 246, ...new Uint8Array(246), 0x00]))),
    "6700",
  );
});

test("T=0 as a real CPx answers under the ANS middleware (OpenSC issue #2275): 61xx, GET RESPONSE, direct READ BINARY", () => {
  const c = card({ serial: h("992138450F") });
  // 00 A4 09 04 04 3F 00 D0 03 → 61 xx; 00 C0 00 00 xx → the FCP ‖ 90 00.
  const selected = c.transmit(h("00A40904043F00D003"));
  assert.match(sw(selected), /^61/);
  const fcp = c.transmit(Uint8Array.of(0x00, 0xc0, 0x00, 0x00, selected[selected.length - 1]!));
  assert.equal(sw(fcp), "9000");
  assert.match(hex(data(fcp)), /^62..8002000C8201018302D003/);
  // 00 B0 00 00 0C → 5A 0A 80 25 00 00 01 99 21 38 45 0F ‖ 90 00: the trace's bytes, our serial.
  assert.equal(hex(c.transmit(h("00B000000C"))), "5A0A8025000001992138450F9000");
  // 00 A4 09 0C 02 3F 00 → 90 00; GET DATA without Le (T=0 case 4) → 61 xx, then the DOCP.
  assert.equal(sw(c.transmit(h("00A4090C023F00"))), "9000");
  const counter = c.transmit(h("00CB3FFF0A4D087006BF810102A080"));
  assert.match(sw(counter), /^61/);
  assert.match(
    hex(c.transmit(Uint8Array.of(0x00, 0xc0, 0x00, 0x00, counter[counter.length - 1]!))),
    /9A01039B01039000$/,
  );
});

test("T=0: a 256-byte signature comes as 61 00, then GET RESPONSE E7 → 0xE7 bytes ‖ 61 19, then 19 → 0x19 bytes ‖ 90 00 (issue #2275)", () => {
  const c = card();
  c.transmit(h("0020000108" + "31323334FFFFFFFF"));
  c.transmit(h(SELECT_APP));
  c.transmit(h("002241AA03800140"));
  c.transmit(h("002A90A018" + "9000" + "8014" + "78".repeat(19) + "0A"));
  c.transmit(h("002241B606800142840182"));
  assert.equal(hex(c.transmit(h("002A9E9A00"))), "6100");
  const first = c.transmit(h("00C00000E7"));
  assert.equal(sw(first), "6119");
  assert.equal(data(first).length, 0xe7);
  const second = c.transmit(h("00C0000019"));
  assert.equal(sw(second), "9000");
  assert.equal(data(second).length, 0x19);
  const signature = Buffer.concat([data(first), data(second)]);
  const cert = new X509Certificate(c.certificates.signature.der);
  assert.equal(verify("sha256", Buffer.from("xxxxxxxxxxxxxxxxxxx\n"), cert.publicKey, signature), true);
});

test("T=0: every case-4 answer is 61xx, even with an Le; GET RESPONSE over what waits is 6Cxx; nothing waiting 6985", () => {
  const c = card();
  assert.match(sw(c.transmit(h("00A40404" + "0DE828BD080F8025000001FF0010" + "00"))), /^61[0-9A-F]{2}$/);
  const waiting = c.transmit(h("00A4090404" + "3F000001"));
  const n = waiting[waiting.length - 1]!;
  assert.equal(sw(c.transmit(Uint8Array.of(0x00, 0xc0, 0x00, 0x00, n + 1))), `6C${hex(Uint8Array.of(n))}`);
  const part = c.transmit(Uint8Array.of(0x00, 0xc0, 0x00, 0x00, 4));
  assert.equal(data(part).length, 4);
  assert.equal(sw(part), `61${hex(Uint8Array.of(n - 4))}`);
  assert.equal(sw(c.transmit(Uint8Array.of(0x00, 0xc0, 0x00, 0x00, n - 4))), "9000");
  assert.equal(sw(c.transmit(h("00C0000010"))), "6985", "nothing pending");
  c.transmit(h("00A4090404" + "3F000001"));
  c.transmit(h("00A4090C02" + "3F00"));
  assert.equal(sw(c.transmit(h("00C0000010"))), "6985", "another command drops what was waiting");
});

test("READ BINARY past the end of the file is 6Cxx (T=0 case 2, Ne ≠ Na)", () => {
  const c = card();
  c.transmit(h("00A4090C04" + "3F00D003"));
  assert.equal(sw(c.transmit(h("00B0000000"))), "6C0C");
  assert.equal(sw(c.transmit(h("00B0000A04"))), "6C02");
});

test("SELECT with P2=00 (FCI) is refused 6A86 as a real CPx does, except the MF's root AID (9000, no data)", () => {
  const c = card();
  assert.equal(sw(c.transmit(h("00A404000DE828BD080F8025000001FF0010"))), "6A86");
  assert.equal(sw(c.transmit(h("00A4020002A001"))), "6A86");
  assert.equal(hex(c.transmit(h("00A40400088025000001FF0100"))), "9000");
  assert.equal(sw(c.transmit(h("00A4090804" + "3F000001"))), "6A86");
});

test("no extended length on T=0: 6700", () => {
  const c = card();
  assert.equal(sw(c.transmit(h("00B00000000100"))), "6700");
});

test("bad APDUs: wrong CLA 6E00, chaining 6884, unknown INS 6D00, bad lengths 6700", () => {
  const c = card();
  assert.equal(sw(c.transmit(h("80A4000C023F00"))), "6E00");
  assert.equal(sw(c.transmit(h("10A4000C023F00"))), "6884");
  assert.equal(sw(c.transmit(h("00FF0000"))), "6D00");
  assert.equal(sw(c.transmit(h("00A4"))), "6700");
  assert.equal(sw(c.transmit(h("00A4000C053F00"))), "6700");
});

test("reset drops the PIN status and the security environment, not the counter", () => {
  const c = card();
  c.transmit(h("0020000108" + "30303030FFFFFFFF"));
  c.transmit(h("0020000108" + "31323334FFFFFFFF"));
  assert.equal(sw(c.transmit(h("00200001"))), "9000");
  c.reset();
  assert.equal(sw(c.transmit(h("00200001"))), "63C3");
});
