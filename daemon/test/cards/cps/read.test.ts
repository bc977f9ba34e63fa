import { test } from "node:test";
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { CpsDriver, parsePinCounter } from "../../../src/cards/cps/index.ts";
import { isPasserelleError } from "../../../src/errors.ts";
import { aodf, cdf, efDir, efSnIcc, odf, prkdf } from "../../../src/simulator/cards/cps3/layout.ts";
import { channelFor, emulator } from "./fixtures.ts";
import type { CardChannel } from "../../../src/pcsc/apdu.ts";

/** Cryptolib's READ BINARY size (card-cps3.c `max_recv_size = 0xE7`), which the driver follows. */
const chunks = (n: number): number => Math.ceil(n / 0xe7);

test("a cold read returns the holder, both certificates and the PIN counter", async () => {
  const card = emulator();
  const channel = channelFor(card);
  const result = await new CpsDriver().read(channel);
  assert.deepEqual(result.holder, {
    idNat: "899700001234",
    idType: "RPPS",
    nationalId: "99700001234",
    lastName: "MEDECIN-TEST",
    firstName: "CLAIRE",
    profession: "Médecin",
  });
  assert.equal(
    new X509Certificate(result.certificates.authentication.pem).raw.equals(
      Buffer.from(card.certificates.authentication.der),
    ),
    true,
  );
  assert.equal(
    new X509Certificate(result.certificates.signature.pem).raw.equals(
      Buffer.from(card.certificates.signature.der),
    ),
    true,
  );
  assert.equal(
    result.certificates.signature.notAfter,
    new Date(new X509Certificate(card.certificates.signature.der).validTo).toISOString(),
  );
  assert.deepEqual(result.pin, { verified: false, triesRemaining: 3 });
  // Minimum for this layout in the middleware's dialect: SELECT + READs (0xE7 bytes each) for
  // EF.DIR, ODF, CDF, PrKDF, AODF, both certificates and EF.SN.ICC; GET DATA for the counter. No
  // command is wasted.
  const files = [
    efDir(),
    odf(),
    cdf(),
    prkdf(),
    aodf(),
    card.certificates.authentication.der,
    card.certificates.signature.der,
    efSnIcc(card.serial),
  ];
  const minimum = files.reduce((n, f) => n + 1 + chunks(f.length), 0) + 1;
  assert.equal(channel.sent.length, minimum);
  assert.equal(channel.sent.filter((c) => c.ins === 0xa4).length, files.length);
  // Every SELECT is P1=09 with the path from 3F00 (Cryptolib cps3_select_file; real CPx traces).
  for (const select of channel.sent.filter((c) => c.ins === 0xa4)) {
    assert.equal(select.p1, 0x09);
    assert.deepEqual([...select.data!.subarray(0, 2)], [0x3f, 0x00]);
  }
  assert.equal(channel.sent.at(-1)?.ins, 0xcb);
});

test("a warm read on the same insertion sends no APDU; a new insertion reads again", async () => {
  const driver = new CpsDriver();
  const channel = channelFor(emulator());
  const cold = await driver.read(channel);
  const before = channel.sent.length;
  const warm = await driver.read(channel);
  assert.equal(channel.sent.length - before, 0);
  assert.deepEqual(warm, cold);

  const other = emulator({
    holder: {
      idType: "0",
      nationalId: "751234567",
      lastName: "KINE",
      firstName: "PAUL",
      profession: "Masseur-Kinésithérapeute",
    },
  });
  channel.insert(other);
  const next = await driver.read(channel);
  assert.equal(next.holder.idType, "ADELI");
  assert.equal(next.holder.idNat, "0751234567");
  assert.equal(next.holder.nationalId, "751234567");
  assert.equal(next.holder.profession, "Masseur-Kinésithérapeute");
  assert.ok(channel.sent.length - before > 10);
});

test("forget(readerId) drops the cache", async () => {
  const driver = new CpsDriver();
  const channel = channelFor(emulator());
  await driver.read(channel);
  const before = channel.sent.length;
  driver.forget(channel.readerId);
  await driver.read(channel);
  assert.ok(channel.sent.length > before);
});

test("a Vitale in the reader is WRONG_CARD without any APDU", async () => {
  const channel = channelFor(emulator());
  channel.atr = Uint8Array.from(Buffer.from("3B751300004509EA9000", "hex"));
  await assert.rejects(new CpsDriver().read(channel), (e) => isPasserelleError(e, "WRONG_CARD"));
  assert.equal(channel.sent.length, 0);
});

test("a CPx ATR without the CPx IAS application is WRONG_CARD", async () => {
  const card = emulator();
  const fake = { atr: card.atr, reset: () => undefined, transmit: () => Uint8Array.of(0x6a, 0x82) };
  const channel = channelFor(card);
  channel.insert(fake as never);
  await assert.rejects(new CpsDriver().read(channel), (e) => isPasserelleError(e, "WRONG_CARD"));
  assert.equal(channel.sent.length, 1);
});

test("a certificate that does not parse is CARD_ERROR with a reason, and nothing personal in details", async () => {
  const channel = channelFor(emulator({ corruptAuthenticationCertificate: true }));
  await assert.rejects(new CpsDriver().read(channel), (e) => {
    assert.ok(isPasserelleError(e, "CARD_ERROR"));
    assert.equal(e.details["step"], "certificate");
    assert.match(String(e.details["problem"]), /authentication certificate does not parse/);
    return true;
  });
});

test("an expired card is read, and says so through notAfter", async () => {
  const result = await new CpsDriver().read(channelFor(emulator({ expired: true })));
  assert.ok(Date.parse(result.certificates.authentication.notAfter) < Date.now());
});

test("a card pulled during the read is CARD_REMOVED and leaves no cache behind", async () => {
  const driver = new CpsDriver();
  const channel = channelFor(emulator());
  channel.removeAt = 5;
  await assert.rejects(driver.read(channel), (e) => isPasserelleError(e, "CARD_REMOVED"));
  channel.insert(emulator());
  const result = await driver.read(channel);
  assert.equal(result.holder.lastName, "MEDECIN-TEST");
});

/** The same card, but it sends no FCP and ends each file with 6282 "end reached" on the last bytes. */
function endOfFileChannel(inner: ReturnType<typeof channelFor>): CardChannel {
  return {
    readerId: inner.readerId,
    atr: inner.atr,
    insertion: inner.insertion,
    control: (code, data) => inner.control(code, data),
    async transmit(command) {
      const response = await inner.transmit(command);
      if (command.ins === 0xa4 && response.sw === 0x9000) return { data: new Uint8Array(), sw: 0x9000 };
      const wanted = command.le === undefined ? 0 : command.le || 256;
      if (command.ins === 0xb0 && response.sw === 0x9000 && response.data.length < wanted) {
        return { data: response.data, sw: 0x6282 };
      }
      return response;
    },
  };
}

test("without FCP sizes, the last bytes that come with 6282 (end of file) are kept", async () => {
  const card = emulator();
  const result = await new CpsDriver().read(endOfFileChannel(channelFor(card)));
  assert.equal(
    new X509Certificate(result.certificates.authentication.pem).raw.equals(
      Buffer.from(card.certificates.authentication.der),
    ),
    true,
  );
  assert.equal(result.holder.lastName, "MEDECIN-TEST");
});

test("a CPS whose ATR the card table does not know is read; its application decides", async () => {
  const card = emulator();
  const channel = channelFor(card);
  channel.atr = Uint8Array.from([0x3b, 0x8f, 0x80, 0x01, 0x80, 0x4f, 0x0c, 0xa0, 0x00]);
  const result = await new CpsDriver().read(channel);
  assert.equal(result.holder.idNat, "899700001234");
});

test("certificate files padded after the DER (as a card allocates them) are cut to the DER length", async () => {
  const card = emulator({ certificatePadding: 300 });
  const result = await new CpsDriver().read(channelFor(card));
  assert.ok(
    new X509Certificate(result.certificates.authentication.pem).raw.equals(
      Buffer.from(card.certificates.authentication.der),
    ),
  );
  assert.ok(
    new X509Certificate(result.certificates.signature.pem).raw.equals(
      Buffer.from(card.certificates.signature.der),
    ),
  );
  assert.equal(result.holder.idNat, "899700001234");
});

test("the real CPS3 PIN counter answer (OpenSC issue #2275, under the ANS middleware) parses: 3 of 3", () => {
  const answer = Uint8Array.from(Buffer.from("7016BF810112A0109A01039B0103A1088C06F3000013FF00", "hex"));
  assert.deepEqual(parsePinCounter(answer), { maximum: 3, remaining: 3 });
});
