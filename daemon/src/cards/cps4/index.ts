/**
 * The CPS4 (NXP ChipDoc) driver's public surface: the sibling of cards/cps/ (the CPS3), with the same
 * methods. cards/cpx/ picks one or the other from the ATR.
 */
export { Cps4Driver, MAX_FILE_BYTES, PIN_MAX_TRIES } from "./driver.ts";
export { CHIPDOC_AID, CLA as CPS4_CLA, PKCS15_AID } from "./commands.ts";
