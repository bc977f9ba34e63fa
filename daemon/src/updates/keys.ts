/**
 * The public keys an update manifest must be signed with (Ed25519, SPKI DER in base64), pinned in
 * the build: a manifest signed by any other key is refused, whatever the server or its certificate.
 *
 * The key below is a placeholder made for this repository; its private half was not kept, so no
 * manifest verifies with it. The publisher replaces it with the release key's public half
 * (`node installers/sign-manifest.mjs --generate-key DIR` makes a pair; the private key stays
 * offline) before the first release, and adds the next key here before rotating.
 *
 * Tests: PASSERELLE_UPDATE_TEST_KEY (the same SPKI base64) is added to the trusted keys only when
 * running from the source tree (tsx, development and the test suite). A build — the bundle and the
 * single executables, that is everything installed — ignores it, so the pin cannot be widened on an
 * installed workstation through the environment (`test/updates/version-check.test.ts` checks it).
 */
import { createPublicKey, type KeyObject } from "node:crypto";
import { isBuilt } from "../runtime/index.ts";

export const PINNED_UPDATE_KEYS: ReadonlyArray<{ id: string; spki: string }> = [
  {
    id: "passerelle-release-placeholder",
    spki: "MCowBQYDK2VwAyEAiJ5lVkESW8jcAnG3WVdAVKNIoajK2lUHKQ05DwerEaY=",
  },
];

export const TEST_KEY_VARIABLE = "PASSERELLE_UPDATE_TEST_KEY";

function ed25519(spki: string): KeyObject | null {
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
): Array<{ id: string; key: KeyObject }> {
  const keys = PINNED_UPDATE_KEYS.flatMap(({ id, spki }) => {
    const key = ed25519(spki);
    return key ? [{ id, key }] : [];
  });
  const test = env[TEST_KEY_VARIABLE];
  if (test && !built) {
    const key = ed25519(test);
    if (key) keys.push({ id: "test key (source tree only)", key });
  }
  return keys;
}
