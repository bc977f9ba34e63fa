/**
 * The emulated CPS3 (IAS-ECC CPx): the emulator, its options and its file layout. The lab profiles
 * are registered by ./profile.ts (imported by simulator/builtin-profiles.ts).
 */
export {
  Cps3Emulator,
  createCps3Emulator,
  CPS3_ATR,
  CPS3_CL_ATR,
  DEFAULT_HOLDER,
  DEFAULT_PIN,
  PIN_MAX_TRIES,
  padPin,
  type Cps3Options,
} from "./emulator.ts";
export { CPX_IAS_AID, CPX_ROOT_AID, FID, KEY_REF, PIN_REF } from "./layout.ts";
