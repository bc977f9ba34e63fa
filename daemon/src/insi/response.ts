/**
 * INSi responses → the protocol's InsiResult, or a PasserelleError (translated here, once).
 *
 * - RESULTAT with CR 00 / 01 / 02 → found / notFound / multiple. INSHISTO is a list (absent, one or
 *   many). TIQ's ListePrenom is split on spaces; the first given name is the first of that list
 *   (FR Core), falling back to Prenom. Matricule keys are checked and reported in `keyValid`; a key
 *   that does not verify is NOT an error (CNDA sample 2.08 case 2 carries such keys).
 * - Element order inside a matricule is not enforced: one CNDA sample puts DateDeb first.
 * - A SOAP 1.2 Fault with siram:Erreur → INSI_FAULT with the siram code and message.
 * - Anything else (not XML, DOCTYPE, wrong root, unknown CR, missing required data) →
 *   INSI_INVALID_RESPONSE. Error details carry codes and element names, never response content.
 */
import type { InsiResult } from "@passerelle/protocol";
import { PasserelleError } from "../errors.ts";
import { isNirKeyValid, isNirShape, nirKey } from "../ins/nir.ts";
import { insTypeForOid } from "../ins/oid.ts";
import { normaliseName, splitListePrenom } from "../ins/traits.ts";
import { NS } from "./namespaces.ts";
import {
  childNamed as child,
  childrenNamed,
  parseResponseXml,
  textOf,
  type XmlElement as Element,
} from "./response-xml.ts";
import { UnsafeXmlError } from "./xml.ts";

export type InsiIdentity = NonNullable<InsiResult["identity"]>;
type InsValue = InsiIdentity["ins"];

export const CR_OUTCOME: Readonly<Record<string, InsiResult["outcome"]>> = {
  "00": "found",
  "01": "notFound",
  "02": "multiple",
};

const KEY_PATTERN = /^[0-9]{2}$/;
const DATE_PATTERN = /^[0-9]{4}-[0-9]{2}-[0-9]{2}$/;

/** A repeated element where the contract has one: the answer is not what INSi sends. */
function duplicated(name: string): PasserelleError {
  return invalid(`${name} appears more than once`, { element: name });
}

function childOnce(parent: Element, namespace: string, localName: string): Element | undefined {
  return child(parent, namespace, localName, duplicated);
}

function invalid(message: string, details: Record<string, unknown> = {}, cause?: unknown): PasserelleError {
  return new PasserelleError("INSI_INVALID_RESPONSE", `INSi response: ${message}`, details, cause);
}

/** A required child of RESULTAT's namespace, with its text. */
function requiredText(parent: Element, name: string): string {
  const value = textOf(childOnce(parent, NS.resultat, name));
  if (value === undefined || value === "")
    throw invalid(`${parent.localName}/${name} is missing`, { element: name });
  return value;
}

function optionalText(parent: Element, name: string): string | undefined {
  const value = textOf(childOnce(parent, NS.resultat, name));
  return value === "" ? undefined : value;
}

function insValue(element: Element): InsValue {
  const idIndividu = childOnce(element, NS.resultat, "IdIndividu");
  if (idIndividu === undefined)
    throw invalid(`${element.localName}/IdIndividu is missing`, { element: "IdIndividu" });
  const value = requiredText(idIndividu, "NumIdentifiant").toUpperCase();
  if (!isNirShape(value))
    throw invalid("NumIdentifiant is not a 13-character matricule", { element: "NumIdentifiant" });
  const cle = optionalText(idIndividu, "Cle");
  if (cle !== undefined && !KEY_PATTERN.test(cle)) throw invalid("Cle is not 2 digits", { element: "Cle" });
  const oid = requiredText(element, "OID");
  const validFrom = optionalText(element, "DateDeb");
  const validTo = optionalText(element, "DateFin");
  return {
    value,
    // Cle is optional in the XSD; without it we give the computed key and say it was not checked.
    key: cle ?? nirKey(value),
    oid,
    type: insTypeForOid(oid),
    ...(validFrom === undefined ? {} : { validFrom }),
    ...(validTo === undefined ? {} : { validTo }),
    ...(cle === undefined ? {} : { keyValid: isNirKeyValid(value, cle) }),
  };
}

/** INSi's traits are already in its own form; re-normalising is a guard, not a rewrite. */
function referenceName(raw: string): string {
  const result = normaliseName(raw);
  return result.ok ? result.value : raw.toUpperCase();
}

function identity(individu: Element): InsiIdentity {
  const actif = childrenNamed(individu, NS.resultat, "INSACTIF");
  if (actif.length !== 1 || actif[0] === undefined)
    throw invalid("INDIVIDU must hold exactly one INSACTIF", { element: "INSACTIF" });
  const tiq = childOnce(individu, NS.resultat, "TIQ");
  if (tiq === undefined) throw invalid("INDIVIDU/TIQ is missing", { element: "TIQ" });

  const birthName = referenceName(requiredText(tiq, "NomNaissance"));
  const prenom = optionalText(tiq, "Prenom");
  const liste = optionalText(tiq, "ListePrenom");
  const firstNames = (
    liste === undefined ? (prenom === undefined ? [] : [prenom]) : splitListePrenom(liste)
  ).map(referenceName);
  const firstName = firstNames[0];
  if (firstName === undefined)
    throw invalid("TIQ holds neither ListePrenom nor Prenom", { element: "ListePrenom" });
  const sex = requiredText(tiq, "Sexe");
  if (sex === "I") {
    // The guide (EF_INS25_04, as quoted publicly) says INSi delivers only F or M: an identity
    // with the "indéterminé" sex is not an INSi identity, and is not passed on.
    throw invalid("TIQ/Sexe is I (indéterminé): INSi returns only M or F (EF_INS25_04)", {
      element: "Sexe",
      problem: "sex-indeterminate",
    });
  }
  if (sex !== "M" && sex !== "F") throw invalid("TIQ/Sexe is neither M nor F", { element: "Sexe" });
  const birthDate = requiredText(tiq, "DateNaissance");
  if (!DATE_PATTERN.test(birthDate))
    throw invalid("TIQ/DateNaissance is not YYYY-MM-DD", { element: "DateNaissance" });
  const birthPlace = optionalText(tiq, "LieuNaissance");
  return {
    ins: insValue(actif[0]),
    history: childrenNamed(individu, NS.resultat, "INSHISTO").map(insValue),
    birthName,
    firstNames,
    firstName,
    sex,
    birthDate,
    ...(birthPlace === undefined ? {} : { birthPlace: birthPlace.toUpperCase() }),
  };
}

/**
 * Fault codes that mean "try again later": siram_40, "service temporairement inaccessible" (the
 * code named in issue #11 from the integration guide; the full catalogue is not public).
 */
export const TEMPORARY_FAULTS: ReadonlySet<string> = new Set(["siram_40"]);

/** Longest SOAP fault message passed on to the web app. */
export const MAX_FAULT_MESSAGE = 500;

function resultat(element: Element, meta: ResponseMeta): InsiResult {
  const cr = childOnce(element, NS.resultat, "CR");
  if (cr === undefined) throw invalid("RESULTAT/CR is missing", { element: "CR" });
  const code = requiredText(cr, "CodeCR");
  const label = optionalText(cr, "LibelleCR") ?? "";
  const outcome = CR_OUTCOME[code];
  // Only a code-like value goes back to the web app: never response content of arbitrary size.
  if (outcome === undefined)
    throw invalid("unknown CodeCR", { cr: /^\w{1,8}$/.test(code) ? code : "(not a CR code)" });
  const individu = childOnce(element, NS.resultat, "INDIVIDU");
  if (outcome === "found" && individu === undefined) throw invalid("CR 00 without INDIVIDU", { cr: code });
  return {
    outcome,
    cr: { code, label },
    ...(outcome === "found" && individu !== undefined ? { identity: identity(individu) } : {}),
    messageId: meta.messageId,
    receivedAt: meta.receivedAt,
  };
}

function fault(element: Element): PasserelleError {
  const code = childOnce(element, NS.soap, "Code");
  const soapCode = textOf(code === undefined ? undefined : childOnce(code, NS.soap, "Value"));
  const subcodeElement = code === undefined ? undefined : childOnce(code, NS.soap, "Subcode");
  const subcode = textOf(
    subcodeElement === undefined ? undefined : childOnce(subcodeElement, NS.soap, "Value"),
  );
  const reasonElement = childOnce(element, NS.soap, "Reason");
  const reason = textOf(reasonElement === undefined ? undefined : childOnce(reasonElement, NS.soap, "Text"));
  const detail = childOnce(element, NS.soap, "Detail");
  const erreur = detail === undefined ? undefined : childOnce(detail, NS.siram, "Erreur");
  const stripPrefix = (qname: string | undefined) => qname?.replace(/^[^:]*:/, "");
  const faultCode =
    erreur?.attributes.get("code") ?? stripPrefix(subcode) ?? stripPrefix(soapCode) ?? "unknown";
  // INSi's own words for the web app, bounded (MAX_FAULT_MESSAGE): never response content of any size.
  const faultMessage = (textOf(erreur) || reason || "").slice(0, MAX_FAULT_MESSAGE);
  const details: Record<string, unknown> = { faultCode, faultMessage };
  if (soapCode !== undefined) details["soapCode"] = stripPrefix(soapCode);
  if (subcode !== undefined) details["subcode"] = stripPrefix(subcode);
  const severity = erreur?.attributes.get("severite");
  if (severity) details["severity"] = severity;
  if (reason !== undefined && reason !== faultMessage) details["reason"] = reason;
  const codes = [faultCode, stripPrefix(subcode)].map((c) => c?.toLowerCase());
  if (codes.some((c) => c !== undefined && TEMPORARY_FAULTS.has(c))) {
    // "Service temporairement inaccessible": the service said so itself; the same call may be
    // tried again later, so it is INSI_UNAVAILABLE (retriable), with the fault's code kept.
    return new PasserelleError("INSI_UNAVAILABLE", `INSi temporarily unavailable (${faultCode})`, {
      ...details,
      cause: "fault",
    });
  }
  return new PasserelleError("INSI_FAULT", `INSi fault ${faultCode}: ${faultMessage}`, details);
}

export interface ResponseMeta {
  /** The MessageID of the request this answers. */
  readonly messageId: string;
  readonly receivedAt: string;
}

/**
 * Parse a response body. Returns the result for a RESULTAT; throws INSI_FAULT for a SOAP fault and
 * INSI_INVALID_RESPONSE for everything else.
 */
export function parseInsiResponse(xml: string, meta: ResponseMeta): InsiResult {
  let root: Element;
  try {
    root = parseResponseXml(xml);
  } catch (error) {
    throw invalid(error instanceof UnsafeXmlError ? error.message : "unreadable XML", {}, error);
  }
  if (root.namespace !== NS.soap || root.localName !== "Envelope") {
    throw invalid("not a SOAP 1.2 envelope", { element: root.localName });
  }
  const body = childOnce(root, NS.soap, "Body");
  if (body === undefined) throw invalid("no SOAP Body", { element: "Body" });
  const [content, ...rest] = body.children;
  if (content === undefined || rest.length > 0) throw invalid("the SOAP Body must hold exactly one element");
  if (content.namespace === NS.soap && content.localName === "Fault") throw fault(content);
  if (content.namespace === NS.resultat && content.localName === "RESULTAT") return resultat(content, meta);
  throw invalid("the SOAP Body holds neither RESULTAT nor a Fault", { element: content.localName });
}
