/**
 * OIDs of the authorities that assign INS matricules (FR Core code system v2-0203; ANS list of
 * INS assigning authorities). INSi qualification answers its test identities with the NIR OID,
 * not the "test" one, so every OID other than the NIA's denotes a NIR-type matricule.
 */

export const INS_OID = {
  /** INS-NIR: the definitive NIR. */
  NIR: "1.2.250.1.213.1.4.8",
  /** INS-NIA: a temporary number assigned while the NIR is not known. */
  NIA: "1.2.250.1.213.1.4.9",
  /** INS-NIR of fictitious test patients. */
  TEST: "1.2.250.1.213.1.4.10",
  /** INS-NIR of fictitious demonstration patients. */
  DEMO: "1.2.250.1.213.1.4.11",
} as const;

export type InsOid = (typeof INS_OID)[keyof typeof INS_OID];
export type InsType = "NIR" | "NIA";

const KNOWN_OIDS: ReadonlySet<string> = new Set(Object.values(INS_OID));

export function isKnownInsOid(oid: string): oid is InsOid {
  return KNOWN_OIDS.has(oid);
}

/** NIA for the NIA OID, NIR for everything else (including test and demo OIDs). */
export function insTypeForOid(oid: string): InsType {
  return oid === INS_OID.NIA ? "NIA" : "NIR";
}
