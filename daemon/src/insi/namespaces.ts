/**
 * Names fixed by the INSi contract (WSDL DESIR_ICIR_EXP 1.5.0 and its XSDs). One place, so that a
 * new contract version changes this file and nothing else.
 */
export const NS = {
  soap: "http://www.w3.org/2003/05/soap-envelope",
  wsse: "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd",
  wsa: "http://www.w3.org/2005/08/addressing",
  ctxlps: "urn:siram:lps:ctxlps",
  ctxbam: "urn:siram:bam:ctxbam",
  siram: "urn:siram",
  recSans: "http://www.cnamts.fr/INSiRecSans",
  recVit: "http://www.cnamts.fr/INSiRecVit",
  resultat: "http://www.cnamts.fr/INSiResultat",
  saml: "urn:oasis:names:tc:SAML:2.0:assertion",
  ds: "http://www.w3.org/2000/09/xmldsig#",
} as const;

export const OPERATIONS = {
  rechercherInsAvecTraitsIdentite: {
    action: "urn:ServiceIdentiteCertifiee:1.0.0:rechercherInsAvecTraitsIdentite",
    responseAction: "urn:ServiceIdentiteCertifiee:1.0.0:rechercherInsAvecTraitsIdentiteResponse",
    bodyElement: "RECSANSVITALE",
    bodyNamespace: NS.recSans,
  },
  rechercherInsAvecCarteVitale: {
    action: "urn:ServiceIdentiteCertifiee:1.0.0:rechercherInsAvecCarteVitale",
    responseAction: "urn:ServiceIdentiteCertifiee:1.0.0:rechercherInsAvecCarteVitaleResponse",
    bodyElement: "RECVITALE",
    bodyNamespace: NS.recVit,
  },
} as const;

export type InsiOperation = keyof typeof OPERATIONS;

/** Context header versions the XSDs define (attribute `Version`). */
export const CONTEXTE_LPS_VERSION = "01_00";
export const CONTEXTE_BAM_VERSION = "01_02";
/** `IDAM@R`: 4 marks the number as a CNDA software authorisation number (all public clients send 4). */
export const IDAM_REFERENTIAL = "4";
/** SOAP 1.2 media type; the action goes in its `action` parameter (RFC 3902). */
export const SOAP12_CONTENT_TYPE = "application/soap+xml; charset=utf-8";
