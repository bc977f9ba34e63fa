/** Shared test material: one test PKI and key pairs generated once per test process. */
import {
  createTestPki,
  generateRsaKeyPair,
  type KeyPair,
  type TestPki,
} from "../../../src/simulator/pki/test-pki.ts";
import { Cps3Emulator, type Cps3Options } from "../../../src/simulator/cards/cps3/emulator.ts";
import { EmulatorChannel } from "./emulator-channel.ts";

let pki: TestPki | undefined;
let keys: { authentication: KeyPair; signature: KeyPair } | undefined;

export function testPki(): TestPki {
  pki ??= createTestPki();
  return pki;
}

export function testKeys(): { authentication: KeyPair; signature: KeyPair } {
  keys ??= { authentication: generateRsaKeyPair(), signature: generateRsaKeyPair() };
  return keys;
}

export function emulator(options: Cps3Options = {}): Cps3Emulator {
  return new Cps3Emulator({ pki: testPki(), keys: testKeys(), ...options });
}

export function channelFor(card: Cps3Emulator, readerId?: string): EmulatorChannel {
  return new EmulatorChannel(card, readerId);
}
