/**
 * The personal-data scan that closes a system test: every file a daemon wrote (its logs, its audit
 * trail — not its TLS keys) and every text the test captured (the daemon's console, the pages'
 * consoles) is searched for the personal data the test put through it and for the PINs it typed.
 * A name, a NIR, a birth date or an idNat must never be found in clear, nor a PIN.
 */
import { readFileSync, readdirSync } from "node:fs";
import path from "node:path";

export interface Captured {
  /** Where the text comes from (a file path, "daemon stderr", "page console"…). */
  readonly source: string;
  readonly text: string;
}

/** The files a daemon wrote under its data folder: logs and audit trail, not its TLS material. */
export function daemonFiles(dataDir: string): Captured[] {
  return readdirSync(dataDir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile())
    .map((entry) => path.join(entry.parentPath, entry.name))
    .filter((file) => !file.includes(`${path.sep}tls${path.sep}`) && !file.endsWith("test-config.json"))
    .map((file) => ({ source: file, text: readFileSync(file, "utf8") }));
}

/**
 * A birth date as the daemon and the pages may write it: ISO `1975-12-31`, compact `19751231`,
 * French `31/12/1975`.
 */
export function birthDateForms(iso: string): string[] {
  const [year, month, day] = iso.split("-");
  if (!year || !month || !day) return [iso];
  return [iso, `${year}${month}${day}`, `${day}/${month}/${year}`];
}

/**
 * Everything found, as readable lines (`<value> in <source>`); empty when clean. Values shorter
 * than 4 characters mean nothing alone and are skipped; a PIN counts only as a whole number (not
 * a digit run inside a longer number, such as a timestamp).
 */
export function personalDataFound(
  captured: readonly Captured[],
  values: Iterable<string>,
  pins: readonly string[],
): string[] {
  const found: string[] = [];
  const wanted = [...new Set(values)].filter((value) => value.length >= 4);
  for (const { source, text } of captured) {
    for (const value of wanted) if (text.includes(value)) found.push(`${value} in ${source}`);
    for (const pin of pins)
      if (new RegExp(`(^|[^0-9.])${pin}($|[^0-9])`).test(text)) found.push(`PIN ${pin} in ${source}`);
  }
  return found;
}
