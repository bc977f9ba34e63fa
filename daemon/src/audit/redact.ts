/**
 * Log redaction: what must never reach a log file in clear (RNIV and CNIL rules for health data):
 * a NIR/NIA, a name, a birth date, an idNat (RPPS/ADELI…), a PIN.
 *
 * Two nets, both applied to every log entry:
 * 1. by field name — any property whose name is known to carry personal data is masked whole,
 *    whatever its value (`pin`, `nir`, `birthName`, `holder`, `beneficiaries`, …);
 * 2. by shape — in every string left, runs that look like a NIR/NIA, an identifier of nine digits
 *    or more, or a date are masked, so a message built with a template string is caught too.
 * Redaction is deliberately over-eager: a masked reader serial costs less than a leaked NIR.
 */

export const REDACTED = "[redacted]";

/** Property names (compared case-insensitively, `_`/`-` ignored) whose values are always masked. */
const SENSITIVE_KEYS = new Set(
  [
    "pin",
    "pincode",
    "nir",
    "nirkey",
    "nia",
    "ins",
    "matricule",
    "idnat",
    "nationalid",
    "rpps",
    "adeli",
    "lastname",
    "firstname",
    "firstnames",
    "birthname",
    "usedname",
    "nomnaissance",
    "prenom",
    "prenoms",
    "listeprenom",
    "birthdate",
    "datenaissance",
    "birthplace",
    "lieunaissance",
    "holder",
    "identity",
    "beneficiaries",
    "beneficiary",
    "traits",
    "subject",
    "issuer",
    "pem",
  ].map((key) => key.replace(/[-_]/g, "")),
);

/** Keys whose values are operational and safe, even though their name alone might look sensitive. */
const SAFE_KEYS = new Set(["level", "timestamp", "service", "reason", "method", "origin", "code", "event"]);

// A NIR or NIA: sex 1-4/7/8, year, month, department (2 digits or 2A/2B), commune, order, optional key.
const NIR_LIKE = /\b[1-478]\s?\d{2}\s?\d{2}\s?(?:\d{2}|2[AaBb])\s?\d{3}\s?\d{3}(?:\s?\d{2})?\b/g;
// Any long identifier (idNat = type digit + RPPS 11 digits, ADELI, card serials…).
const LONG_NUMBER = /\b\d[\d ]{7,}\d\b/g;
// Dates: 1987-03-15, 19870315, 15/03/1987 (lunar 00 allowed).
const DATE_LIKE = /\b(?:\d{4}-\d{2}-\d{2}|\d{2}\/\d{2}\/\d{4}|(?:18|19|20)\d{2}[01]\d[0-3]\d)\b/g;

export function redactString(text: string): string {
  return text.replace(NIR_LIKE, "[nir]").replace(DATE_LIKE, "[date]").replace(LONG_NUMBER, "[number]");
}

function normalizeKey(key: string): string {
  return key.toLowerCase().replace(/[-_]/g, "");
}

export function isSensitiveKey(key: string): boolean {
  return SENSITIVE_KEYS.has(normalizeKey(key));
}

const MAX_DEPTH = 8;

/** A deep copy of `value` with sensitive fields and shapes masked. Never mutates its input. */
export function redact(value: unknown, depth = 0): unknown {
  if (typeof value === "string") return redactString(value);
  if (value === null || typeof value !== "object") return value;
  if (depth >= MAX_DEPTH) return REDACTED;
  if (value instanceof Error) {
    return { name: value.name, message: redactString(value.message) };
  }
  if (Array.isArray(value)) return value.map((item) => redact(item, depth + 1));
  if (value instanceof Uint8Array) return `[${value.length} bytes]`;
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    if (SAFE_KEYS.has(key)) out[key] = typeof item === "string" ? item : redact(item, depth + 1);
    else out[key] = isSensitiveKey(key) ? REDACTED : redact(item, depth + 1);
  }
  return out;
}
