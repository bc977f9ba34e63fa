/**
 * The emulated CPS4 (NXP ChipDoc applet, contact): the emulator, its options and its file layout. The
 * lab profiles are registered by ./profile.ts (imported by simulator/builtin-profiles.ts).
 */
export {
  Cps4Emulator,
  createCps4Emulator,
  CPS4_ALGORITHM,
  DEFAULT_CPS4_HOLDER,
  DEFAULT_PIN,
  PIN_MAX_TRIES,
  type CommandForm,
  type Cps4Options,
} from "./emulator.ts";
export { AID, CPS4_ATR, CPS4_RC_ATR, CPS4_T0_ATR, FID, KEY_REF, PIN } from "./layout.ts";
