/** The emulated Vitale 2 (and Vitale 1 stand-in) for the lab: see docs/cards.md "Vitale". */
export {
  createVitale2Emulator,
  createVitale1Emulator,
  VITALE2_ATR,
  VITALE1_ATR,
  type Vitale2Emulator,
  type Vitale2EmulatorOptions,
} from "./emulator.ts";
export {
  LAB_BENEFICIARY_LAYOUT,
  LAB_BIRTH_RANK_TAG,
  VITALE2_MIN_BENEFICIARIES,
  VITALE2_MAX_BENEFICIARIES,
  type Vitale2Beneficiary,
  type Vitale2Layout,
} from "./image.ts";
export { FAMILY_OF_4, FAMILY_OF_6, SINGLE } from "./fixtures.ts";
