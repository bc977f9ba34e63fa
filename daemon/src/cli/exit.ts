/** Exit codes: documented in docs/admin-guide.md. */
export const EXIT = { ok: 0, failure: 1, usage: 2, portInUse: 3, config: 4, alreadyRunning: 5 } as const;

/** One line on stderr, then exit with that code. */
export function fail(message: string, code: number): never {
  process.stderr.write(`passerelle: ${message}\n`);
  process.exit(code);
}
