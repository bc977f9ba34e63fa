/**
 * Registers the CPS4 lab profiles (`passerelle lab insert --card cps4`, `--simulate`). Import this
 * module once for its side effect (simulator/builtin-profiles.ts). PIN 1234; keys and certificates
 * are generated when the card is created, from the process's test PKI.
 */
import { registerProfile } from "../../profiles.ts";
import { createCps4Emulator } from "./emulator.ts";

export const CPS4_PROFILES = {
  /** An infirmier with an RPPS idNat, 3 tries, the CPS4 contact ATR. */
  cps4: "cps4",
  /** One PIN try left: cps.verifyPin answers PIN_LAST_TRY unless confirmLastTry. */
  cps4LastTry: "cps4-last-try",
  /** PIN blocked: PIN_BLOCKED, no VERIFY is sent. */
  cps4Blocked: "cps4-blocked",
} as const;

registerProfile(CPS4_PROFILES.cps4, () => createCps4Emulator());
registerProfile(CPS4_PROFILES.cps4LastTry, () => createCps4Emulator({ triesRemaining: 1 }));
registerProfile(CPS4_PROFILES.cps4Blocked, () => createCps4Emulator({ triesRemaining: 0 }));
