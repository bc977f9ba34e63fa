/**
 * Registers the CPS lab profiles (`passerelle lab insert --card <name>`, `--simulate`). Import this
 * module once for its side effect, next to the registry's other card modules
 * (simulator/builtin-profiles.ts). Every profile's PIN is 1234; keys and certificates are generated
 * when the card is created, from the process's test PKI.
 */
import { registerProfile } from "../../profiles.ts";
import { createCps3Emulator, DEFAULT_HOLDER, CPE_HOLDER } from "./emulator.ts";

/**
 * How soon `cps-expiring` ends, counted from its insertion (so it stays "soon" on any date): under
 * the 30 days from which the daemon's page and the example EHR page warn.
 */
export const EXPIRING_CPS_DAYS = 12;

export const CPS_PROFILES = {
  /** A médecin with an RPPS idNat (8 + 11 digits), 3 tries. */
  cps: "cps",
  /** A masseur-kinésithérapeute with an ADELI idNat (0 + 9 characters). */
  cpsAdeli: "cps-adeli",
  /** A pharmacien (RPPS). */
  cpsPharmacien: "cps-pharmacien",
  /** One PIN try left: cps.verifyPin answers PIN_LAST_TRY unless confirmLastTry (and never takes it from the page). */
  cpsLastTry: "cps-last-try",
  /** PIN blocked (0 tries): PIN_BLOCKED, no VERIFY is sent. */
  cpsBlocked: "cps-blocked",
  /** Both certificates expired yesterday. */
  cpsExpired: "cps-expired",
  /** Both certificates end EXPIRING_CPS_DAYS days after the card is inserted: shown as soon to expire. */
  cpsExpiring: "cps-expiring",
  /** The authentication certificate is not a certificate: cps.read answers CARD_ERROR. */
  cpsBadCertificate: "cps-badcert",
  /** Certificate files 512 bytes larger than their DER, padded with FF (as cards allocate them). */
  cpsPaddedCertificates: "cps-padded-certs",
  /** The AODF says no padding: the card stores the 4 digits alone (a padded block costs a try). */
  cpsUnpaddedPin: "cps-unpadded-pin",
  /** The contactless interface: contactless ATR, "CPx IAS CL" application, no PSO CDS. */
  cpsContactless: "cps-contactless",
  /** A CPE (employee card): the subject names the structure and a card number, not the person. */
  cpe: "cpe",
} as const;

registerProfile(CPS_PROFILES.cps, () => createCps3Emulator());
registerProfile(CPS_PROFILES.cpsAdeli, () =>
  createCps3Emulator({
    holder: {
      idType: "0",
      nationalId: "751234567",
      lastName: "KINE-TEST",
      firstName: "PAUL",
      profession: "Masseur-Kinésithérapeute",
    },
  }),
);
registerProfile(CPS_PROFILES.cpsPharmacien, () =>
  createCps3Emulator({
    holder: {
      ...DEFAULT_HOLDER,
      nationalId: "99700005678",
      lastName: "PHARMA-TEST",
      firstName: "LUC",
      profession: "Pharmacien",
    },
  }),
);
registerProfile(CPS_PROFILES.cpsLastTry, () => createCps3Emulator({ triesRemaining: 1 }));
registerProfile(CPS_PROFILES.cpsBlocked, () => createCps3Emulator({ triesRemaining: 0 }));
registerProfile(CPS_PROFILES.cpsExpired, () => createCps3Emulator({ expired: true }));
registerProfile(CPS_PROFILES.cpsExpiring, () => createCps3Emulator({ expiresInDays: EXPIRING_CPS_DAYS }));
registerProfile(CPS_PROFILES.cpsBadCertificate, () =>
  createCps3Emulator({ corruptAuthenticationCertificate: true }),
);
registerProfile(CPS_PROFILES.cpsPaddedCertificates, () => createCps3Emulator({ certificatePadding: 512 }));
registerProfile(CPS_PROFILES.cpsUnpaddedPin, () => createCps3Emulator({ pinPadding: false }));
registerProfile(CPS_PROFILES.cpsContactless, () => createCps3Emulator({ contactless: true }));
registerProfile(CPS_PROFILES.cpe, () => createCps3Emulator({ holder: CPE_HOLDER }));
