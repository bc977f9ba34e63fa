/** What the simulator answers: RESULTAT envelopes and SOAP 1.2 faults with siram:Erreur. */
import { escapeXml } from "../../insi/xml.ts";
import { NS, OPERATIONS, type InsiOperation } from "../../insi/namespaces.ts";
import type { SimulatedIdentity, SimulatedMatricule } from "./identities.ts";

export const CR_LABELS = {
  "00": "OK",
  "01": "Aucune identite trouvee",
  "02": "Plusieurs identites trouvees",
} as const;
export type CrCode = keyof typeof CR_LABELS;

export interface SimulatorFault {
  readonly httpStatus: number;
  readonly soapCode: "Sender" | "Receiver";
  readonly subcode?: string;
  readonly reason: string;
  readonly code: string;
  readonly severity: "information" | "avertissement" | "erreur" | "fatale";
  readonly message: string;
}

/** Faults the real service is known to send (public client fixtures and notes), plus simulator-only ones (SIM_*). */
export const FAULTS = {
  unknownIdam: {
    httpStatus: 500,
    soapCode: "Sender",
    subcode: "siram_100",
    reason:
      "L'accès par ce progiciel au service n'est pas autorisé. Contactez l'éditeur du progiciel ou votre responsable informatique.",
    code: "desir_550",
    severity: "erreur",
    message: "Numéro d'autorisation du logiciel inconnu.",
  },
  wrongCn: {
    httpStatus: 500,
    soapCode: "Sender",
    reason: "Vous ne disposez pas des droits suffisants pour accéder à ce service",
    code: "DESIR_560",
    severity: "erreur",
    message: "Niveau d'accès insuffisant",
  },
  header: (message: string): SimulatorFault => ({
    httpStatus: 500,
    soapCode: "Sender",
    reason: "Requête non conforme (simulateur)",
    code: "SIM_ENTETE",
    severity: "erreur",
    message,
  }),
  /** A request the contract's schemas refuse; the real service's code for it is not public. */
  schema: (message: string): SimulatorFault => ({
    httpStatus: 500,
    soapCode: "Sender",
    reason: "Requête non conforme au contrat (simulateur)",
    code: "SIM_SCHEMA",
    severity: "erreur",
    message,
  }),
  /** A trait the service refuses: insi_24 for the sex (seen publicly), SIM_FORMAT otherwise. */
  format: (code: "insi_24" | "SIM_FORMAT", message: string): SimulatorFault => ({
    httpStatus: 500,
    soapCode: "Sender",
    ...(code === "insi_24" ? { subcode: "insi_24" } : {}),
    reason: code === "insi_24" ? message : "Format de donnée incorrect (simulateur)",
    code,
    severity: "erreur",
    message,
  }),
  /** PSC mode: a missing, foreign or expired bearer token (the real code is not public). */
  psc: (message: string): SimulatorFault => ({
    httpStatus: 500,
    soapCode: "Sender",
    reason: "Authentification Pro Santé Connect refusée (simulateur)",
    code: "SIM_PSC",
    severity: "erreur",
    message,
  }),
  assertion: (message: string): SimulatorFault => ({
    httpStatus: 500,
    soapCode: "Sender",
    reason: "Authentification refusée (simulateur)",
    code: "SIM_ASSERTION",
    severity: "erreur",
    message,
  }),
  internal: {
    httpStatus: 500,
    soapCode: "Receiver",
    reason: "Erreur technique (panne simulée)",
    code: "SIM_INTERNE",
    severity: "fatale",
    message: "Erreur technique simulée",
  },
} as const satisfies Record<string, SimulatorFault | ((...args: never[]) => SimulatorFault)>;

function envelope(operation: InsiOperation | undefined, relatesTo: string | undefined, body: string): string {
  const header =
    operation === undefined
      ? ""
      : `<soap:Header><wsa:Action xmlns:wsa="${NS.wsa}">${OPERATIONS[operation].responseAction}</wsa:Action>` +
        (relatesTo === undefined
          ? ""
          : `<wsa:RelatesTo xmlns:wsa="${NS.wsa}">${escapeXml(relatesTo)}</wsa:RelatesTo>`) +
        `</soap:Header>`;
  return `<?xml version="1.0" encoding="UTF-8"?><soap:Envelope xmlns:soap="${NS.soap}">${header}<soap:Body>${body}</soap:Body></soap:Envelope>`;
}

function matricule(name: string, m: SimulatedMatricule): string {
  return (
    `<${name}><IdIndividu><NumIdentifiant>${m.value}</NumIdentifiant><Cle>${m.key}</Cle></IdIndividu><OID>${m.oid}</OID>` +
    (m.validFrom === undefined ? "" : `<DateDeb>${m.validFrom}</DateDeb>`) +
    (m.validTo === undefined ? "" : `<DateFin>${m.validTo}</DateFin>`) +
    `</${name}>`
  );
}

export function resultatEnvelope(
  operation: InsiOperation,
  relatesTo: string | undefined,
  cr: CrCode,
  identity?: SimulatedIdentity,
): string {
  let individu = "";
  if (cr === "00" && identity?.active !== undefined) {
    const x = (name: string, value: string | undefined) =>
      value === undefined ? "" : `<${name}>${escapeXml(value)}</${name}>`;
    individu =
      `<INDIVIDU>` +
      matricule("INSACTIF", identity.active) +
      (identity.history ?? []).map((m) => matricule("INSHISTO", m)).join("") +
      `<TIQ>` +
      x("NomNaissance", identity.birthName) +
      (identity.withPrenom ? x("Prenom", identity.firstNames[0]) : "") +
      x("ListePrenom", identity.firstNames.join(" ")) +
      x("Sexe", identity.sex) +
      x("DateNaissance", identity.birthDate) +
      x("LieuNaissance", identity.birthPlace) +
      `</TIQ></INDIVIDU>`;
  }
  return envelope(
    operation,
    relatesTo,
    `<RESULTAT xmlns="${NS.resultat}"><CR><CodeCR>${cr}</CodeCR><LibelleCR>${CR_LABELS[cr]}</LibelleCR></CR>${individu}</RESULTAT>`,
  );
}

export function faultEnvelope(fault: SimulatorFault, messageId: string | undefined): string {
  return envelope(
    undefined,
    undefined,
    `<soap:Fault><soap:Code><soap:Value>soap:${fault.soapCode}</soap:Value>` +
      (fault.subcode === undefined
        ? ""
        : `<soap:Subcode><soap:Value>soap:${fault.subcode}</soap:Value></soap:Subcode>`) +
      `</soap:Code><soap:Reason><soap:Text xml:lang="fr">${escapeXml(fault.reason)}</soap:Text></soap:Reason>` +
      `<soap:Detail><siram:Erreur xmlns:siram="${NS.siram}" code="${fault.code}" severite="${fault.severity}"` +
      (messageId === undefined ? "" : ` messageID="${escapeXml(messageId)}"`) +
      `>${escapeXml(fault.message)}</siram:Erreur></soap:Detail></soap:Fault>`,
  );
}
