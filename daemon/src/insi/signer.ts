/**
 * The seams between the INSi client and the cards.
 *
 * AssertionSigner is implemented by the CPS driver (on the card) and, in tests, by a node:crypto key.
 * VitaleAssertionProvider produces the Vitale card assertion for `rechercherInsAvecCarteVitale`; its
 * real implementation needs GIE SESAM-Vitale's licensed components, so production ships none and the
 * client answers VITALE_ASSERTION_UNAVAILABLE. The simulator ships a stand-in.
 */
import type { VitaleBeneficiary } from "./envelope.ts";

export interface AssertionSigner {
  /** The CPS *signature* certificate (not the authentication one), PEM. */
  signatureCertificatePem(): Promise<string>;
  /**
   * RSA PKCS#1 v1.5 signature with SHA-256 over `data` (the canonical SignedInfo): the implementer
   * hashes (or has the card finish the hash) and signs. PIN handling is the implementer's business;
   * it rejects with a PasserelleError (PIN_REQUIRED, CARD_REMOVED…) that the client passes through.
   */
  sign(data: Uint8Array): Promise<Uint8Array>;
  /**
   * Which insertion of which card signs (e.g. `reader#insertion`), as last seen by
   * `signatureCertificatePem()`. The assertion cache ties its entries to it: a card that left the
   * reader (and came back, or was replaced by one with the same certificate) signs again, with its
   * PIN asked again, instead of being served an assertion signed before it left. Absent: tied to
   * the certificate alone (a key that never leaves, as in tests).
   */
  presence?(): string | undefined;
}

export interface VitaleAssertionProvider {
  /** A complete `saml:Assertion` element (XML text) for this beneficiary, inserted as is in wsse:Security. */
  assertionFor(beneficiary: VitaleBeneficiary): Promise<string>;
}
