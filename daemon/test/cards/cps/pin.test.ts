import { test } from "node:test";
import assert from "node:assert/strict";
import {
  buildPinBlock,
  buildPinVerifyStructure,
  choosePinRoute,
  CpsDriver,
  parseFeatures,
  PinFormatError,
  scardCtlCode,
  type PinPrompt,
} from "../../../src/cards/cps/index.ts";
import { isPasserelleError } from "../../../src/errors.ts";
import { errorFromThrown } from "../../../src/server/rpc.ts";
import { channelFor, emulator } from "./fixtures.ts";
import type { EmulatorChannel } from "./emulator-channel.ts";
import type { Cps3Emulator } from "../../../src/simulator/cards/cps3/emulator.ts";

const ORIGIN = "https://app.example";
const page = (pin: string, extra: object = {}) => ({ origin: ORIGIN, pin, pinFromPage: true, ...extra });
const verifies = (card: Cps3Emulator): number => card.log.filter((c) => c.ins === 0x20).length;
const AODF_PIN = {
  label: "PIN",
  reference: 1,
  minLength: 4,
  maxLength: 8,
  storedLength: 8,
  type: 1,
  padChar: 0xff,
  needsPadding: true,
};

test("a correct PIN from an allowed page verifies; the next read says verified with no APDU", async () => {
  const driver = new CpsDriver();
  const card = emulator({ pin: "4321" });
  const channel = channelFor(card);
  assert.deepEqual(await driver.verifyPin(channel, page("4321")), { verified: true, triesRemaining: 3 });
  const before = channel.sent.length;
  const read = await driver.read(channel);
  assert.deepEqual(read.pin, { verified: true, triesRemaining: 3 });
  assert.equal(channel.sent.length, before);
});

const promptTyping = (pin: string): PinPrompt => ({ ask: async () => pin });
const viaPrompt = (pin: string, extra: object = {}) => ({
  origin: ORIGIN,
  pinFromPage: false,
  prompt: promptTyping(pin),
  usePinPad: false,
  ...extra,
});

test("wrong PINs: PIN_INCORRECT with the counter going down, PIN_LAST_TRY, then PIN_BLOCKED", async () => {
  const driver = new CpsDriver();
  const card = emulator();
  const channel = channelFor(card);
  for (const expected of [2, 1]) {
    await assert.rejects(driver.verifyPin(channel, page("0000")), (e) => {
      assert.ok(isPasserelleError(e, "PIN_INCORRECT"));
      assert.equal(e.details["triesRemaining"], expected);
      return true;
    });
  }
  const sent = verifies(card);
  await assert.rejects(driver.verifyPin(channel, viaPrompt("1234")), (e) =>
    isPasserelleError(e, "PIN_LAST_TRY"),
  );
  assert.equal(verifies(card), sent, "no VERIFY on the last try without confirmLastTry");
  await assert.rejects(driver.verifyPin(channel, viaPrompt("9999", { confirmLastTry: true })), (e) =>
    isPasserelleError(e, "PIN_BLOCKED"),
  );
  assert.equal(card.triesRemaining, 0);
  const blockedAt = verifies(card);
  await assert.rejects(driver.verifyPin(channel, page("1234", { confirmLastTry: true })), (e) =>
    isPasserelleError(e, "PIN_BLOCKED"),
  );
  assert.equal(verifies(card), blockedAt, "no VERIFY on a blocked card");
});

test("a page allowed to send PINs cannot spend the last try, even with confirmLastTry", async () => {
  const driver = new CpsDriver();
  const card = emulator();
  const channel = channelFor(card);
  // Three wrong PINs from the page, as a hostile script in an allowed origin would send them.
  const reasons: string[] = [];
  for (let i = 0; i < 3; i++) {
    await driver.verifyPin(channel, page("0000", { confirmLastTry: true })).catch((e: unknown) => {
      reasons.push(isPasserelleError(e) ? e.reason : String(e));
      if (isPasserelleError(e, "PIN_LAST_TRY")) assert.equal(e.details["route"], "page");
    });
  }
  assert.deepEqual(reasons, ["PIN_INCORRECT", "PIN_INCORRECT", "PIN_LAST_TRY"]);
  assert.equal(card.triesRemaining, 1, "the card is not blocked");
  assert.equal(verifies(card), 2, "no VERIFY was sent for the third call");
  // The user can still spend it where the daemon warns them.
  const result = await driver.verifyPin(channel, viaPrompt("1234", { confirmLastTry: true }));
  assert.deepEqual(result, { verified: true, triesRemaining: 3 });
});

test("confirmLastTry with the right PIN on the PIN page succeeds and the counter is back to 3", async () => {
  const card = emulator({ triesRemaining: 1 });
  const result = await new CpsDriver().verifyPin(
    channelFor(card),
    viaPrompt("1234", { confirmLastTry: true }),
  );
  assert.deepEqual(result, { verified: true, triesRemaining: 3 });
});

test("a blocked card is PIN_BLOCKED and no VERIFY is sent", async () => {
  const card = emulator({ triesRemaining: 0 });
  await assert.rejects(new CpsDriver().verifyPin(channelFor(card), page("1234")), (e) =>
    isPasserelleError(e, "PIN_BLOCKED"),
  );
  assert.equal(verifies(card), 0);
});

test("a PIN that is not 4-8 digits is refused before touching the card", async () => {
  for (const bad of ["123", "123456789", "12a4", " 1234", ""]) {
    const channel = channelFor(emulator());
    await assert.rejects(new CpsDriver().verifyPin(channel, page(bad)), PinFormatError);
    assert.equal(channel.sent.length, 0);
  }
});

test("a page PIN from an origin the policy does not allow is refused before touching the card", async () => {
  const card = emulator();
  const channel = channelFor(card);
  await assert.rejects(
    new CpsDriver().verifyPin(channel, { origin: ORIGIN, pin: "1234", pinFromPage: false }),
    (e) => isPasserelleError(e, "PIN_ENTRY_UNAVAILABLE"),
  );
  assert.equal(channel.sent.length, 0);
  await assert.rejects(
    new CpsDriver().verifyPin(channelFor(card), { origin: ORIGIN, pin: "1234", pinFromPage: false }),
    (e) => isPasserelleError(e, "PIN_ENTRY_UNAVAILABLE"),
  );
  assert.equal(verifies(card), 0);
});

test("no PIN pad: the daemon's PIN page is asked with the tries left", async () => {
  const asked: unknown[] = [];
  const prompt: PinPrompt = {
    ask: async (request) => {
      asked.push(request);
      return "1234";
    },
  };
  const channel = channelFor(emulator());
  const result = await new CpsDriver().verifyPin(channel, { origin: ORIGIN, pinFromPage: false, prompt });
  assert.equal(result.verified, true);
  assert.deepEqual(asked, [{ origin: ORIGIN, readerId: channel.readerId, triesRemaining: 3 }]);
  assert.equal(channel.controls.length, 1, "the PIN pad was probed first");
});

test("no PIN pad and no PIN page: PIN_ENTRY_UNAVAILABLE", async () => {
  const card = emulator();
  await assert.rejects(
    new CpsDriver().verifyPin(channelFor(card), { origin: ORIGIN, pinFromPage: true }),
    (e) => isPasserelleError(e, "PIN_ENTRY_UNAVAILABLE"),
  );
  assert.equal(verifies(card), 0);
});

test("the PIN page being cancelled surfaces as is, with no VERIFY", async () => {
  const card = emulator();
  const { PasserelleError } = await import("../../../src/errors.ts");
  const prompt: PinPrompt = { ask: async () => Promise.reject(new PasserelleError("USER_CANCELLED")) };
  await assert.rejects(
    new CpsDriver().verifyPin(channelFor(card), { origin: ORIGIN, pinFromPage: false, prompt }),
    (e) => isPasserelleError(e, "USER_CANCELLED"),
  );
  assert.equal(verifies(card), 0);
});

/** A fake PIN pad reader: answers GET_FEATURE_REQUEST and "types" a PIN into the structure's APDU. */
function pinPad(channel: EmulatorChannel, card: Cps3Emulator, typed: string, answer?: Uint8Array) {
  const verifyCode = 0x42330006;
  const seen: Uint8Array[] = [];
  channel.controlHandler = async (code, data) => {
    if (code === scardCtlCode(3400)) return Uint8Array.of(0x06, 0x04, 0x42, 0x33, 0x00, 0x06);
    assert.equal(code, verifyCode);
    seen.push(Uint8Array.from(data));
    if (answer) return answer;
    const apdu = Uint8Array.from(data.subarray(19));
    for (let i = 0; i < typed.length; i++) apdu[5 + i] = typed.charCodeAt(i);
    return card.transmit(apdu);
  };
  return seen;
}

test("a PIN pad is preferred when the page sends no PIN, and the PIN never crosses the host", async () => {
  const card = emulator();
  const channel = channelFor(card);
  const seen = pinPad(channel, card, "1234");
  let asked = false;
  const prompt: PinPrompt = {
    ask: async () => {
      asked = true;
      return "1234";
    },
  };
  const result = await new CpsDriver().verifyPin(channel, { origin: ORIGIN, pinFromPage: false, prompt });
  assert.equal(result.verified, true);
  assert.equal(asked, false);
  assert.equal(seen.length, 1);
  assert.deepEqual(
    Buffer.from(seen[0]!).toString("hex"),
    Buffer.from(buildPinVerifyStructure(AODF_PIN)).toString("hex"),
  );
  assert.equal(channel.sent.filter((c) => c.ins === 0x20).length, 0, "no VERIFY through transmit");
});

test("a wrong PIN on the PIN pad is PIN_INCORRECT; timeout and cancel map to TIMEOUT / USER_CANCELLED", async () => {
  const card = emulator();
  const channel = channelFor(card);
  pinPad(channel, card, "9999");
  await assert.rejects(new CpsDriver().verifyPin(channel, { origin: ORIGIN, pinFromPage: false }), (e) =>
    isPasserelleError(e, "PIN_INCORRECT"),
  );
  pinPad(channel, card, "", Uint8Array.of(0x64, 0x00));
  await assert.rejects(new CpsDriver().verifyPin(channel, { origin: ORIGIN, pinFromPage: false }), (e) =>
    isPasserelleError(e, "TIMEOUT"),
  );
  pinPad(channel, card, "", Uint8Array.of(0x64, 0x01));
  await assert.rejects(new CpsDriver().verifyPin(channel, { origin: ORIGIN, pinFromPage: false }), (e) =>
    isPasserelleError(e, "USER_CANCELLED"),
  );
});

test("PIN_VERIFY_STRUCTURE bytes (PC/SC v2 part 10 §2.5.2) for an 8-byte ASCII block padded with FF", () => {
  assert.equal(
    Buffer.from(buildPinVerifyStructure(AODF_PIN)).toString("hex").toUpperCase(),
    [
      "1E", // bTimerOut 30 s
      "1E", // bTimerOut2
      "82", // bmFormatString: byte units, position 0, left, ASCII
      "08", // bmPINBlockString: no length field, 8-byte block
      "00", // bmPINLengthFormat
      "0804", // wPINMaxExtraDigit: min 4, max 8 (LE)
      "02", // bEntryValidationCondition: OK key
      "01", // bNumberMessage
      "0C04", // wLangId 0x040C (LE)
      "00", // bMsgIndex
      "000000", // bTeoPrologue
      "0D000000", // ulDataLength 13 (LE)
      "0020000108FFFFFFFFFFFFFFFF", // VERIFY template
    ].join(""),
  );
});

test("GET_FEATURE_REQUEST answers parse into a feature → control code map", () => {
  const features = parseFeatures(Uint8Array.from(Buffer.from("060442330006070442330007120442330012", "hex")));
  assert.equal(features.get(0x06), 0x42330006);
  assert.equal(features.get(0x07), 0x42330007);
  assert.equal(features.get(0x12), 0x42330012);
  assert.equal(parseFeatures(Uint8Array.of(0x06, 0x02, 0x00)).size, 0);
});

test("SCARD_CTL_CODE(3400) per platform", () => {
  assert.equal(scardCtlCode(3400, "linux"), 0x42000d48);
  assert.equal(scardCtlCode(3400, "darwin"), 0x42000d48);
  assert.equal(scardCtlCode(3400, "win32"), 0x00313520);
});

test("PIN blocks: ASCII padded to the stored length, BCD packed", () => {
  assert.equal(Buffer.from(buildPinBlock("1234", AODF_PIN)).toString("hex"), "31323334ffffffff");
  assert.equal(
    Buffer.from(buildPinBlock("12345", { ...AODF_PIN, type: 0, storedLength: 4 })).toString("hex"),
    "12345fff",
  );
  assert.throws(() => buildPinBlock("12", AODF_PIN), PinFormatError);
});

test("route choice: page only when allowed, then PIN pad, then the PIN page", () => {
  assert.equal(choosePinRoute({ pagePin: true, pinFromPage: true, pinPad: true, prompt: true }), "page");
  assert.equal(choosePinRoute({ pagePin: false, pinFromPage: true, pinPad: true, prompt: true }), "pinpad");
  assert.equal(choosePinRoute({ pagePin: false, pinFromPage: false, pinPad: false, prompt: true }), "prompt");
  assert.throws(
    () => choosePinRoute({ pagePin: true, pinFromPage: false, pinPad: true, prompt: true }),
    (e) => isPasserelleError(e, "PIN_ENTRY_UNAVAILABLE"),
  );
  assert.throws(
    () => choosePinRoute({ pagePin: false, pinFromPage: true, pinPad: false, prompt: false }),
    (e) => isPasserelleError(e, "PIN_ENTRY_UNAVAILABLE"),
  );
});

test("a page PIN the card's AODF does not allow (6 to 8 digits here) is invalid params, not an internal error, and no VERIFY is sent", async () => {
  const card = emulator();
  const channel = channelFor(card);
  // The emulated AODF says min 4, stored 8, max 8 (INTEGERs 02 01 xx): make it a 6-digit-minimum card.
  const original = channel.transmit.bind(channel);
  channel.transmit = async (command) => {
    const response = await original(command);
    const text = Buffer.from(response.data).toString("hex");
    const patched = text.replace("020104020108020108", "020106020108020108");
    return patched === text ? response : { ...response, data: Uint8Array.from(Buffer.from(patched, "hex")) };
  };
  await assert.rejects(new CpsDriver().verifyPin(channel, page("1234")), (error) => {
    assert.ok(error instanceof PinFormatError);
    const { error: sent, internal } = errorFromThrown(error);
    assert.equal(internal, false);
    assert.equal(sent.code, -32602);
    assert.deepEqual(sent.data, {
      issues: [{ path: "pin", message: "this card takes a PIN of 6 to 8 digits" }],
    });
    return true;
  });
  assert.equal(verifies(card), 0);
});

test("the PIN block sent in VERIFY is wiped once the card has answered, right or wrong", async () => {
  for (const pin of ["1234", "9999"]) {
    const card = emulator();
    const channel = channelFor(card);
    await new CpsDriver().verifyPin(channel, page(pin)).catch(() => undefined);
    const verify = channel.sent.find((command) => command.ins === 0x20 && command.data !== undefined);
    assert.ok(verify?.data && verify.data.length === 8, "a VERIFY with an 8-byte block was sent");
    assert.deepEqual(
      [...verify.data],
      new Array(8).fill(0),
      `the block of ${pin === "1234" ? "the right" : "a wrong"} PIN is zeroed`,
    );
  }
});

test("the PIN block follows the AODF's needs-padding flag: padded to the stored length, or the digits alone", () => {
  assert.equal(Buffer.from(buildPinBlock("1234", AODF_PIN)).toString("hex"), "31323334ffffffff");
  assert.equal(
    Buffer.from(buildPinBlock("1234", { ...AODF_PIN, needsPadding: false })).toString("hex"),
    "31323334",
  );
});

test("a card whose AODF says no padding gets the 4 digits alone and verifies; no try is lost", async () => {
  const driver = new CpsDriver();
  const card = emulator({ pin: "2468", pinPadding: false });
  const channel = channelFor(card);
  assert.deepEqual(await driver.verifyPin(channel, page("2468")), { verified: true, triesRemaining: 3 });
  const verify = channel.sent.find((c) => c.ins === 0x20)!;
  assert.equal(verify.data?.length, 4, "no FF padding sent");
  assert.equal(card.triesRemaining, 3);
  // What the old always-padded block would have cost on such a card: a real try.
  card.transmit(Uint8Array.from(Buffer.from("002000010832343638FFFFFFFF", "hex")));
  assert.equal(card.triesRemaining, 2);
});
