/**
 * NIR / NIA: the 13-character matricule behind an INS, and its 2-digit control key.
 *
 * Structure (INSEE, décret 82-103 art. 4): sex (1) · year (2) · month (2) · place (5) · order (3),
 * then the key. The place is a 2-character département (2A/2B for Corsica) + 3-digit commune, a
 * 3-digit overseas département + 2-digit commune, or `99` + a 3-digit country code for people born
 * abroad. A NIA (temporary number) follows the same structure and the same key algorithm.
 *
 * Key = 97 − (N mod 97), with N the 13 characters read as a number after substituting 2A → 19 and
 * 2B → 18 (the key is computed on the pre-1976 numeric form of Corsican départements).
 *
 * Pure functions: no I/O, no logging. Callers decide what a wrong key means (INSi history entries
 * with a key that does not verify are reported, not rejected: see docs/insi.md).
 */

export const NIR_LENGTH = 13;
export const NIR_KEY_MODULUS = 97;

/** 13 characters, a letter allowed only at the 7th position (Corsica), as in the INSi XSD patterns. */
const NIR_PATTERN = /^[0-9]{6}[0-9AB][0-9]{6}$/;
const KEY_PATTERN = /^[0-9]{2}$/;
/** Corsican départements: the letter replaced by the digits INSEE used before the 1976 split. */
const CORSICA_SUBSTITUTES: Readonly<Record<string, string>> = { "2A": "19", "2B": "18" };

export interface NirStructure {
  /** First digit: 1 male, 2 female (others exist, their meaning is not confirmed by INSEE text). */
  readonly sexDigit: string;
  readonly birthYear: string;
  readonly birthMonth: string;
  /** 5 characters: département + commune, or 99 + country code. */
  readonly birthPlace: string;
  readonly order: string;
  readonly bornAbroad: boolean;
}

/** Is `value` shaped like a NIR/NIA (13 characters, Corsican letter only where allowed)? */
export function isNirShape(value: string): boolean {
  if (!NIR_PATTERN.test(value)) return false;
  const letter = value[6];
  // The letter can only be the B or A of "2A"/"2B": the département digit before it must be 2.
  return letter !== "A" && letter !== "B" ? true : value[5] === "2";
}

/** The numeric form used for the key: 2A → 19, 2B → 18 at the département position. */
function numericForm(value: string): string {
  const departement = value.slice(5, 7);
  const substitute = CORSICA_SUBSTITUTES[departement];
  return substitute === undefined ? value : value.slice(0, 5) + substitute + value.slice(7);
}

/**
 * The 2-digit key of a 13-character NIR/NIA. Throws a RangeError on a malformed value: callers
 * validate input with `isNirShape` first; a malformed value reaching here is a programming error.
 */
export function nirKey(value: string): string {
  if (!isNirShape(value)) throw new RangeError("not a 13-character NIR/NIA");
  // 13 digits < 2^53: exact in a double, so no BigInt is needed.
  const remainder = Number(numericForm(value)) % NIR_KEY_MODULUS;
  return String(NIR_KEY_MODULUS - remainder).padStart(2, "0");
}

/** Does `key` verify for `value`? False (not an exception) for any malformed input. */
export function isNirKeyValid(value: string, key: string): boolean {
  return isNirShape(value) && KEY_PATTERN.test(key) && nirKey(value) === key;
}

/** Split a NIR/NIA into its parts, or undefined if it is not shaped like one. */
export function nirStructure(value: string): NirStructure | undefined {
  if (!isNirShape(value)) return undefined;
  const birthPlace = value.slice(5, 10);
  return {
    sexDigit: value.slice(0, 1),
    birthYear: value.slice(1, 3),
    birthMonth: value.slice(3, 5),
    birthPlace,
    order: value.slice(10, 13),
    bornAbroad: birthPlace.startsWith("99"),
  };
}
