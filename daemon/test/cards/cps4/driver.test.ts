/**
 * The CPS4 driver through the daemon's real PC/SC layer (createReaders → CardSession: GET RESPONSE,
 * chaining) over the in-process virtual backend, on the emulated CPS4, reached through the CPx
 * surface (cards/cpx/) exactly as the server reaches it.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash, X509Certificate, verify } from "node:crypto";
import { createReaders, type Readers } from "../../../src/pcsc/index.ts";
import {
  VirtualPcsc,
  VIRTUAL_READER_NAMES,
  type VirtualControl,
} from "../../../src/simulator/virtual-pcsc.ts";
import { Cps4Emulator, type Cps4Options } from "../../../src/simulator/cards/cps4/index.ts";
import type { Cps3Emulator } from "../../../src/simulator/cards/cps3/index.ts";
import { createTestPki, generateRsaKeyPair } from "../../../src/simulator/pki/test-pki.ts";
import {
  cpsGenerationOf,
  createCpsSigner,
  driverFor,
  forgetCps,
  readCps,
  signWithCps,
  verifyCpsPin,
} from "../../../src/cards/cpx/index.ts";
import { Cps4Driver } from "../../../src/cards/cps4/index.ts";
import { PinFormatError, scardCtlCode, type PinPrompt } from "../../../src/cards/cps/index.ts";
import { isPasserelleError } from "../../../src/errors.ts";
import { cardInfo } from "../../../src/server/views.ts";
import type { CardChannel } from "../../../src/pcsc/apdu.ts";

const [SLOT0] = VIRTUAL_READER_NAMES;
const ORIGIN = "https://app.example";
const pki = createTestPki();
const keys = { authentication: generateRsaKeyPair(), signature: generateRsaKeyPair() };
const cps4 = (options: Cps4Options = {}) => new Cps4Emulator({ pki, keys, ...options });
const page = (pin: string, extra: object = {}) => ({ origin: ORIGIN, pin, pinFromPage: true, ...extra });

async function cardSeen(readers: Readers, readerId: string, present: boolean): Promise<void> {
  for (let i = 0; i < 200; i += 1) {
    if (readers.list().some((reader) => reader.id === readerId && reader.cardPresent === present)) return;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error(`reader ${readerId} never showed cardPresent=${present}`);
}

async function withCard<T>(
  card: Cps4Emulator | Cps3Emulator,
  run: (use: <R>(op: (channel: CardChannel) => Promise<R>) => Promise<R>) => Promise<T>,
  control?: VirtualControl,
): Promise<T> {
  const pcsc = new VirtualPcsc([]);
  pcsc.addReader(SLOT0!, control ? { control } : {});
  const readers = await createReaders({ backend: pcsc });
  try {
    pcsc.insert(SLOT0!, card);
    await cardSeen(readers, SLOT0!, true);
    return await run((op) => readers.withCard(SLOT0!, op));
  } finally {
    forgetCps(SLOT0!);
    await readers.close();
  }
}

test("the CPx surface routes the CPS4 ATRs to the CPS4 driver, the CPS3's to the CPS3 driver", () => {
  for (const atr of [
    "3B9B188001001225006480040100009044",
    "3B9B188001001225006480000401009044",
    "3BDC18FF00001225006480000401009000",
  ]) {
    const bytes = Uint8Array.from(Buffer.from(atr, "hex"));
    assert.equal(cpsGenerationOf(bytes), "cps4", atr);
    assert.ok(driverFor({ atr: bytes } as CardChannel) instanceof Cps4Driver, atr);
  }
  const cps3 = Uint8Array.from(Buffer.from("3BAC00402A001225006480000310009000", "hex"));
  assert.equal(cpsGenerationOf(cps3), "cps3");
  assert.ok(!(driverFor({ atr: cps3 } as CardChannel) instanceof Cps4Driver));
  // card.inserted / readers.list say it too.
  assert.deepEqual(cardInfo(Uint8Array.from(Buffer.from("3B9B188001001225006480040100009044", "hex"))), {
    type: "cps",
    atr: "3B9B188001001225006480040100009044",
    generation: "cps4",
  });
  assert.equal(cardInfo(cps3).generation, "cps3");
  // A Vitale, an unknown card: no generation.
  assert.equal(cpsGenerationOf(Uint8Array.from(Buffer.from("3B751300004009EA9000", "hex"))), undefined);
  assert.equal(cpsGenerationOf(Uint8Array.of(0x3b, 0x00)), undefined);
});

test("cold read: holder and both certificates as the card holds them, counter from VERIFY, all on channel 1; warm: 0 APDUs", async () => {
  const card = cps4();
  await withCard(card, async (use) => {
    const result = await use((channel) => readCps(channel));
    assert.equal(result.generation, "cps4");
    assert.deepEqual(result.holder, {
      idNat: "899700004321",
      idType: "RPPS",
      nationalId: "99700004321",
      lastName: "INFIRMIER-TEST",
      firstName: "JEANNE",
      profession: "Infirmier",
    });
    const der = (pem: string) => new Uint8Array(new X509Certificate(pem).raw);
    assert.deepEqual(der(result.certificates.authentication.pem), card.certificates.authentication.der);
    assert.deepEqual(der(result.certificates.signature.pem), card.certificates.signature.der);
    assert.deepEqual(result.pin, { verified: false, triesRemaining: 3 });
    assert.ok(
      card.log.every((f) => (f.cla & 0x03) === 0x01),
      "every command on logical channel 1",
    );
    assert.ok(!card.log.some((f) => f.ins === 0x20 && f.lc > 0), "no VERIFY with data during a read");
    const cold = card.log.length;
    await use((channel) => readCps(channel));
    assert.equal(card.log.length, cold, "warm read sends no APDU");
  });
});

test("verifyPin: a page PIN verifies; wrong PINs count down, PIN_LAST_TRY, then PIN_BLOCKED with no VERIFY", async () => {
  const card = cps4();
  await withCard(card, async (use) => {
    assert.deepEqual(await use((c) => verifyCpsPin(c, page("1234"))), { verified: true, triesRemaining: 3 });
    assert.deepEqual((await use((c) => readCps(c))).pin, { verified: true, triesRemaining: 3 });
    await assert.rejects(
      use((c) => verifyCpsPin(c, page("0000"))),
      (e) => isPasserelleError(e, "PIN_INCORRECT") && e.details["triesRemaining"] === 2,
    );
    await assert.rejects(
      use((c) => verifyCpsPin(c, page("0000"))),
      (e) => isPasserelleError(e, "PIN_INCORRECT") && e.details["triesRemaining"] === 1,
    );
    await assert.rejects(
      use((c) => verifyCpsPin(c, page("0000"))),
      (e) => isPasserelleError(e, "PIN_LAST_TRY"),
    );
    // The last try is never spent on a page's PIN, even flagged: only the PIN pad or the PIN page.
    await assert.rejects(
      use((c) => verifyCpsPin(c, page("0000", { confirmLastTry: true }))),
      (e) => isPasserelleError(e, "PIN_LAST_TRY") && e.details["route"] === "page",
    );
    const wrongOnLastTry: PinPrompt = { ask: async () => "0000" };
    await assert.rejects(
      use((c) =>
        verifyCpsPin(c, { origin: ORIGIN, pinFromPage: false, prompt: wrongOnLastTry, confirmLastTry: true }),
      ),
      (e) => isPasserelleError(e, "PIN_BLOCKED"),
    );
    const verifiesWithData = card.log.filter((f) => f.ins === 0x20 && f.lc > 0).length;
    await assert.rejects(
      use((c) => verifyCpsPin(c, page("1234", { confirmLastTry: true }))),
      (e) => isPasserelleError(e, "PIN_BLOCKED"),
    );
    assert.equal(
      card.log.filter((f) => f.ins === 0x20 && f.lc > 0).length,
      verifiesWithData,
      "no VERIFY on a blocked PIN",
    );
    // A malformed page PIN is refused before any APDU.
    const before = card.log.length;
    await assert.rejects(
      use((c) => verifyCpsPin(c, page("12a4"))),
      (e) => e instanceof PinFormatError,
    );
    assert.equal(card.log.length, before);
  });
});

test("verifyPin through the daemon's PIN page and through a PIN pad whose VERIFY template has CLA 01", async () => {
  const card = cps4();
  const prompt: PinPrompt = { ask: async () => "1234" };
  await withCard(card, async (use) => {
    assert.equal(
      (await use((c) => verifyCpsPin(c, { origin: ORIGIN, pinFromPage: false, prompt }))).verified,
      true,
    );
  });
  const padCard = cps4();
  const seen: Uint8Array[] = [];
  const verifyCode = 0x42330006;
  const control: VirtualControl = (code, data) => {
    if (code === scardCtlCode(3400)) return Uint8Array.of(0x06, 0x04, 0x42, 0x33, 0x00, 0x06);
    assert.equal(code, verifyCode);
    seen.push(Uint8Array.from(data));
    const apdu = Uint8Array.from(data.subarray(19));
    for (let i = 0; i < 4; i++) apdu[5 + i] = "1234".charCodeAt(i);
    return padCard.transmit(apdu);
  };
  await withCard(
    padCard,
    async (use) => {
      const result = await use((c) => verifyCpsPin(c, { origin: ORIGIN, pinFromPage: false }));
      assert.equal(result.verified, true);
    },
    control,
  );
  assert.equal(seen.length, 1);
  assert.deepEqual(
    [...seen[0]!.subarray(19, 24)],
    [0x01, 0x20, 0x00, 0x81, 0x08],
    "VERIFY template on channel 1",
  );
});

test("signature key: MSE 81 B6 + PSO CDS over the SHA-256; authentication key: MSE 41 B8 + chained PSO DECIPHER; both verify", async () => {
  const card = cps4();
  const data = new TextEncoder().encode("<saml:Assertion>…</saml:Assertion>");
  await withCard(card, async (use) => {
    await assert.rejects(
      use((c) => signWithCps(c, data, "signature", ORIGIN)),
      (e) => isPasserelleError(e, "PIN_REQUIRED"),
    );
    await use((c) => verifyCpsPin(c, page("1234")));
    // Another origin never signs on this origin's PIN entry.
    await assert.rejects(
      use((c) => signWithCps(c, data, "signature", "https://other.example")),
      (e) => isPasserelleError(e, "PIN_REQUIRED"),
    );
    card.log.length = 0;
    const signature = await use((c) => signWithCps(c, data, "signature", ORIGIN));
    assert.ok(verify("sha256", data, keys.signature.publicKey, signature));
    assert.ok(card.log.some((f) => f.ins === 0x22 && f.p1 === 0x81 && f.p2 === 0xb6));
    assert.ok(card.log.some((f) => f.ins === 0x2a && f.p1 === 0x9e && f.p2 === 0x9a && f.lc === 32));
    card.log.length = 0;
    const authentication = await use((c) => signWithCps(c, data, "authentication", ORIGIN));
    assert.ok(verify("sha256", data, keys.authentication.publicKey, authentication));
    assert.ok(card.log.some((f) => f.ins === 0x22 && f.p1 === 0x41 && f.p2 === 0xb8));
    assert.ok(card.log.some((f) => f.cla === 0x11 && f.ins === 0x2a && f.p1 === 0x80 && f.p2 === 0x86));
    assert.ok(!card.log.some((f) => f.ins === 0x88), "no INTERNAL AUTHENTICATE");
    assert.equal(createHash("sha256").update(authentication).digest().length, 32);
  });
});

test("the INSi signer over the CPx surface: PIN asked once through the page, then signatures with the CPS4", async () => {
  const card = cps4();
  await withCard(card, async (use) => {
    let asked = 0;
    const signer = createCpsSigner({
      origin: ORIGIN,
      withCard: use,
      pin: {
        origin: ORIGIN,
        pinFromPage: false,
        prompt: { ask: async () => (asked++, "1234") },
        usePinPad: false,
      },
    });
    const pem = await signer.signatureCertificatePem();
    assert.deepEqual(new Uint8Array(new X509Certificate(pem).raw), card.certificates.signature.der);
    const first = await signer.sign(Uint8Array.of(1, 2, 3));
    await signer.sign(Uint8Array.of(4, 5, 6));
    assert.equal(asked, 1);
    assert.ok(verify("sha256", Uint8Array.of(1, 2, 3), keys.signature.publicKey, first));
  });
});

test("a card reset closes channel 1: the next operation selects the applet again; the card's PIN state is lost", async () => {
  const card = cps4();
  await withCard(card, async (use) => {
    await use((c) => verifyCpsPin(c, page("1234")));
    card.reset();
    await assert.rejects(
      use((c) => signWithCps(c, Uint8Array.of(1), "signature", ORIGIN)),
      (e) => isPasserelleError(e, "PIN_REQUIRED"),
    );
    await use((c) => verifyCpsPin(c, page("1234")));
    const signature = await use((c) => signWithCps(c, Uint8Array.of(1), "signature", ORIGIN));
    assert.ok(verify("sha256", Uint8Array.of(1), keys.signature.publicKey, signature));
  });
});

test("a CPS4 ATR on a card without the ChipDoc applet: WRONG_CARD", async () => {
  // A card with a CPS4 ATR that knows no ChipDoc applet.
  const fake = { atr: cps4().atr, transmit: () => Uint8Array.of(0x6a, 0x82), reset: () => undefined };
  await withCard(fake as unknown as Cps4Emulator, async (use) => {
    await assert.rejects(
      use((c) => readCps(c)),
      (e) => isPasserelleError(e, "WRONG_CARD"),
    );
  });
});
