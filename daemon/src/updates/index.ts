/**
 * Update check (`passerelle version --check`): fetch the signed manifest from the configured URL,
 * verify it with the pinned key, and say whether this version is current. It never downloads or
 * installs anything: deploying the new version is the administrator's (docs/admin-guide.md).
 */
import { fetchManifest } from "./fetch.ts";
import { trustedUpdateKeys } from "./keys.ts";
import { judge, openManifest, UpdateCheckError, type CheckOutcome } from "./manifest.ts";

export { fetchManifest, MAX_MANIFEST_BYTES } from "./fetch.ts";
export {
  ed25519PublicKey,
  PINNED_UPDATE_KEYS,
  TEST_KEY_VARIABLE,
  trustedUpdateKeys,
  updateKeyId,
  type PinnedKey,
} from "./keys.ts";
export {
  compareVersions,
  judge,
  openManifest,
  UpdateCheckError,
  UpdateManifest,
  type Artefact,
  type CheckOutcome,
  type UpdateErrorKind,
} from "./manifest.ts";

export interface UpdateSettings {
  manifestUrl: string;
  timeoutMs: number;
}

export async function checkForUpdate(
  settings: UpdateSettings | null,
  current: string,
  platform: { os: string; arch: string } = { os: process.platform, arch: process.arch },
): Promise<CheckOutcome> {
  if (!settings) {
    throw new UpdateCheckError("not-configured", "no update manifest URL configured (updates.manifestUrl)");
  }
  const keys = trustedUpdateKeys();
  if (keys.length === 0) {
    // Said before any fetch: no manifest could ever verify (a build made without --update-key).
    throw new UpdateCheckError(
      "no-key",
      "this build pins no update key (it was built without --update-key): it cannot verify any manifest; install a release build",
    );
  }
  const body = await fetchManifest(settings.manifestUrl, settings.timeoutMs);
  const { manifest } = openManifest(body, keys);
  return judge(manifest, current, platform);
}
