import { test } from "node:test";
import assert from "node:assert/strict";
import { constants, createHash, publicDecrypt, randomBytes, verify } from "node:crypto";
import { Cps4Emulator, CPS4_ATR } from "../../../src/simulator/cards/cps4/index.ts";
import { recognizeCard } from "../../../src/cards/recognize.ts";
import { createTestPki, generateRsaKeyPair } from "../../../src/simulator/pki/test-pki.ts";

const pki = createTestPki();
const keys = { authentication: generateRsaKeyPair(), signature: generateRsaKeyPair() };
const card = (options = {}) => new Cps4Emulator({ pki, keys, ...options });
const h = (text: string): Uint8Array => Uint8Array.from(Buffer.from(text.replace(/\s/g, ""), "hex"));
const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString("hex").toUpperCase();
const sw = (r: Uint8Array): string => hex(r.subarray(r.length - 2));
const data = (r: Uint8Array): Uint8Array => r.subarray(0, r.length - 2);

/** Cryptolib's first command to a CPS4: the ChipDoc applet on logical channel 1. */
const SELECT_CHIPDOC = "01A4040C088025000001FF0100";
const VERIFY_1234 = "012000810831323334FFFFFFFF";

test("the ATR is Cryptolib's CPS4 contact ATR and the card table calls it a CPS4", () => {
  assert.equal(hex(CPS4_ATR), "3B9B188001001225006480040100009044");
  assert.equal(recognizeCard(CPS4_ATR).type, "cps");
  assert.equal(recognizeCard(CPS4_ATR).generation, "CPS4");
});

test("logical channel 1 opens with its first SELECT; the basic channel keeps the CPS2ter applet", () => {
  const c = card();
  // Another command on a closed channel: not supported.
  assert.equal(sw(c.transmit(h("01B0000010"))), "6881");
  assert.equal(sw(c.transmit(h(SELECT_CHIPDOC))), "9000");
  // The basic channel did not select the ChipDoc applet: its files are not there.
  assert.equal(sw(c.transmit(h("00A40800 02 D003 00"))), "6A82");
  // Secure messaging class bits, an unknown class: refused.
  assert.equal(sw(c.transmit(h("0DA4040C088025000001FF0100"))), "6882");
  assert.equal(sw(c.transmit(h("81A4040C088025000001FF0100"))), "6E00");
});

test("T=0: a SELECT with FCI answers 61xx, GET RESPONSE in parts (61xx for the rest), 6Cxx past it", () => {
  const c = card();
  c.transmit(h(SELECT_CHIPDOC));
  const first = c.transmit(h("01A4080002D00300"));
  assert.match(sw(first), /^61[0-9A-F]{2}$/);
  const available = first[first.length - 1]!;
  assert.equal(
    sw(c.transmit(h(`01C00000${(available + 1).toString(16).padStart(2, "0")}`))),
    `6C${hex(Uint8Array.of(available))}`,
  );
  const part = c.transmit(h("01C0000004"));
  assert.equal(data(part).length, 4);
  assert.equal(sw(part), `61${hex(Uint8Array.of(available - 4))}`);
  const rest = c.transmit(h(`01C00000${(available - 4).toString(16).padStart(2, "0")}`));
  assert.equal(sw(rest), "9000");
  // FCI 6F with the file size (tag 80): EF.SN.ICC is 12 bytes.
  assert.match(hex(Uint8Array.from([...data(part), ...data(rest)])), /^6F..8002000C/);
  assert.equal(sw(c.transmit(h("01C0000010"))), "6985");
});

test("READ BINARY: exactly Le bytes, 6Cxx when Le passes the end (T=0), 6B00 past the end", () => {
  const c = card({ serial: h("0102030405") });
  c.transmit(h(SELECT_CHIPDOC));
  c.transmit(h("01A4080C02D003"));
  assert.equal(hex(c.transmit(h("01B000000C"))), "5A0A80250000010102030405" + "9000");
  assert.equal(sw(c.transmit(h("01B0000000"))), "6C0C");
  assert.equal(hex(c.transmit(h("01B0000A02"))), "0405" + "9000");
  assert.equal(sw(c.transmit(h("01B0000C01"))), "6B00");
});

test("SELECT by path from the MF (P1=08) and from the current DF (P1=09), by FID (P1=00)", () => {
  const c = card();
  c.transmit(h(SELECT_CHIPDOC));
  assert.equal(sw(c.transmit(h("01A4080C020001"))), "9000");
  assert.equal(sw(c.transmit(h("01A4090C025031"))), "9000");
  assert.equal(sw(c.transmit(h("01A4000C020001"))), "9000");
  assert.equal(sw(c.transmit(h("01A4080C04 0001 5031".replace(/ /g, "")))), "9000");
  assert.equal(sw(c.transmit(h("01A4080C02ABCD"))), "6A82");
  assert.equal(sw(c.transmit(h("01A4770C00"))), "6A86");
});

test("VERIFY without data reads the counter; a wrong block costs a try; blocked gives 6983", () => {
  const c = card();
  c.transmit(h(SELECT_CHIPDOC));
  assert.equal(sw(c.transmit(h("01200081"))), "63C3");
  assert.equal(sw(c.transmit(h("0120008108393939393FFFFFFF"))), "63C2");
  // An unpadded block is another PIN block: it costs a try too.
  assert.equal(sw(c.transmit(h("012000810431323334"))), "63C1");
  assert.equal(sw(c.transmit(h(VERIFY_1234))), "9000");
  assert.equal(sw(c.transmit(h("01200081"))), "9000");
  assert.equal(c.triesRemaining, 3);
  const blocked = card({ triesRemaining: 0 });
  blocked.transmit(h(SELECT_CHIPDOC));
  assert.equal(sw(blocked.transmit(h("01200081"))), "6983");
  assert.equal(sw(blocked.transmit(h(VERIFY_1234))), "6983");
});

test("signature: MSE 81 B6 {91 02 28 90} then PSO CDS over a SHA-256 verifies with the signature key", () => {
  const c = card();
  c.transmit(h(SELECT_CHIPDOC));
  const hash = createHash("sha256").update("hello").digest();
  assert.equal(sw(c.transmit(h("012281B604910228 90".replace(/ /g, "")))), "9000");
  assert.equal(sw(c.transmit(h(`012A9E9A20${hex(hash)}`))), "6982");
  c.transmit(h(VERIFY_1234));
  c.transmit(h("012281B60491022890"));
  assert.equal(sw(c.transmit(h(`012A9E9A20${hex(hash)}`))), "6100");
  const signature = data(c.transmit(h("01C0000000")));
  assert.ok(verify("sha256", Buffer.from("hello"), keys.signature.publicKey, signature));
  // ISO's 41 B6 form and a key reference without the "hash given" bit are not the ChipDoc's.
  assert.equal(sw(c.transmit(h("012241B606800128840110"))), "6A86");
  assert.equal(sw(c.transmit(h("012281B60491022810"))), "6A80");
});

test("authentication: no INTERNAL AUTHENTICATE; MSE 41 B8 {83 01 20} and a chained PSO DECIPHER of the padded block", () => {
  const c = card();
  c.transmit(h(SELECT_CHIPDOC));
  c.transmit(h(VERIFY_1234));
  assert.equal(sw(c.transmit(h("0188000033" + "00".repeat(0x33)))), "6D00");
  // The signature key cannot decipher.
  assert.equal(sw(c.transmit(h("012241B8038301" + "10"))), "6A88");
  assert.equal(sw(c.transmit(h("012241B803830120"))), "9000");
  const digestInfo = Buffer.concat([
    Buffer.from("3031300d060960864801650304020105000420", "hex"),
    createHash("sha256").update(randomBytes(10)).digest(),
  ]);
  const block = Buffer.concat([
    Buffer.from([0, 1]),
    Buffer.alloc(256 - 3 - digestInfo.length, 0xff),
    Buffer.from([0]),
    digestInfo,
  ]);
  assert.equal(sw(c.transmit(h(`112A8086FF${hex(block.subarray(0, 255))}`))), "9000");
  assert.equal(sw(c.transmit(h(`012A808601${hex(block.subarray(255))}00`))), "6100");
  const signature = data(c.transmit(h("01C0000000")));
  const recovered = publicDecrypt(
    { key: keys.authentication.publicKey, padding: constants.RSA_PKCS1_PADDING },
    signature,
  );
  assert.ok(recovered.equals(digestInfo));
});

test("reset closes channel 1 and forgets the PIN", () => {
  const c = card();
  c.transmit(h(SELECT_CHIPDOC));
  c.transmit(h(VERIFY_1234));
  c.reset();
  assert.equal(sw(c.transmit(h("01200081"))), "6881");
  c.transmit(h(SELECT_CHIPDOC));
  assert.equal(sw(c.transmit(h("01200081"))), "63C3");
  // The log holds command forms, never data.
  assert.ok(c.log.every((f) => !("data" in f)));
});
