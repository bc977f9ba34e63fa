/**
 * The public keys an update manifest must be signed with (Ed25519, SPKI DER in base64), pinned in
 * the build: a manifest signed by any other key is refused, whatever the server or its certificate.
 *
 * The release key is a build input, never source: `npm run package -- --update-key FILE.pem` (or
 * `PASSERELLE_UPDATE_KEY=FILE.pem`; several files for a key rotation) makes scripts/build.mjs
 * define PASSERELLE_UPDATE_KEYS_JSON in the bundle, and so in every executable and installer made
 * from it. A build without a key pins none: `version --check` then says so (kind `no-key`) instead
 * of fetching, and `doctor` warns. `node installers/sign-manifest.mjs --generate-key DIR` makes a
 * pair (the private key stays offline, the public one is the build input).
 *
 * Tests: PASSERELLE_UPDATE_TEST_KEY (the same SPKI base64) is added to the trusted keys only when
 * running from the source tree (tsx, development and the test suite), which never has a pinned key.
 * A build — the bundle and the single executables, that is everything installed — ignores it, so the
 * pin cannot be widened on an installed workstation through the environment
 * (`test/updates/version-check.test.ts` checks both, through bundles built with and without a key).
 */
import { createHash, createPublicKey, type KeyObject } from "node:crypto";
import { isBuilt } from "../runtime/index.ts";

/** Set by scripts/build.mjs (esbuild define): a JSON array of {id, spki}; absent in the source tree. */
declare const PASSERELLE_UPDATE_KEYS_JSON: string | undefined;

export interface PinnedKey {
  readonly id: string;
  readonly spki: string;
}

/** The id a key is shown by: `sha256:` and the first 16 hex digits of its SPKI's SHA-256. */
export function updateKeyId(spki: string): string {
  return `sha256:${createHash("sha256").update(Buffer.from(spki, "base64")).digest("hex").slice(0, 16)}`;
}

function pinnedAtBuild(): PinnedKey[] {
  const json = typeof PASSERELLE_UPDATE_KEYS_JSON === "string" ? PASSERELLE_UPDATE_KEYS_JSON : "[]";
  const parsed = JSON.parse(json) as unknown;
  if (!Array.isArray(parsed)) return [];
  return parsed.filter(
    (entry): entry is PinnedKey =>
      typeof entry === "object" &&
      entry !== null &&
      typeof (entry as PinnedKey).id === "string" &&
      typeof (entry as PinnedKey).spki === "string",
  );
}

/** The release keys this build pins: none in the source tree or a build made without --update-key. */
export const PINNED_UPDATE_KEYS: ReadonlyArray<PinnedKey> = pinnedAtBuild();

export const TEST_KEY_VARIABLE = "PASSERELLE_UPDATE_TEST_KEY";

/** An Ed25519 public key from SPKI DER in base64, or null. */
export function ed25519PublicKey(spki: string): KeyObject | null {
  try {
    const key = createPublicKey({ key: Buffer.from(spki, "base64"), format: "der", type: "spki" });
    return key.asymmetricKeyType === "ed25519" ? key : null;
  } catch {
    return null;
  }
}

/** The keys a manifest may be signed with: the pinned ones, plus the test key from the source tree. */
export function trustedUpdateKeys(
  env: NodeJS.ProcessEnv = process.env,
  built = isBuilt(),
  pinned: ReadonlyArray<PinnedKey> = PINNED_UPDATE_KEYS,
): Array<{ id: string; key: KeyObject }> {
  const keys = pinned.flatMap(({ id, spki }) => {
    const key = ed25519PublicKey(spki);
    return key ? [{ id, key }] : [];
  });
  const test = env[TEST_KEY_VARIABLE];
  if (test && !built) {
    const key = ed25519PublicKey(test);
    if (key) keys.push({ id: "test key (source tree only)", key });
  }
  return keys;
}
