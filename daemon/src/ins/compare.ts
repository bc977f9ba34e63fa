/**
 * Comparison of locally held traits with the reference traits INSi returned (insi.verify).
 *
 * Both sides are compared in their normalised form, field by field:
 * - birthName, sex, birthDate: equal strings;
 * - firstNames: the local list must be the leading part of INSi's list (a record that holds only
 *   the first given name is not a mismatch; a different or extra given name is);
 * - birthPlace: compared only when the local record has one (it is optional in INSi too);
 * - ins: the matricule the caller holds must be INSi's active one; a matricule found only in the
 *   history is a difference (the record must be updated).
 * The differences list names the field and both values: it goes to the web app that sent the local
 * values, never to a log.
 */
import type { NormalisedTraits } from "./traits.ts";

export interface TraitDifference {
  readonly field: "ins" | "oid" | "birthName" | "firstNames" | "sex" | "birthDate" | "birthPlace";
  readonly local: string;
  readonly insi: string;
}

/** The reference side: traits as INSi returned them, already normalised by the response parser. */
export interface ReferenceTraits {
  readonly birthName: string;
  readonly firstNames: readonly string[];
  readonly sex: string;
  readonly birthDate: string;
  readonly birthPlace?: string | undefined;
}

export function compareTraits(local: NormalisedTraits, reference: ReferenceTraits): TraitDifference[] {
  const differences: TraitDifference[] = [];
  if (local.birthName !== reference.birthName) {
    differences.push({ field: "birthName", local: local.birthName, insi: reference.birthName });
  }
  const isLeadingPart = local.firstNames.every((name, index) => reference.firstNames[index] === name);
  if (!isLeadingPart || local.firstNames.length > reference.firstNames.length) {
    differences.push({
      field: "firstNames",
      local: local.firstNames.join(" "),
      insi: reference.firstNames.join(" "),
    });
  }
  if (local.sex !== reference.sex) differences.push({ field: "sex", local: local.sex, insi: reference.sex });
  if (local.birthDate !== reference.birthDate) {
    differences.push({ field: "birthDate", local: local.birthDate, insi: reference.birthDate });
  }
  if (local.birthPlace !== undefined && local.birthPlace !== reference.birthPlace) {
    differences.push({ field: "birthPlace", local: local.birthPlace, insi: reference.birthPlace ?? "" });
  }
  return differences;
}

/** A difference on the matricule, if the one held locally is not INSi's active one. */
export function compareIns(localIns: string, activeIns: string): TraitDifference | undefined {
  return localIns === activeIns ? undefined : { field: "ins", local: localIns, insi: activeIns };
}
