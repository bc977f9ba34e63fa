/**
 * The CPS through the real PC/SC stack: the emulated CPS3 plugged into pcscd's virtual reader (vpcd)
 * by the bridge, judged by OpenSC (a tool nobody here wrote), then read, unlocked and used to sign by
 * the daemon's driver over the koffi binding and CardSession.
 * Needs root and pcscd + vsmartcard-vpcd + opensc; holds the lab lock throughout.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { createHash, randomBytes, verify, X509Certificate } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { acquirePcscd, type PcscdLab } from "../helpers/pcscd.ts";
import { createReaders, type Readers } from "../../daemon/src/pcsc/index.ts";
import { createSystemBackend } from "../../daemon/src/pcsc/binding/koffi-backend.ts";
import { VpcdBridge } from "../../daemon/src/simulator/vpcd-bridge.ts";
import type { CardEmulator } from "../../daemon/src/simulator/card-emulator.ts";
import { Cps3Emulator } from "../../daemon/src/simulator/cards/cps3/emulator.ts";
import { CpsDriver } from "../../daemon/src/cards/cps/index.ts";
import { isPasserelleError } from "../../daemon/src/errors.ts";
import { CpsReadResult } from "@passerelle/protocol";
import { waitForCard } from "../helpers/vpcd-slots.ts";

const SLOT = 1;
const PKCS11_MODULE = ["/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so", "/usr/lib/opensc-pkcs11.so"].find((p) =>
  existsSync(p),
);

let lab: PcscdLab;
let readers: Readers;
const bridges = new Set<VpcdBridge>();

before(async () => {
  lab = await acquirePcscd();
  readers = await createReaders({ backend: createSystemBackend() });
});

after(async () => {
  for (const bridge of bridges) await bridge.close();
  await readers?.close();
  await lab?.release();
});

async function insert(emulator: CardEmulator): Promise<{ readerId: string; bridge: VpcdBridge }> {
  for (const bridge of bridges) await bridge.close();
  bridges.clear();
  await waitForCard(readers, SLOT, false);
  const bridge = new VpcdBridge({ emulator, slot: SLOT, reconnect: false });
  bridges.add(bridge);
  await bridge.start();
  return { readerId: await waitForCard(readers, SLOT, true), bridge };
}

/** Runs an OpenSC tool without blocking the event loop (the bridge must keep answering pcscd). */
function run(
  tool: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(
      tool,
      args,
      { env: { ...process.env, ...env }, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        resolve({
          code: error ? Number((error as { code?: number }).code ?? 1) : 0,
          out: `${stdout}${stderr}`,
        });
      },
    );
  });
}

/** opensc-tool's reader number for our vpcd slot. */
async function openscReaderIndex(readerName: string): Promise<string> {
  const { out } = await run("opensc-tool", ["--list-readers"]);
  const line = out.split("\n").find((l) => l.trimEnd().endsWith(readerName));
  const index = line?.trim().split(/\s+/)[0];
  assert.ok(index !== undefined && /^\d+$/.test(index), `reader ${readerName} in:\n${out}`);
  return index;
}

test("OpenSC recognises the emulated card as 'IAS/ECC CPx' and lists both certificates", async () => {
  const card = new Cps3Emulator();
  const { readerId } = await insert(card);
  const name = readers.list().find((r) => r.id === readerId)!.name;
  const index = await openscReaderIndex(name);

  // The ATR match is only visible in OpenSC's debug log: the card->name stays the driver's "IAS-ECC".
  const named = await run("opensc-tool", ["--reader", index, "--name"], { OPENSC_DEBUG: "9" });
  assert.equal(named.code, 0, named.out.slice(-2000));
  assert.match(named.out, /'IAS\/ECC CPx' card matched/);
  assert.match(named.out, /iasecc_init_cpx/);
  assert.doesNotMatch(named.out, /Parse EF\.ATR.*returned error|ACLs tag missing/);

  const listed = await run("pkcs15-tool", ["--reader", index, "--list-certificates"]);
  assert.equal(listed.code, 0, listed.out);
  assert.match(listed.out, /X\.509 Certificate \[Certificat d'authentification CPS\][\s\S]*ID\s+: 01/);
  assert.match(listed.out, /X\.509 Certificate \[Certificat de signature CPS\][\s\S]*ID\s+: 02/);

  // Both certificates as OpenSC reads them are the card's, byte for byte; check their subjects.
  for (const [id, issued] of [
    ["01", card.certificates.authentication],
    ["02", card.certificates.signature],
  ] as const) {
    const read = await run("pkcs15-tool", ["--reader", index, "--read-certificate", id]);
    assert.equal(read.code, 0, read.out);
    const pem = read.out.slice(read.out.indexOf("-----BEGIN CERTIFICATE-----"));
    const certificate = new X509Certificate(pem);
    assert.ok(certificate.raw.equals(Buffer.from(issued.der)), `certificate ${id}`);
    assert.match(certificate.subject, /CN=899700001234/);
    assert.match(certificate.subject, /SN=MEDECIN-TEST/);
    assert.match(certificate.subject, /GN=CLAIRE/);
    assert.match(certificate.subject, /title=Médecin/);
  }

  // OpenSC's IAS-ECC login (CHV SDO policy + DOCP, then VERIFY with the AODF's padding) accepts the PIN.
  const wrong = await run("pkcs15-tool", [
    "--reader",
    index,
    "--verify-pin",
    "--auth-id",
    "01",
    "--pin",
    "9999",
  ]);
  assert.notEqual(wrong.code, 0);
  assert.match(wrong.out, /PIN code or key incorrect/);
  assert.equal(card.triesRemaining, 2);
  const login = await run("pkcs15-tool", [
    "--reader",
    index,
    "--verify-pin",
    "--auth-id",
    "01",
    "--pin",
    "1234",
  ]);
  assert.equal(login.code, 0, login.out);
  assert.doesNotMatch(login.out, /failed/i);
  assert.equal(card.triesRemaining, 3);

  if (PKCS11_MODULE) {
    // OpenSC signs with the authentication key: its IAS-ECC MSE SET AT + INTERNAL AUTHENTICATE (T=0,
    // 61 00 + GET RESPONSE) against the emulator; the signature verifies against the card's certificate.
    const dir = mkdtempSync(path.join(tmpdir(), "passerelle-cps-"));
    try {
      const message = randomBytes(100);
      const digestInfo = Buffer.concat([
        Buffer.from("3031300d060960864801650304020105000420", "hex"),
        createHash("sha256").update(message).digest(),
      ]);
      writeFileSync(path.join(dir, "in.bin"), digestInfo);
      const signed = await run("pkcs11-tool", [
        ...["--module", PKCS11_MODULE, "--token-label", "CPS (TEST)", "--login", "--pin", "1234"],
        ...["--sign", "--mechanism", "RSA-PKCS", "--id", "01"],
        ...["--input-file", path.join(dir, "in.bin"), "--output-file", path.join(dir, "out.bin")],
      ]);
      assert.equal(signed.code, 0, signed.out);
      const signature = readFileSync(path.join(dir, "out.bin"));
      const authentication = new X509Certificate(card.certificates.authentication.der);
      assert.ok(
        verify("sha256", message, authentication.publicKey, signature),
        "OpenSC's signature verifies",
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }

    const objects = await run("pkcs11-tool", [
      "--module",
      PKCS11_MODULE,
      "--token-label",
      "CPS (TEST)",
      "-O",
    ]);
    assert.equal(objects.code, 0, objects.out);
    const subjects = objects.out.split("\n").filter((l) => l.trim().startsWith("subject:"));
    assert.equal(subjects.length, 2, objects.out);
    for (const subject of subjects) {
      // Multi-valued first RDN (CN+SN+GN, in DER order), then title and C.
      assert.match(
        subject,
        /DN: (?=.*CN=899700001234)(?=.*SN=MEDECIN-TEST)(?=.*GN=CLAIRE)[A-Z=A-Z0-9+-]*\/title=/,
      );
    }
  }
});

test("cps.read through pcscd: cold read, then a warm read with 0 APDUs; PIN, signatures, APDU counts", async () => {
  const card = new Cps3Emulator();
  const { readerId, bridge } = await insert(card);
  const driver = new CpsDriver();

  let apdus = bridge.stats().apdus;
  let t0 = performance.now();
  const cold = await readers.withCard(readerId, (channel) => driver.read(channel));
  const coldMs = performance.now() - t0;
  const coldApdus = bridge.stats().apdus - apdus;
  CpsReadResult.parse({ readerId, ...cold });
  assert.equal(cold.holder.idNat, "899700001234");
  assert.deepEqual(cold.pin, { verified: false, triesRemaining: 3 });

  apdus = bridge.stats().apdus;
  t0 = performance.now();
  const warm = await readers.withCard(readerId, (channel) => driver.read(channel));
  const warmMs = performance.now() - t0;
  assert.equal(bridge.stats().apdus - apdus, 0, "a warm read sends no APDU");
  assert.deepEqual(warm, cold);

  apdus = bridge.stats().apdus;
  const pin = await readers.withCard(readerId, (channel) =>
    driver.verifyPin(channel, { origin: "https://app.example", pin: "1234", pinFromPage: true }),
  );
  const pinApdus = bridge.stats().apdus - apdus;
  assert.deepEqual(pin, { verified: true, triesRemaining: 3 });

  const data = randomBytes(3000);
  apdus = bridge.stats().apdus;
  t0 = performance.now();
  const signature = await readers.withCard(readerId, (channel) =>
    driver.sign(channel, data, "signature", "https://app.example"),
  );
  const signMs = performance.now() - t0;
  const signApdus = bridge.stats().apdus - apdus;
  assert.ok(
    verify("sha256", data, new X509Certificate(card.certificates.signature.der).publicKey, signature),
  );

  apdus = bridge.stats().apdus;
  const auth = await readers.withCard(readerId, (channel) =>
    driver.sign(channel, data, "authentication", "https://app.example"),
  );
  const authApdus = bridge.stats().apdus - apdus;
  assert.ok(
    verify("sha256", data, new X509Certificate(card.certificates.authentication.der).publicKey, auth),
  );

  // Figures for docs/cards.md (printed, not asserted: no timed assertions).
  console.log(
    `cps via pcscd: cold read ${coldApdus} APDUs ${coldMs.toFixed(1)} ms; warm read 0 APDUs ${warmMs.toFixed(2)} ms; ` +
      `verifyPin ${pinApdus} APDUs; signature ${signApdus} APDUs ${signMs.toFixed(1)} ms; authentication ${authApdus} APDUs`,
  );
});

test("card pulled between MSE SET and PSO CDS: CARD_REMOVED, the next card starts clean", async () => {
  const first = new Cps3Emulator();
  const hooks: { pull?: () => void } = {};
  const pulling: CardEmulator = {
    atr: first.atr,
    reset: () => first.reset(),
    transmit(apdu) {
      // PSO CDS never gets an answer: the card leaves the reader instead.
      if (apdu[1] === 0x2a && apdu[2] === 0x9e) {
        hooks.pull?.();
        return new Promise<Uint8Array>(() => undefined);
      }
      return first.transmit(apdu);
    },
  };
  const { readerId, bridge } = await insert(pulling);
  hooks.pull = () => void bridge.close();
  const driver = new CpsDriver();
  await readers.withCard(readerId, (channel) =>
    driver.verifyPin(channel, { origin: "https://app.example", pin: "1234", pinFromPage: true }),
  );
  await assert.rejects(
    readers.withCard(readerId, (channel) =>
      driver.sign(channel, randomBytes(100), "signature", "https://app.example"),
    ),
    (error) => isPasserelleError(error, "CARD_REMOVED"),
  );
  await waitForCard(readers, SLOT, false);

  const second = new Cps3Emulator({
    holder: {
      idType: "8",
      nationalId: "99700007777",
      lastName: "SECONDE",
      firstName: "ANNE",
      profession: "Sage-Femme",
    },
  });
  const again = await insert(second);
  const read = await readers.withCard(again.readerId, (channel) => driver.read(channel));
  assert.equal(read.holder.lastName, "SECONDE");
  assert.deepEqual(read.pin, { verified: false, triesRemaining: 3 });
  await assert.rejects(
    readers.withCard(again.readerId, (channel) =>
      driver.sign(channel, Uint8Array.of(1), "signature", "https://app.example"),
    ),
    (error) => isPasserelleError(error, "PIN_REQUIRED"),
  );
});

test("a Vitale in the reader is WRONG_CARD", async () => {
  const vitale: CardEmulator = {
    atr: Uint8Array.from(Buffer.from("3B751300004509EA9000", "hex")),
    reset: () => undefined,
    transmit: () => Uint8Array.of(0x6d, 0x00),
  };
  const { readerId, bridge } = await insert(vitale);
  const apdus = bridge.stats().apdus;
  await assert.rejects(
    readers.withCard(readerId, (channel) => new CpsDriver().read(channel)),
    (error) => isPasserelleError(error, "WRONG_CARD"),
  );
  assert.equal(bridge.stats().apdus - apdus, 0);
});
