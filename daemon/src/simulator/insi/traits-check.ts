/**
 * What the real INSi refuses in a traits search beyond the XSDs (whose types are plain strings),
 * re-stated here from the public quotes of SEL-MP-043 v05.00.01 — independently of the client's
 * normaliser (ins/traits.ts), so that the simulator judges it rather than mirrors it:
 * - §2 "Limitations du téléservice": no lower case, no diacritics, no ligatures; A–Z, space,
 *   apostrophe, hyphen and double hyphen only;
 * - §3.4.1 (EF_INS01_03, EF_INS10_01/02): first character a letter or an apostrophe; space and
 *   apostrophe neither doubled nor next to each other; a given name holds no double hyphen and does
 *   not end with a hyphen or an apostrophe;
 * - an empty or missing sex: fault insi_24 "Le format du champ sexe est incorrect" (the only INSi
 *   format fault code seen publicly, Ophtao-Program/Etude-appel-INSi-StudioVision README).
 * Other refusals carry the simulator's own code SIM_FORMAT: their real codes are not public.
 * Never stricter than the quotes: a birth name may end with an apostrophe or a hyphen here.
 */
export interface TraitsRefusal {
  readonly code: "insi_24" | "SIM_FORMAT";
  readonly message: string;
}

const CHARSET = /^[A-Z' -]+$/;
const BAD_SEPARATORS = /(?: {2}|''|' | '|---)/;

function nameProblem(value: string, given: boolean): string | undefined {
  if (value === "") return "vide";
  if (!CHARSET.test(value)) return "caractère non autorisé (minuscule, accent, ligature ou autre)";
  if (!/^[A-Z']/.test(value)) return "premier caractère non autorisé";
  if (BAD_SEPARATORS.test(value)) return "séparateurs doublés ou combinés";
  if (given && value.includes("--")) return "double tiret interdit dans un prénom";
  if (given && /[-']$/.test(value)) return "un prénom ne finit ni par un tiret ni par une apostrophe";
  return undefined;
}

export interface SentTraits {
  readonly birthName?: string | undefined;
  readonly prenoms: readonly string[];
  readonly sex?: string | undefined;
  readonly birthDate?: string | undefined;
  readonly birthPlace?: string | undefined;
}

export function checkTraits(traits: SentTraits): TraitsRefusal | undefined {
  if (traits.sex !== "M" && traits.sex !== "F")
    return { code: "insi_24", message: "Le format du champ sexe est incorrect" };
  if (traits.birthName === undefined) return { code: "SIM_FORMAT", message: "nom de naissance absent" };
  const birth = nameProblem(traits.birthName, false);
  if (birth !== undefined) return { code: "SIM_FORMAT", message: `nom de naissance : ${birth}` };
  if (traits.prenoms.length === 0) return { code: "SIM_FORMAT", message: "prénom absent" };
  for (const prenom of traits.prenoms) {
    // One Prenom may hold the whole list, separated by spaces: each name is checked.
    for (const name of prenom.split(" ")) {
      const problem = nameProblem(name, true);
      if (problem !== undefined) return { code: "SIM_FORMAT", message: `prénom : ${problem}` };
    }
  }
  if (traits.birthDate === undefined || !/^\d{4}-(?:0\d|1[0-2])-(?:[0-2]\d|3[01])$/.test(traits.birthDate))
    return { code: "SIM_FORMAT", message: "date de naissance absente ou mal formée" };
  if (traits.birthPlace !== undefined && !/^[0-9][0-9AB][0-9]{3}$/.test(traits.birthPlace))
    return { code: "SIM_FORMAT", message: "lieu de naissance mal formé" };
  return undefined;
}
