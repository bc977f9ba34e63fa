import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash, randomBytes, verify, X509Certificate } from "node:crypto";
import { CpsDriver, createCpsSigner } from "../../../src/cards/cps/index.ts";
import { isPasserelleError } from "../../../src/errors.ts";
import type { CardChannel } from "../../../src/pcsc/apdu.ts";
import type { AssertionSigner } from "../../../src/insi/index.ts";
import { channelFor, emulator } from "./fixtures.ts";

const ORIGIN = "https://app.example";
const PIN = { origin: ORIGIN, pin: "1234", pinFromPage: true } as const;

async function unlocked() {
  const driver = new CpsDriver();
  const card = emulator();
  const channel = channelFor(card);
  await driver.verifyPin(channel, PIN);
  return { driver, card, channel };
}

test("signature key: PSO HASH from the host midstate + PSO CDS verifies against the signature certificate", async () => {
  const { driver, card, channel } = await unlocked();
  const certificate = new X509Certificate(card.certificates.signature.der);
  for (const length of [1, 55, 63, 64, 65, 128, 1000, 64 * 1024 + 3]) {
    const data = randomBytes(length);
    const before = channel.sent.length;
    const signature = await driver.sign(channel, data, "signature", ORIGIN);
    assert.equal(verify("sha256", data, certificate.publicKey, signature), true, `length ${length}`);
    const sent = channel.sent.slice(before).map((c) => c.ins.toString(16) + c.p2.toString(16));
    // SELECT app, MSE SET HT, PSO HASH, MSE SET DST, PSO CDS.
    assert.deepEqual(sent, ["a4c", "22aa", "2aa0", "22b6", "2a9a"]);
    const hash = channel.sent[before + 2]!.data!;
    const hashed = length <= 64 ? 0 : Math.floor((length - 1) / 64) * 64;
    assert.equal(hash[1], hashed === 0 ? 0 : 40, "tag 90 carries the state only when blocks were hashed");
    assert.equal(hash.length, 4 + (hashed === 0 ? 0 : 40) + (length - hashed));
  }
});

test("authentication key: INTERNAL AUTHENTICATE with a SHA-256 DigestInfo", async () => {
  const { driver, card, channel } = await unlocked();
  const data = randomBytes(300);
  const before = channel.sent.length;
  const signature = await driver.sign(channel, data, "authentication", ORIGIN);
  const certificate = new X509Certificate(card.certificates.authentication.der);
  assert.equal(verify("sha256", data, certificate.publicKey, signature), true);
  assert.deepEqual(
    channel.sent.slice(before).map((c) => c.ins),
    [0xa4, 0x22, 0x88],
  );
  const digestInfo = channel.sent.at(-1)!.data!;
  assert.equal(
    Buffer.from(digestInfo).toString("hex"),
    "3031300d060960864801650304020105000420" + createHash("sha256").update(data).digest("hex"),
  );
});

test("signing before the PIN is PIN_REQUIRED and sends nothing to the key", async () => {
  const driver = new CpsDriver();
  const card = emulator();
  await assert.rejects(driver.sign(channelFor(card), randomBytes(10), "signature", ORIGIN), (e) =>
    isPasserelleError(e, "PIN_REQUIRED"),
  );
  assert.equal(card.log.filter((c) => c.ins === 0x2a || c.ins === 0x88).length, 0);
});

test("a card that forgot the PIN (reset by another application) answers 6982: PIN_REQUIRED", async () => {
  const { driver, card, channel } = await unlocked();
  card.reset();
  await assert.rejects(driver.sign(channel, randomBytes(10), "signature", ORIGIN), (e) =>
    isPasserelleError(e, "PIN_REQUIRED"),
  );
  assert.equal((await driver.read(channel)).pin.verified, false);
});

test("a signature that does not verify is CARD_ERROR", async () => {
  const { driver, card, channel } = await unlocked();
  const original = card.transmit.bind(card);
  let afterCds = false;
  card.transmit = (apdu: Uint8Array) => {
    const out = original(apdu);
    // T=0: PSO CDS answers 61 00, the signature comes with the GET RESPONSE that follows.
    if (afterCds && apdu[1] === 0xc0 && out.length > 12) out[10] = out[10]! ^ 0xff;
    afterCds = (apdu[1] === 0x2a && apdu[2] === 0x9e) || (afterCds && apdu[1] === 0xc0);
    return out;
  };
  await assert.rejects(driver.sign(channel, randomBytes(10), "signature", ORIGIN), (e) => {
    assert.ok(isPasserelleError(e, "CARD_ERROR"));
    assert.equal(e.details["step"], "signature check");
    return true;
  });
});

test("card pulled between MSE SET and PSO CDS: CARD_REMOVED, and the next card starts clean", async () => {
  const { driver, channel } = await unlocked();
  channel.removeAt = channel.sent.length + 4; // SELECT, HT, HASH, DST sent; CDS fails
  await assert.rejects(driver.sign(channel, randomBytes(100), "signature", ORIGIN), (e) =>
    isPasserelleError(e, "CARD_REMOVED"),
  );
  const other = emulator({
    holder: {
      idType: "8",
      nationalId: "99700009999",
      lastName: "AUTRE",
      firstName: "JEANNE",
      profession: "Pharmacien",
    },
  });
  channel.insert(other);
  const read = await driver.read(channel);
  assert.equal(read.holder.lastName, "AUTRE");
  assert.deepEqual(read.pin, { verified: false, triesRemaining: 3 });
  await assert.rejects(driver.sign(channel, randomBytes(10), "signature", ORIGIN), (e) =>
    isPasserelleError(e, "PIN_REQUIRED"),
  );
});

test("createCpsSigner verifies the PIN first, then signs with the signature key", async () => {
  const card = emulator();
  const channel = channelFor(card);
  const driver = new CpsDriver();
  const transactions: string[] = [];
  const signer: AssertionSigner = createCpsSigner({
    origin: ORIGIN,
    driver,
    pin: PIN,
    withCard: async <T>(operation: (c: CardChannel) => Promise<T>) => {
      transactions.push("begin");
      return operation(channel);
    },
  });
  const pem = await signer.signatureCertificatePem();
  assert.equal(new X509Certificate(pem).raw.equals(Buffer.from(card.certificates.signature.der)), true);
  const data = new TextEncoder().encode("<ds:SignedInfo>…</ds:SignedInfo>");
  const signature = await signer.sign(data);
  assert.equal(verify("sha256", data, new X509Certificate(pem).publicKey, signature), true);
  assert.equal(card.log.filter((c) => c.ins === 0x20).length, 1);
  assert.deepEqual(transactions, ["begin", "begin"]);
});

test("createCpsSigner without a PIN route surfaces PIN_REQUIRED", async () => {
  const channel = channelFor(emulator());
  const signer = createCpsSigner({
    origin: ORIGIN,
    driver: new CpsDriver(),
    withCard: (operation) => operation(channel),
  });
  await assert.rejects(signer.sign(Uint8Array.of(1)), (e) => isPasserelleError(e, "PIN_REQUIRED"));
});

test("a PIN entered for one origin does not let another origin sign", async () => {
  const { driver, channel } = await unlocked();
  await assert.rejects(driver.sign(channel, randomBytes(10), "signature", "https://other.example"), (e) =>
    isPasserelleError(e, "PIN_REQUIRED"),
  );
  // Its own PIN entry unlocks it; the first origin keeps its right.
  await driver.verifyPin(channel, { ...PIN, origin: "https://other.example" });
  assert.ok(await driver.sign(channel, randomBytes(10), "signature", "https://other.example"));
  assert.ok(await driver.sign(channel, randomBytes(10), "signature", ORIGIN));
});

test("a wrong PIN takes the right to sign from every origin", async () => {
  const { driver, channel } = await unlocked();
  await assert.rejects(
    driver.verifyPin(channel, { ...PIN, origin: "https://other.example", pin: "9999" }),
    (e) => isPasserelleError(e, "PIN_INCORRECT"),
  );
  await assert.rejects(driver.sign(channel, randomBytes(10), "signature", ORIGIN), (e) =>
    isPasserelleError(e, "PIN_REQUIRED"),
  );
});

test("a card that lost its PIN state (reset by another application) is no longer reported verified", async () => {
  const { driver, card, channel } = await unlocked();
  assert.equal((await driver.read(channel)).pin.verified, true);
  card.reset(); // same insertion, but the card's security state is gone
  await assert.rejects(driver.sign(channel, randomBytes(10), "signature", ORIGIN), (e) =>
    isPasserelleError(e, "PIN_REQUIRED"),
  );
  assert.equal((await driver.read(channel)).pin.verified, false);
});
