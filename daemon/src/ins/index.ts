/** INS domain: matricules and keys, OIDs, identity traits, comparison. Pure, no I/O. */
export { NIR_LENGTH, isNirShape, nirKey, isNirKeyValid, nirStructure, type NirStructure } from "./nir.ts";
export { INS_OID, isKnownInsOid, insTypeForOid, type InsOid, type InsType } from "./oid.ts";
export {
  MAX_NAME_LENGTH,
  MAX_FIRST_NAMES,
  normaliseName,
  normaliseFirstNames,
  normaliseSex,
  normaliseBirthDate,
  normaliseBirthPlace,
  normaliseTraits,
  splitListePrenom,
  isBornAbroad,
  InvalidTraitsError,
  type Sex,
  type IdentityTraitsInput,
  type NormalisedTraits,
  type TraitIssue,
  type Normalised,
} from "./traits.ts";
export { compareTraits, compareIns, type TraitDifference, type ReferenceTraits } from "./compare.ts";
