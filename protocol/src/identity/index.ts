/**
 * Identity vigilance helpers for the web application (the daemon stores no identity): RNIV statuses
 * and attributes, and the INS datamatrix string. Pure functions, no I/O; bundled with the SDK.
 */
export {
  IDENTITY_ATTRIBUTES,
  IDENTITY_STATUSES,
  IDENTITY_STATUS_CODES,
  IdentityRuleError,
  assessIdentity,
  checkIdentityAttributes,
  insiEvidence,
} from "./rniv.ts";
export type {
  DocumentEvidence,
  IdentityAssessment,
  IdentityAttribute,
  IdentityEvidence,
  IdentityRuleViolation,
  IdentityStatus,
  InsiEvidence,
} from "./rniv.ts";
export {
  GS,
  INS_DATAMATRIX_HEADER,
  InsDatamatrixError,
  insDatamatrix,
  parseInsDatamatrix,
} from "./datamatrix.ts";
export type { InsDatamatrixContent, InsDatamatrixIdentity } from "./datamatrix.ts";
