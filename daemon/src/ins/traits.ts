/**
 * Identity traits and their normalisation for INSi.
 *
 * INSi compares names in upper-case unaccented A–Z with four separators: single hyphen, double
 * hyphen, apostrophe and space (the pattern public INSi clients enforce; the official rules are not
 * public — see docs/insi.md). What we do, and why:
 * - accents are removed (É → E) and letters upper-cased: a difference of case or accent is not a
 *   difference of identity;
 * - apostrophe look-alikes (’ ‘ ʼ ´ ` ′) become `'` and dash look-alikes (‐ ‑ ‒ – — −) become `-`:
 *   keyboards and word processors produce them for the same character;
 * - spaces are trimmed, runs of spaces collapse, spaces around `-` and `'` are dropped;
 * - the ligatures Æ and Œ are REFUSED with a reason rather than rewritten: CNDA test 2.03 case 3
 *   expects no call for them, and choosing AE/OE is the operator's decision, made on the document;
 * - any other character (digits, ß, Ø, punctuation) is refused with its code point;
 * - syntax (SEL-MP-043 v05.00.01 §3.4.1, EF_INS01_03 / EF_INS10_01 / EF_INS10_02, as quoted in
 *   lsoulier42/healthcare-domain): the first character is a letter or an apostrophe (`'T HOOFT`),
 *   never a space or a hyphen; separators are single (no doubled space or apostrophe, no space next
 *   to an apostrophe); a birth name may hold a double hyphen `--`, a given name may not; a given name
 *   may not end with a hyphen or an apostrophe. A birth name ending with a hyphen is refused too
 *   (our reading: a hyphen joins two parts), one ending with an apostrophe is accepted.
 * Given names: a list; an entry holding spaces or commas is several given names (INSi's ListePrenom
 * separates them by spaces, civil status by commas). The first given name is the first of the list.
 * Birth dates are "lunar": a YYYY-MM-DD string whose month or day may be 00 — kept as a string, never
 * passed through Date. Birth place: a 5-character COG code (99xxx abroad).
 *
 * Pure functions; results carry issues instead of throwing so that the caller can report every
 * problem at once (JSON-RPC invalid params with data.issues).
 */

/** The protocol's own bound on a name; INSi's maximum lengths are not public. */
export const MAX_NAME_LENGTH = 100;
export const MAX_FIRST_NAMES = 10;

export type Sex = "M" | "F";

/** Traits as a caller gives them (already shape-checked by the protocol schema, not normalised). */
export interface IdentityTraitsInput {
  readonly birthName: string;
  readonly firstNames: readonly string[];
  readonly sex: string;
  readonly birthDate: string;
  readonly birthPlace?: string | undefined;
}

/** Traits in the form INSi compares. */
export interface NormalisedTraits {
  readonly birthName: string;
  readonly firstNames: readonly string[];
  /** The first of `firstNames`. */
  readonly firstName: string;
  readonly sex: Sex;
  readonly birthDate: string;
  readonly birthPlace?: string;
}

export interface TraitIssue {
  readonly path: readonly (string | number)[];
  readonly message: string;
}

export type Normalised<T> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly issues: TraitIssue[] };

const APOSTROPHES = /[\u2019\u2018\u02BC\u00B4\u0060\u2032]/g;
const DASHES = /[\u2010\u2011\u2012\u2013\u2014\u2212]/g;
const COMBINING_MARKS = /\p{M}/gu;
const LIGATURES = /[\u00C6\u00E6\u0152\u0153]/; // Æ æ Œ œ
/** Letters A–Z (either case), separators and spaces only: nothing to decompose or map. */
const ALREADY_PLAIN = /^[A-Za-z' -]*$/;
/** Birth name: upper-case A–Z words joined by one separator (`-`, `--`, `'`, a space); `'` may lead or end. */
const BIRTH_NAME = /^'?[A-Z]+(?:(?:--|[-' ])[A-Z]+)*'?$/;
/** One given name: the same without `--` and without a trailing `'`. */
const GIVEN_NAME = /^'?[A-Z]+(?:[-'][A-Z]+)*$/;

/** Which rules apply: a birth name (nom de naissance) or one given name (prénom). */
export type NameKind = "birthName" | "givenName";
const LUNAR_DATE = /^([0-9]{4})-([0-9]{2})-([0-9]{2})$/;
const COG_CODE = /^(?:[0-9]{5}|2[AB][0-9]{3})$/;
/** Earliest plausible birth year; older dates are typing errors. */
const MIN_BIRTH_YEAR = 1850;

function fail<T>(path: readonly (string | number)[], message: string): Normalised<T> {
  return { ok: false, issues: [{ path, message }] };
}

/** Normalise one name (birth name or one given name); `path` locates it in the issue. */
export function normaliseName(
  raw: string,
  path: readonly (string | number)[] = [],
  kind: NameKind = "birthName",
): Normalised<string> {
  if (raw.length > MAX_NAME_LENGTH) return fail(path, `longer than ${MAX_NAME_LENGTH} characters`);
  if (LIGATURES.test(raw)) {
    return fail(
      path,
      "contains the ligature Æ or Œ: INSi does not accept it; enter AE or OE as on the identity document",
    );
  }
  // Already in INSi's form (the common case, and every name INSi sends back): no Unicode work.
  const unified = ALREADY_PLAIN.test(raw)
    ? raw
        .replace(/\s+/gu, " ")
        .trim()
        .replace(/ *([-']) */g, "$1")
    : raw
        .normalize("NFD")
        .replace(COMBINING_MARKS, "")
        .replace(APOSTROPHES, "'")
        .replace(DASHES, "-")
        .replace(/\s+/gu, " ")
        .trim()
        .replace(/ *([-']) */g, "$1");
  for (const char of unified) {
    if (!/[A-Za-z' -]/.test(char)) {
      const codePoint = `U+${char.codePointAt(0)?.toString(16).toUpperCase().padStart(4, "0")}`;
      return fail(path, `contains a character INSi does not accept (${codePoint})`);
    }
  }
  const value = unified.toUpperCase();
  if (value === "") return fail(path, "is empty");
  if (kind === "givenName") {
    if (value.includes("--")) return fail(path, "a given name may not hold a double hyphen (--)");
    if (/[-']$/.test(value)) return fail(path, "a given name may not end with a hyphen or an apostrophe");
  }
  if (!(kind === "givenName" ? GIVEN_NAME : BIRTH_NAME).test(value)) {
    return fail(
      path,
      "starts with a letter or an apostrophe; separators (-, --, ' or a single space) join two letters",
    );
  }
  return { ok: true, value };
}

/** Normalise a list of given names; entries holding spaces or commas are split into several names. */
export function normaliseFirstNames(
  raw: readonly string[],
  path: readonly (string | number)[] = ["firstNames"],
): Normalised<string[]> {
  const issues: TraitIssue[] = [];
  const names: string[] = [];
  raw.forEach((entry, index) => {
    const parts = entry.split(/[,\s]+/u).filter((part) => part !== "");
    if (parts.length === 0) issues.push({ path: [...path, index], message: "is empty" });
    for (const part of parts) {
      const result = normaliseName(part, [...path, index], "givenName");
      if (result.ok) names.push(result.value);
      else issues.push(...result.issues);
    }
  });
  if (issues.length > 0) return { ok: false, issues };
  if (names.length === 0) return fail(path, "at least one given name is needed");
  if (names.length > MAX_FIRST_NAMES) return fail(path, `more than ${MAX_FIRST_NAMES} given names`);
  return { ok: true, value: names };
}

/** INSi's ListePrenom: given names separated by spaces. */
export function splitListePrenom(listePrenom: string): string[] {
  return listePrenom.split(/\s+/u).filter((name) => name !== "");
}

export function normaliseSex(raw: string, path: readonly (string | number)[] = ["sex"]): Normalised<Sex> {
  const value = raw.trim().toUpperCase();
  return value === "M" || value === "F" ? { ok: true, value } : fail(path, "must be M or F");
}

/** A lunar date: YYYY-MM-DD, month 00–12 and day 00–31 (00 = unknown), kept as the string. */
export function normaliseBirthDate(
  raw: string,
  path: readonly (string | number)[] = ["birthDate"],
): Normalised<string> {
  const value = raw.trim();
  const match = LUNAR_DATE.exec(value);
  if (match === null) return fail(path, "must be YYYY-MM-DD (00 allowed for an unknown month or day)");
  const [, year = "", month = "", day = ""] = match;
  if (Number(year) < MIN_BIRTH_YEAR) return fail(path, `year before ${MIN_BIRTH_YEAR}`);
  if (Number(month) > 12) return fail(path, "month must be 00 to 12");
  if (Number(day) > 31) return fail(path, "day must be 00 to 31");
  return { ok: true, value };
}

/** A COG code: 5 digits, or 2A/2B + 3 digits for Corsica; 99xxx for a country abroad. */
export function normaliseBirthPlace(
  raw: string,
  path: readonly (string | number)[] = ["birthPlace"],
): Normalised<string> {
  const value = raw.trim().toUpperCase();
  return COG_CODE.test(value)
    ? { ok: true, value }
    : fail(path, "must be a 5-character COG code (99xxx abroad)");
}

export function isBornAbroad(cog: string): boolean {
  return cog.startsWith("99");
}

/** Normalise every trait; all issues are reported together. */
export function normaliseTraits(input: IdentityTraitsInput): Normalised<NormalisedTraits> {
  const birthName = normaliseName(input.birthName, ["birthName"]);
  const firstNames = normaliseFirstNames(input.firstNames);
  const sex = normaliseSex(input.sex);
  const birthDate = normaliseBirthDate(input.birthDate);
  const birthPlace = input.birthPlace === undefined ? undefined : normaliseBirthPlace(input.birthPlace);
  const issues = [birthName, firstNames, sex, birthDate, birthPlace].flatMap((r) =>
    r !== undefined && !r.ok ? r.issues : [],
  );
  if (
    !birthName.ok ||
    !firstNames.ok ||
    !sex.ok ||
    !birthDate.ok ||
    (birthPlace !== undefined && !birthPlace.ok)
  ) {
    return { ok: false, issues };
  }
  const names = firstNames.value;
  const value: NormalisedTraits = {
    birthName: birthName.value,
    firstNames: names,
    firstName: names[0] ?? "",
    sex: sex.value,
    birthDate: birthDate.value,
    ...(birthPlace === undefined ? {} : { birthPlace: birthPlace.value }),
  };
  return { ok: true, value };
}

/** The error a caller raises for traits that cannot be sent: maps to JSON-RPC -32602 with data.issues. */
export class InvalidTraitsError extends Error {
  override readonly name = "InvalidTraitsError";
  readonly issues: readonly TraitIssue[];
  constructor(issues: readonly TraitIssue[]) {
    super(`invalid identity traits: ${issues.map((i) => `${i.path.join(".")} ${i.message}`).join("; ")}`);
    this.issues = issues;
  }
}
