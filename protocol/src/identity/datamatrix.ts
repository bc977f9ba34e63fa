/**
 * The INS datamatrix: the character string that every document bearing a qualified INS must print
 * as a 2D code (ANS, « Format datamatrix INS », v2.2). This module builds and reads the string; drawing
 * the symbol (ECC 200) is left to the EHR's barcode library.
 *
 * Layout (sources: the ANS document as named in Passerelle's issue 11; the field lengths and the
 * <GS> rule as implemented publicly by the OpenXtrem Mediboard EHR — the ANS PDF itself was not
 * readable here, so the lengths below are a cross-check of one implementation, not of the text):
 *
 *   header  "IS" + version "01" + 22 reserved "0"           26 characters
 *   S1      INS matricule: NIR or NIA, 13 characters + key  15, fixed
 *   S2      OID of the INS authority                         ≤ 20, variable
 *   S3      birth first names, the list as INSi returns it   ≤ 100, variable
 *   S4      birth name                                        ≤ 100, variable
 *   S5      sex, M or F                                       1, fixed
 *   S6      birth date JJ-MM-AAAA                             10, fixed
 *   S7      birth place, INSEE/COG code (optional)           5, fixed
 *
 * A variable field shorter than its maximum is closed by the group separator <GS> (0x1D).
 */

export const GS = "\u001d";
export const INS_DATAMATRIX_HEADER = "IS01" + "0".repeat(22);

interface FieldSpec {
  id: "S1" | "S2" | "S3" | "S4" | "S5" | "S6" | "S7";
  max: number;
  fixed: boolean;
}
const FIELDS: readonly FieldSpec[] = [
  { id: "S1", max: 15, fixed: true },
  { id: "S2", max: 20, fixed: false },
  { id: "S3", max: 100, fixed: false },
  { id: "S4", max: 100, fixed: false },
  { id: "S5", max: 1, fixed: true },
  { id: "S6", max: 10, fixed: true },
  { id: "S7", max: 5, fixed: true },
];

export interface InsDatamatrixIdentity {
  /** The 13-character NIR or NIA, and its 2-digit key. */
  ins: { value: string; key: string; oid: string };
  birthName: string;
  /** Birth first names, in order (INSi's ListePrenom split on spaces, or as the EHR keeps them). */
  firstNames: readonly string[];
  sex: "M" | "F";
  /** YYYY-MM-DD; 00 stands for an unknown day or month (lunar dates), as INSi returns them. */
  birthDate: string;
  birthPlace?: string;
}

export class InsDatamatrixError extends Error {
  override readonly name = "InsDatamatrixError";
  /** The field at fault: "S1"…"S7", "header", or "status". */
  readonly field: string;
  constructor(field: string, message: string) {
    super(message);
    this.field = field;
  }
}

const MATRICULE = /^[0-9]{6}[0-9AB][0-9]{6}[0-9]{2}$/;
const OID = /^[0-9]+(\.[0-9]+)+$/;
/** The INSi character set of names: capitals, space, hyphen, apostrophe (no control characters). */
const NAME = /^[A-Z][A-Z '-]*$/;
const ISO_DATE = /^([0-9]{4})-([0-9]{2})-([0-9]{2})$/;
const DM_DATE = /^([0-9]{2})-([0-9]{2})-([0-9]{4})$/;
const COG = /^(?:[0-9]{2}|2A|2B)[0-9]{3}$/;

function fieldText(spec: FieldSpec, value: string): string {
  if (value.length > spec.max) {
    throw new InsDatamatrixError(spec.id, `${spec.id} is longer than ${spec.max} characters`);
  }
  if (value.includes(GS)) throw new InsDatamatrixError(spec.id, `${spec.id} contains a group separator`);
  return spec.id + value + (!spec.fixed && value.length < spec.max ? GS : "");
}

/**
 * The datamatrix string of a qualified identity. Only a qualified identity's INS may be printed
 * (RNIV EXI SI 08): pass the status the EHR holds; anything but "qualifiee" is refused.
 */
export function insDatamatrix(identity: InsDatamatrixIdentity, status: string): string {
  if (status !== "qualifiee") {
    throw new InsDatamatrixError("status", `only a qualified identity bears its INS (status: ${status})`);
  }
  const matricule = `${identity.ins.value}${identity.ins.key}`;
  if (!MATRICULE.test(matricule)) {
    throw new InsDatamatrixError("S1", "S1 must be a 13-character NIR or NIA followed by its 2-digit key");
  }
  if (!OID.test(identity.ins.oid)) throw new InsDatamatrixError("S2", "S2 must be a dotted OID");
  const firstNames = identity.firstNames.join(" ");
  if (identity.firstNames.length === 0 || !identity.firstNames.every((name) => NAME.test(name))) {
    throw new InsDatamatrixError(
      "S3",
      "S3 must be birth first names in capitals (A-Z, space, hyphen, apostrophe)",
    );
  }
  if (!NAME.test(identity.birthName)) {
    throw new InsDatamatrixError(
      "S4",
      "S4 must be a birth name in capitals (A-Z, space, hyphen, apostrophe)",
    );
  }
  if (identity.sex !== "M" && identity.sex !== "F") throw new InsDatamatrixError("S5", "S5 must be M or F");
  const date = ISO_DATE.exec(identity.birthDate);
  if (!date) throw new InsDatamatrixError("S6", "S6 needs a birth date as YYYY-MM-DD");
  const [, year, month, day] = date;
  if (identity.birthPlace !== undefined && !COG.test(identity.birthPlace)) {
    throw new InsDatamatrixError("S7", "S7 must be a 5-character INSEE (COG) code");
  }
  const values = [
    matricule,
    identity.ins.oid,
    firstNames,
    identity.birthName,
    identity.sex,
    `${day}-${month}-${year}`,
  ];
  if (identity.birthPlace !== undefined) values.push(identity.birthPlace);
  return INS_DATAMATRIX_HEADER + values.map((value, index) => fieldText(FIELDS[index]!, value)).join("");
}

export interface InsDatamatrixContent {
  ins: { value: string; key: string; oid: string };
  birthName: string;
  firstNames: string[];
  sex: "M" | "F";
  /** YYYY-MM-DD. */
  birthDate: string;
  birthPlace?: string;
}

/** Reads a scanned INS datamatrix string back into its fields; refuses anything off the format. */
export function parseInsDatamatrix(text: string): InsDatamatrixContent {
  if (!text.startsWith(INS_DATAMATRIX_HEADER)) {
    throw new InsDatamatrixError("header", `the string does not start with ${INS_DATAMATRIX_HEADER}`);
  }
  let at = INS_DATAMATRIX_HEADER.length;
  const values = new Map<string, string>();
  for (const spec of FIELDS) {
    if (at === text.length && spec.id === "S7") break;
    if (text.slice(at, at + 2) !== spec.id) throw new InsDatamatrixError(spec.id, `${spec.id} expected`);
    at += 2;
    let value: string;
    if (spec.fixed) {
      value = text.slice(at, at + spec.max);
      at += spec.max;
    } else {
      const end = text.indexOf(GS, at);
      const stop = end === -1 || end - at > spec.max ? at + spec.max : end;
      value = text.slice(at, stop);
      at = stop === end ? stop + 1 : stop;
    }
    if (value.length !== (spec.fixed ? spec.max : value.length) || value.includes(GS)) {
      throw new InsDatamatrixError(spec.id, `${spec.id} is truncated`);
    }
    values.set(spec.id, value);
  }
  if (at !== text.length) throw new InsDatamatrixError("S7", "characters after the last field");
  const matricule = values.get("S1")!;
  const dm = DM_DATE.exec(values.get("S6")!);
  const sex = values.get("S5");
  if (!MATRICULE.test(matricule)) throw new InsDatamatrixError("S1", "S1 is not a NIR or NIA with its key");
  if (!OID.test(values.get("S2")!)) throw new InsDatamatrixError("S2", "S2 is not an OID");
  if (!NAME.test(values.get("S3")!)) throw new InsDatamatrixError("S3", "S3 is not a list of first names");
  if (!NAME.test(values.get("S4")!)) throw new InsDatamatrixError("S4", "S4 is not a birth name");
  if (sex !== "M" && sex !== "F") throw new InsDatamatrixError("S5", "S5 is not M or F");
  if (!dm) throw new InsDatamatrixError("S6", "S6 is not a JJ-MM-AAAA date");
  const birthPlace = values.get("S7");
  if (birthPlace !== undefined && !COG.test(birthPlace))
    throw new InsDatamatrixError("S7", "S7 is not a COG code");
  return {
    ins: { value: matricule.slice(0, 13), key: matricule.slice(13), oid: values.get("S2")! },
    birthName: values.get("S4")!,
    firstNames: values.get("S3")!.split(" "),
    sex,
    birthDate: `${dm[3]}-${dm[2]}-${dm[1]}`,
    ...(birthPlace !== undefined ? { birthPlace } : {}),
  };
}
