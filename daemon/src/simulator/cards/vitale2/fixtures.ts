/**
 * Fictional beneficiaries for the emulated Vitale 2. No real person: names are invented and the
 * NIRs are made up (their keys are computed, so they verify).
 *
 * The family covers the cases a reader gets wrong: a Corsican NIR (2A), a lunar birth date (day
 * and month 00), twins with birth ranks, names with hyphens and apostrophes. Children on a parent's
 * card carry the parent's NIR (the "ouvrant droit"): for twins, only the birth rank tells them apart.
 */
import type { Vitale2Beneficiary } from "./image.ts";

/** Insured person, born in Ajaccio (2A004). */
const INSURED: Vitale2Beneficiary = {
  nir: "180012A004123",
  lastName: "LE GOFF-D'ARVOR",
  firstName: "JEAN-BAPTISTE",
  birthDate: "19800115",
  nationality: "FRA",
};

/** Spouse with a lunar birth date (day and month unknown: 00), born abroad (99 + country code). */
const SPOUSE: Vitale2Beneficiary = {
  nir: "2822099350045",
  lastName: "N'DIAYE",
  firstName: "MARIE-CLAIRE",
  birthDate: "19820000",
};

/** Twins: same NIR (the insured's), same birth date, ranks 1 and 2. */
const TWIN_1: Vitale2Beneficiary = {
  nir: INSURED.nir,
  lastName: "LE GOFF-D'ARVOR",
  firstName: "LOUIS",
  birthDate: "20150612",
  birthRank: 1,
};
const TWIN_2: Vitale2Beneficiary = { ...TWIN_1, firstName: "ANNE-SOPHIE", birthRank: 2 };

/** Two more for a full card: a Corsican 2B NIR and an apostrophe in the first name. */
const ELDER: Vitale2Beneficiary = {
  nir: "170032B033017",
  lastName: "O'NEILL",
  firstName: "SEAN",
  birthDate: "19700312",
};
const CHILD: Vitale2Beneficiary = {
  nir: INSURED.nir,
  lastName: "LE GOFF-D'ARVOR",
  firstName: "MAËLLE D'ANNA",
  birthDate: "20160229",
  birthRank: 1,
};

/** The default family: 4 beneficiaries. */
export const FAMILY_OF_4: readonly Vitale2Beneficiary[] = [INSURED, SPOUSE, TWIN_1, TWIN_2];
/** The largest card the emulator holds: 6 beneficiaries. */
export const FAMILY_OF_6: readonly Vitale2Beneficiary[] = [INSURED, SPOUSE, TWIN_1, TWIN_2, ELDER, CHILD];
/** One beneficiary: the insured person alone. */
export const SINGLE: readonly Vitale2Beneficiary[] = [INSURED];
