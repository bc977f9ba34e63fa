/**
 * The public test identities the simulator serves: identities of the INSi qualification service
 * and CNDA sample cases as published in public client test suites (see docs/insi.md). They are
 * fictitious, and so is the lab's demo Vitale family at the end. HERMANN's keys do not verify, as in the CNDA sample: the simulator keeps them so that
 * clients exercise that path.
 */
import { INS_OID } from "../../ins/oid.ts";

export interface SimulatedMatricule {
  readonly value: string;
  readonly key: string;
  readonly oid: string;
  readonly validFrom?: string;
  readonly validTo?: string;
}

export interface SimulatedIdentity {
  readonly birthName: string;
  /** ListePrenom, in order. */
  readonly firstNames: readonly string[];
  readonly sex: "M" | "F";
  readonly birthDate: string;
  readonly birthPlace?: string;
  /** "multiple": INSi finds several identities for these traits (CR 02). */
  readonly outcome: "found" | "multiple";
  readonly active?: SimulatedMatricule;
  readonly history?: readonly SimulatedMatricule[];
  /** CNDA samples also carry Prenom next to ListePrenom; live answers do not. */
  readonly withPrenom?: boolean;
}

const nir = (value: string, key: string, extra: Partial<SimulatedMatricule> = {}): SimulatedMatricule => ({
  value,
  key,
  oid: INS_OID.NIR,
  ...extra,
});

export const SIMULATED_IDENTITIES: readonly SimulatedIdentity[] = [
  {
    birthName: "ADRUN",
    firstNames: ["ZOE"],
    sex: "F",
    birthDate: "1975-12-31",
    birthPlace: "63220",
    outcome: "found",
    active: nir("2751263220749", "74"),
  },
  {
    birthName: "ADRTROIS",
    firstNames: ["DOMINIQUE"],
    sex: "F",
    birthDate: "1997-02-26",
    birthPlace: "2A020",
    outcome: "found",
    active: nir("297022A020778", "78"),
  },
  {
    birthName: "ADRTROIS",
    firstNames: ["TOUSSAINT"],
    sex: "M",
    birthDate: "1960-01-01",
    birthPlace: "2B020",
    outcome: "found",
    active: nir("160012B020777", "13"),
  },
  {
    birthName: "ECETINSI",
    firstNames: ["PIERRE-ALAIN", "MURIEL", "FLORIANT"],
    sex: "M",
    birthDate: "2009-07-14",
    birthPlace: "63220",
    outcome: "found",
    active: nir("1090763220834", "89"),
    history: [
      nir("2090763220834", "39", { validFrom: "2019-03-01", validTo: "2019-02-28" }),
      nir("2090663220123", "55"),
    ],
  },
  {
    birthName: "TCHITCHI",
    firstNames: ["CATARINA", "BELLA"],
    sex: "F",
    birthDate: "1936-06-21",
    birthPlace: "63220",
    outcome: "found",
    active: nir("2360663220836", "56"),
  },
  { birthName: "DE VINCI", firstNames: ["LEONARDO"], sex: "M", birthDate: "2014-02-01", outcome: "multiple" },
  {
    birthName: "NESSI",
    firstNames: ["MICHELANGELO", "ANTHONY"],
    sex: "M",
    birthDate: "2010-08-07",
    birthPlace: "63220",
    outcome: "found",
    active: nir("1100863220830", "60"),
  },
  {
    birthName: "CORSE",
    firstNames: ["ANTHONY"],
    sex: "M",
    birthDate: "1980-03-02",
    birthPlace: "2B020",
    outcome: "found",
    active: nir("180032B020401", "23"),
    history: [nir("180032B020401", "23")],
    withPrenom: true,
  },
  {
    birthName: "HERMANN",
    firstNames: ["GATIEN"],
    sex: "M",
    birthDate: "1981-03-24",
    birthPlace: "63220",
    outcome: "found",
    active: nir("1810363220456", "60"),
    history: [nir("1810363220456", "60"), nir("2810363220456", "10")],
    withPrenom: true,
  },
  {
    birthName: "PROVISOIRE",
    firstNames: ["MATRICULE"],
    sex: "M",
    birthDate: "2009-07-01",
    birthPlace: "63220",
    outcome: "found",
    active: { value: "1090763220888", key: "35", oid: INS_OID.NIA },
    withPrenom: true,
  },
  // CNDA-numbered public test 2.03 case 1 (a Java INSi wrapper's tests) expects CR 00 for these
  // traits without giving the identity's matricule: this one is ours (fictitious, key computed).
  {
    birthName: "D'ARTAGNAN DE L'HERAULT",
    firstNames: ["PIERRE-ALAIN"],
    sex: "M",
    birthDate: "2001-06-17",
    birthPlace: "63220",
    outcome: "found",
    active: nir("1010663220999", "09"),
  },
  // The lab's demo Vitale card (simulator/cards/vitale2/fixtures.ts), fictional too: the insured
  // person and the spouse are known to INSi, so the demo's search from the card finds them. The
  // twins carry their parent's NIR on the card and are not known here: the demo shows CR 01 too.
  {
    birthName: "LE GOFF-D'ARVOR",
    firstNames: ["JEAN-BAPTISTE", "YANN"],
    sex: "M",
    birthDate: "1980-01-15",
    birthPlace: "2A004",
    outcome: "found",
    active: nir("180012A004123", "43"),
  },
  {
    birthName: "N'DIAYE",
    firstNames: ["MARIE-CLAIRE"],
    sex: "F",
    birthDate: "1982-00-00",
    birthPlace: "99350",
    outcome: "found",
    active: nir("2822099350045", "56"),
  },
];

export interface TraitsQuery {
  readonly birthName?: string | undefined;
  readonly prenoms: readonly string[];
  readonly sex?: string | undefined;
  readonly birthDate?: string | undefined;
  readonly birthPlace?: string | undefined;
}

/**
 * INSi-like matching: birth name, sex and date must be equal; the given name sent must be the first
 * of the list or the whole list; a birth place, when sent, must be equal.
 */
export function findByTraits(query: TraitsQuery, identities = SIMULATED_IDENTITIES): SimulatedIdentity[] {
  const sent = query.prenoms.join(" ");
  return identities.filter(
    (identity) =>
      identity.birthName === query.birthName &&
      identity.sex === query.sex &&
      identity.birthDate === query.birthDate &&
      (query.birthPlace === undefined || identity.birthPlace === query.birthPlace) &&
      (sent === identity.firstNames[0] || sent === identity.firstNames.join(" ")),
  );
}

/** Vitale search: a matricule from the card (beneficiary's or insured's) and the birth date. */
export function findByMatricule(
  matricules: readonly string[],
  birthDate: string | undefined,
  identities = SIMULATED_IDENTITIES,
): SimulatedIdentity[] {
  return identities.filter(
    (identity) =>
      identity.birthDate === birthDate &&
      [identity.active, ...(identity.history ?? [])].some(
        (m) => m !== undefined && matricules.includes(m.value),
      ),
  );
}
