/**
 * Identity vigilance (RNIV, Référentiel national d'identitovigilance) for the web application: the
 * daemon never stores identities, so the status of an identity in the EHR is the EHR's to keep. These
 * pure functions give it the rules:
 *
 * - four trust statuses (RNIV requirement EXI SI 07, as coded in FR Core's identity-status code system
 *   PROV / VALI / RECUP / QUAL): an identity is *qualifiée* only when its INS was retrieved or verified
 *   by INSi (traits compared) AND the identity was checked against a high-trust document;
 * - attributes: *douteuse* and *fictive* force the provisional status and forbid the INSi call;
 *   *homonyme* may stand alone or with *douteuse*; no other combination is allowed (RNIV volet 1, as
 *   summarised in Passerelle's issue 11 — the requirement numbers of the attribute rules are not
 *   verified here);
 * - only a qualified identity may be referenced with its INS (EXI SI 08).
 *
 * Sources: FR Core `FRCoreCodeSystemIdentityStatus` (status codes and definitions), RNIV EXI SI 07 and
 * EXI SI 08 as quoted in FR Core PR #306; see docs/integration-guide.md.
 */

export const IDENTITY_STATUSES = ["provisoire", "recuperee", "validee", "qualifiee"] as const;
export type IdentityStatus = (typeof IDENTITY_STATUSES)[number];

/** FR Core's code for each status (identity-status code system). */
export const IDENTITY_STATUS_CODES: Readonly<Record<IdentityStatus, "PROV" | "RECUP" | "VALI" | "QUAL">> = {
  provisoire: "PROV",
  recuperee: "RECUP",
  validee: "VALI",
  qualifiee: "QUAL",
};

export const IDENTITY_ATTRIBUTES = ["douteuse", "fictive", "homonyme"] as const;
export type IdentityAttribute = (typeof IDENTITY_ATTRIBUTES)[number];

/** What the INSi teleservice said about this identity. */
export type InsiEvidence =
  /** No INSi call, or one that found nothing, several people, or traits that differ. */
  | "none"
  /** INSi returned the INS and its traits, and they were compared with the person's (search CR 00, or verification confirmed). */
  | "retrieved";

/** Which identity document the person showed at the desk. */
export type DocumentEvidence =
  | "none"
  /** Health insurance card, driving licence, …: does not validate an identity. */
  | "low-trust"
  /** Identity card, passport, residence permit, or the birth certificate / family book for a minor. */
  | "high-trust";

export interface IdentityEvidence {
  insi: InsiEvidence;
  document: DocumentEvidence;
  attributes?: readonly IdentityAttribute[];
}

export interface IdentityAssessment {
  status: IdentityStatus;
  /** FR Core's code of the status. */
  code: (typeof IDENTITY_STATUS_CODES)[IdentityStatus];
  /** False for a *douteuse* or *fictive* identity: no INSi call for it. */
  insiCallAllowed: boolean;
  /** True only for a qualified identity: the INS may then be used to reference health data (EXI SI 08). */
  insUsable: boolean;
  /** The attributes, deduplicated, in a stable order. */
  attributes: IdentityAttribute[];
}

export type IdentityRuleViolation = "UNKNOWN_ATTRIBUTE" | "INCOMPATIBLE_ATTRIBUTES" | "INVALID_EVIDENCE";

/** A rule of identity vigilance refused the input; `rule` is stable, match on it. */
export class IdentityRuleError extends Error {
  override readonly name = "IdentityRuleError";
  readonly rule: IdentityRuleViolation;
  constructor(rule: IdentityRuleViolation, message: string) {
    super(message);
    this.rule = rule;
  }
}

/** Checks an attribute set: alone each is allowed; together, only *douteuse* + *homonyme*. */
export function checkIdentityAttributes(attributes: readonly string[]): IdentityAttribute[] {
  const unique = new Set<IdentityAttribute>();
  for (const attribute of attributes) {
    if (!(IDENTITY_ATTRIBUTES as readonly string[]).includes(attribute)) {
      throw new IdentityRuleError(
        "UNKNOWN_ATTRIBUTE",
        `unknown identity attribute "${attribute}" (expected ${IDENTITY_ATTRIBUTES.join(", ")})`,
      );
    }
    unique.add(attribute as IdentityAttribute);
  }
  const ordered = IDENTITY_ATTRIBUTES.filter((attribute) => unique.has(attribute));
  const allowedPair = ordered.length === 2 && unique.has("douteuse") && unique.has("homonyme");
  if (ordered.length > 1 && !allowedPair) {
    throw new IdentityRuleError(
      "INCOMPATIBLE_ATTRIBUTES",
      `identity attributes ${ordered.join(" + ")} cannot be combined (only douteuse + homonyme can)`,
    );
  }
  return ordered;
}

/** The RNIV status of an identity from what INSi said, the document shown and the attributes. */
export function assessIdentity(evidence: IdentityEvidence): IdentityAssessment {
  if (!["none", "retrieved"].includes(evidence.insi)) {
    throw new IdentityRuleError("INVALID_EVIDENCE", `insi must be "none" or "retrieved"`);
  }
  if (!["none", "low-trust", "high-trust"].includes(evidence.document)) {
    throw new IdentityRuleError("INVALID_EVIDENCE", `document must be "none", "low-trust" or "high-trust"`);
  }
  const attributes = checkIdentityAttributes(evidence.attributes ?? []);
  const blocked = attributes.includes("douteuse") || attributes.includes("fictive");
  const retrieved = !blocked && evidence.insi === "retrieved";
  const documented = !blocked && evidence.document === "high-trust";
  const status: IdentityStatus =
    retrieved && documented ? "qualifiee" : retrieved ? "recuperee" : documented ? "validee" : "provisoire";
  return {
    status,
    code: IDENTITY_STATUS_CODES[status],
    insiCallAllowed: !blocked,
    insUsable: status === "qualifiee",
    attributes,
  };
}

/**
 * What an INSi answer through Passerelle says, as evidence. A verification (`insi.verify`) that
 * confirmed every trait counts at once: the daemon compared them. A search that found one identity
 * (CR 00) counts only once the EHR has compared the returned traits with the person in front of it
 * (RNIV: an identity is *récupérée* after a successful comparison): pass `traitsCompared: true` then.
 * Anything else (not found, several, mismatch) is no evidence.
 */
export function insiEvidence(
  result: { outcome: string },
  options: { traitsCompared?: boolean } = {},
): InsiEvidence {
  if (result.outcome === "confirmed") return "retrieved";
  return result.outcome === "found" && options.traitsCompared === true ? "retrieved" : "none";
}
