/**
 * Registers the Vitale lab profiles (`passerelle lab insert --card <name>`, `--simulate`).
 * Import this module once for its side effect, next to the profile registry's other card modules.
 */
import { registerProfile } from "../../profiles.ts";
import { createVitale1Emulator, createVitale2Emulator } from "./emulator.ts";
import { FAMILY_OF_4, FAMILY_OF_6, SINGLE } from "./fixtures.ts";

/** Profile names, for the CLI's help and for tests. */
export const VITALE_PROFILES = {
  /** The default family of 4: Corsican NIR, lunar date, twins with ranks, hyphens/apostrophes. */
  vitale: "vitale",
  /** One beneficiary. */
  vitaleSingle: "vitale-1",
  /** Same as `vitale`, named by its count for benches and tests. */
  vitale4: "vitale-4",
  /** The fullest card: 6 beneficiaries (adds a 2B NIR and a Latin-1 first name). */
  vitale6: "vitale-6",
  /** The family of 4 with a status error (6982) on the second beneficiary's file. */
  vitaleBadFile: "vitale-badfile",
  /** The family of 4 whose pointer file lists a file that is not on the card. */
  vitaleMissingFile: "vitale-missingfile",
  /** The family of 4 in the split layout: names in the MF's short file 2, NIRs under VITALE (Rufus). */
  vitaleSplit: "vitale-split",
  /** The split layout whose pointer file does not list the MF's identity file (short file 2 only). */
  vitaleSplitUnlisted: "vitale-split-unlisted",
  /** A Vitale 1 ATR: the daemon answers WRONG_CARD (generation not supported). */
  vitale1: "vitale1",
} as const;

registerProfile(VITALE_PROFILES.vitale, () => createVitale2Emulator({ beneficiaries: FAMILY_OF_4 }));
registerProfile(VITALE_PROFILES.vitaleSingle, () => createVitale2Emulator({ beneficiaries: SINGLE }));
registerProfile(VITALE_PROFILES.vitale4, () => createVitale2Emulator({ beneficiaries: FAMILY_OF_4 }));
registerProfile(VITALE_PROFILES.vitale6, () => createVitale2Emulator({ beneficiaries: FAMILY_OF_6 }));
registerProfile(VITALE_PROFILES.vitaleBadFile, () =>
  createVitale2Emulator({ failingBeneficiary: { index: 1, sw: 0x6982 } }),
);
registerProfile(VITALE_PROFILES.vitaleMissingFile, () => createVitale2Emulator({ listMissingFile: true }));
registerProfile(VITALE_PROFILES.vitaleSplit, () =>
  createVitale2Emulator({ beneficiaries: FAMILY_OF_4, layout: "split" }),
);
registerProfile(VITALE_PROFILES.vitaleSplitUnlisted, () =>
  createVitale2Emulator({ beneficiaries: FAMILY_OF_4, layout: "split", listIdentityFile: false }),
);
registerProfile(VITALE_PROFILES.vitale1, createVitale1Emulator);
