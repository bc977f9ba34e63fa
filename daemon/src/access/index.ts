/**
 * Who may use the daemon: the administrator's allowlist and deny list, the user's grants (pairing
 * on the daemon's consent page), and the rules for origins that are neither (docs/security.md).
 */
export { AllowlistPolicy, type AccessPolicy, type AllowlistOptions } from "./access-policy.ts";
export {
  DENIAL_COOLDOWN_MS,
  PairingPolicy,
  isPairable,
  type PairingControl,
  type PairingOptions,
} from "./pairing-policy.ts";
export { DenialStore, DenialStoreError, MAX_DENIALS, denialsFile, type Denial } from "./denial-store.ts";
export { CONSENT_LIMITS, CONSENT_TIMEOUT_MS, type ConsentLimits } from "./consent.ts";
export {
  GrantStore,
  GrantStoreError,
  grantsFile,
  readGrants,
  writeGrants,
  type Grant,
} from "./grant-store.ts";
