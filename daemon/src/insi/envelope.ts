/**
 * SOAP 1.2 request envelopes for INSi, built as strings (pure).
 *
 * Header order follows the WSDL's input message parts: wsse:Security (card mode, or a Vitale
 * assertion), ctxlps:ContexteLPS, wsa:MessageID, ctxbam:ContexteBAM; wsa:Action (not a declared part,
 * but sent by every client) follows MessageID so the WS-Addressing headers stay together.
 * Each header declares its own namespace so that it validates on its own against its XSD, and the
 * signed assertions are inserted byte for byte: their signature covers their exclusive canonical
 * form, which no whitespace we add around them can change, but any re-serialisation could.
 */
import type { NormalisedTraits } from "../ins/traits.ts";
import { escapeXml } from "./xml.ts";
import {
  CONTEXTE_BAM_VERSION,
  CONTEXTE_LPS_VERSION,
  IDAM_REFERENTIAL,
  NS,
  OPERATIONS,
  type InsiOperation,
} from "./namespaces.ts";

/** The software identity INSi sees: the CNDA authorisation (IDAM) of the web application that asks. */
export interface LpsIdentity {
  readonly idam: string;
  readonly softwareName: string;
  readonly softwareVersion: string;
  /** Identifies this installation of the software (a UUID kept by the installation). */
  readonly instance: string;
}

/** What the Vitale card gives for `rechercherInsAvecCarteVitale` (RECVITALE + ContexteBAM/COUVERTURE). */
export interface VitaleBeneficiary {
  /** The beneficiary's own matricule when the card holds one (13 characters). */
  readonly individualNir?: string | undefined;
  readonly individualNirKey?: string | undefined;
  /** The insured person's (ouvrant droit) matricule. */
  readonly insuredNir: string;
  readonly insuredNirKey?: string | undefined;
  readonly birthName: string;
  /** As read from the card: YYYY-MM-DD, lunar dates allowed. */
  readonly birthDate: string;
  /** Rang gémellaire / birth rank on the card. */
  readonly birthRank?: number | undefined;
}

export interface EnvelopeInput {
  readonly operation: InsiOperation;
  /** `uuid:<UUID>`, also the audit key. */
  readonly messageId: string;
  /** Time of the request, for ContexteLPS/ContexteBAM `Temps`. */
  readonly time: Date;
  readonly lps: LpsIdentity;
  /** Id of each context (a fresh UUID per request). */
  readonly contextId: string;
  readonly emetteur?: string | undefined;
  /** Signed SAML assertions to place in wsse:Security, in order; none → no Security header. */
  readonly assertions: readonly string[];
  /** The body element, from `recSansVitaleBody` or `recVitaleBody`. */
  readonly body: string;
  /** ContexteBAM/COUVERTURE content (empty for the traits search). */
  readonly couverture?: string | undefined;
}

function element(prefix: string, name: string, value: string): string {
  return `<${prefix}:${name}>${escapeXml(value)}</${prefix}:${name}>`;
}

export function contexteLps(input: Pick<EnvelopeInput, "contextId" | "time" | "lps" | "emetteur">): string {
  const { lps } = input;
  return (
    `<ctxlps:ContexteLPS xmlns:ctxlps="${NS.ctxlps}" Nature="CTXLPS" Version="${CONTEXTE_LPS_VERSION}">` +
    element("ctxlps", "Id", input.contextId) +
    element("ctxlps", "Temps", input.time.toISOString()) +
    (input.emetteur === undefined ? "" : element("ctxlps", "Emetteur", input.emetteur)) +
    `<ctxlps:LPS>` +
    `<ctxlps:IDAM R="${IDAM_REFERENTIAL}">${escapeXml(lps.idam)}</ctxlps:IDAM>` +
    element("ctxlps", "Version", lps.softwareVersion) +
    element("ctxlps", "Instance", lps.instance) +
    element("ctxlps", "Nom", `urn:lps:${lps.softwareName}:${lps.softwareVersion}`) +
    `</ctxlps:LPS></ctxlps:ContexteLPS>`
  );
}

export function contexteBam(
  input: Pick<EnvelopeInput, "contextId" | "time" | "emetteur" | "couverture">,
): string {
  const couverture = input.couverture ?? "";
  return (
    `<ctxbam:ContexteBAM xmlns:ctxbam="${NS.ctxbam}" Nature="CTXBAM" Version="${CONTEXTE_BAM_VERSION}">` +
    element("ctxbam", "Id", input.contextId) +
    element("ctxbam", "Temps", input.time.toISOString()) +
    (input.emetteur === undefined ? "" : element("ctxbam", "Emetteur", input.emetteur)) +
    (couverture === "" ? `<ctxbam:COUVERTURE/>` : `<ctxbam:COUVERTURE>${couverture}</ctxbam:COUVERTURE>`) +
    `</ctxbam:ContexteBAM>`
  );
}

/**
 * RECSANSVITALE. We send the first given name only, as one `Prenom`: INSi matches it against the
 * first name of its list (public clients do the same; the XSD allows several, their semantics are
 * not public).
 */
export function recSansVitaleBody(traits: NormalisedTraits): string {
  const x = (name: string, value: string) => `<${name}>${escapeXml(value)}</${name}>`;
  return (
    `<RECSANSVITALE xmlns="${NS.recSans}">` +
    x("NomNaissance", traits.birthName) +
    x("Prenom", traits.firstName) +
    x("Sexe", traits.sex) +
    x("DateNaissance", traits.birthDate) +
    (traits.birthPlace === undefined ? "" : x("LieuNaissance", traits.birthPlace)) +
    `</RECSANSVITALE>`
  );
}

function matricule(name: string, nir: string, key: string | undefined): string {
  return (
    `<${name}><NumIdentifiant>${escapeXml(nir)}</NumIdentifiant>` +
    (key === undefined ? "" : `<Cle>${escapeXml(key)}</Cle>`) +
    `</${name}>`
  );
}

export function recVitaleBody(beneficiary: VitaleBeneficiary): string {
  return (
    `<RECVITALE xmlns="${NS.recVit}">` +
    (beneficiary.individualNir === undefined
      ? ""
      : matricule("MatriculeIndividu", beneficiary.individualNir, beneficiary.individualNirKey)) +
    matricule("MatriculeOD", beneficiary.insuredNir, beneficiary.insuredNirKey) +
    `<NomNaissance>${escapeXml(beneficiary.birthName)}</NomNaissance>` +
    `<DateNaissance>${escapeXml(beneficiary.birthDate)}</DateNaissance>` +
    (beneficiary.birthRank === undefined ? "" : `<RangNaissance>${beneficiary.birthRank}</RangNaissance>`) +
    `</RECVITALE>`
  );
}

/** ContexteBAM/COUVERTURE for the Vitale search: the insured person and the beneficiary. */
export function vitaleCouverture(beneficiary: VitaleBeneficiary): string {
  const nir = (num: string, key: string | undefined) =>
    `<ctxbam:Num>${escapeXml(num)}</ctxbam:Num>` +
    (key === undefined ? "" : `<ctxbam:Cle>${escapeXml(key)}</ctxbam:Cle>`);
  // The beneficiary's own NIR only when the card holds one: a child on a parent's card has none,
  // and the public templates then leave BENEFICIAIRE/Nir out rather than repeat the insured's.
  const ownNir =
    beneficiary.individualNir === undefined
      ? ""
      : `<ctxbam:Nir>${nir(beneficiary.individualNir, beneficiary.individualNirKey)}</ctxbam:Nir>`;
  return (
    `<ctxbam:ASSURE><ctxbam:Id>${nir(beneficiary.insuredNir, beneficiary.insuredNirKey)}</ctxbam:Id></ctxbam:ASSURE>` +
    `<ctxbam:BENEFICIAIRE>${ownNir}` +
    `<ctxbam:DateNai>${escapeXml(beneficiary.birthDate)}</ctxbam:DateNai>` +
    (beneficiary.birthRank === undefined ? "" : `<ctxbam:Rang>${beneficiary.birthRank}</ctxbam:Rang>`) +
    `</ctxbam:BENEFICIAIRE>`
  );
}

export function buildEnvelope(input: EnvelopeInput): string {
  const operation = OPERATIONS[input.operation];
  const security =
    input.assertions.length === 0
      ? ""
      : `<wsse:Security xmlns:wsse="${NS.wsse}">${input.assertions.join("")}</wsse:Security>`;
  return (
    `<?xml version="1.0" encoding="UTF-8"?>` +
    `<soap:Envelope xmlns:soap="${NS.soap}">` +
    `<soap:Header>` +
    security +
    contexteLps(input) +
    `<wsa:MessageID xmlns:wsa="${NS.wsa}">${escapeXml(input.messageId)}</wsa:MessageID>` +
    `<wsa:Action xmlns:wsa="${NS.wsa}">${operation.action}</wsa:Action>` +
    contexteBam(input) +
    `</soap:Header>` +
    `<soap:Body>${input.body}</soap:Body>` +
    `</soap:Envelope>`
  );
}
