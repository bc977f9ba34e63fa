/**
 * What the EHR tells its user for every Passerelle error reason (docs/protocol.md, "Errors"), plus
 * the SDK's own reasons. Match on `error.reason`, never on `error.message`: the reason is stable,
 * the message is for developers. A test checks that this table covers every reason of the protocol.
 */
export const MESSAGES = {
  ACCESS_DENIED: "Ce logiciel n'est pas autorisé à utiliser les lecteurs de cartes de ce poste.",
  BUSY: "Une saisie est déjà en cours (code porteur ou autorisation). Terminez-la puis réessayez.",
  RATE_LIMITED: "Trop de demandes. Patientez quelques secondes puis réessayez.",
  TIMEOUT: "L'opération a pris trop de temps. Réessayez.",
  USER_CANCELLED: "Opération annulée.",
  CONSENT_UNAVAILABLE:
    "Passerelle n'a pas pu ouvrir sa fenêtre d'autorisation sur ce poste : demandez à votre administrateur d'autoriser ce logiciel.",
  PCSC_UNAVAILABLE: "Le service des lecteurs de cartes ne répond pas sur ce poste.",
  NO_READER: "Aucun lecteur de cartes n'est branché.",
  NO_CARD: "Insérez la carte dans le lecteur.",
  WRONG_CARD: "Cette carte n'est pas celle attendue (carte Vitale ou CPS).",
  CARD_REMOVED: "La carte a été retirée trop tôt. Réinsérez-la.",
  CARD_ERROR: "La carte ne peut pas être lue. Retirez-la et réinsérez-la.",
  READER_BUSY: "Le lecteur est occupé par un autre logiciel.",
  PIN_REQUIRED: "Le code porteur de votre CPS est nécessaire.",
  PIN_INCORRECT: "Code porteur incorrect.",
  PIN_BLOCKED: "Votre CPS est bloquée. Débloquez-la avec votre code de déblocage.",
  PIN_LAST_TRY: "Attention : dernier essai avant le blocage de votre CPS.",
  PIN_ENTRY_UNAVAILABLE: "Aucun moyen de saisir le code porteur sur ce poste.",
  INSI_NOT_CONFIGURED: "Le téléservice INSi n'est pas configuré sur ce poste. Contactez votre support.",
  INSI_UNAVAILABLE: "Le téléservice INSi ne répond pas. Réessayez dans quelques minutes.",
  INSI_FAULT: "Le téléservice INSi a refusé la demande.",
  INSI_INVALID_RESPONSE: "La réponse du téléservice INSi est illisible. Réessayez plus tard.",
  VITALE_ASSERTION_UNAVAILABLE: "La recherche par carte Vitale n'est pas disponible : recherche par traits.",
  AUDIT_UNAVAILABLE: "Passerelle ne peut plus écrire son journal (disque plein ?). Prévenez votre support.",
  // Reasons produced by the SDK itself:
  NOT_CONNECTED: "Passerelle n'est pas connecté.",
  DISCONNECTED: "La connexion à Passerelle a été perdue. Reconnexion en cours…",
  PROTOCOL_MISMATCH: "Cette version de Passerelle n'est pas compatible. Mettez-la à jour.",
  RPC_ERROR: "Erreur inattendue de Passerelle.",
};

/** The sentence to show for an error from the SDK (a PasserelleError) or anything else. */
export function messageFor(error) {
  const reason = error && typeof error.reason === "string" ? error.reason : "RPC_ERROR";
  let text = MESSAGES[reason] ?? MESSAGES.RPC_ERROR;
  // Some reasons carry safe details in error.data (never personal data):
  if (reason === "PIN_INCORRECT" && typeof error.data?.triesRemaining === "number") {
    text += ` Essais restants : ${error.data.triesRemaining}.`;
  }
  if (reason === "INSI_FAULT" && typeof error.data?.faultMessage === "string") {
    text += ` (${error.data.faultMessage})`;
  }
  return text;
}

/** A card or INSi date (YYYY-MM-DD; a lunar date has 00 for an unknown day or month) as 15/01/1980. */
export function formatDate(value) {
  const match = /^(\d{4})-(\d{2})-(\d{2})/.exec(String(value ?? ""));
  return match ? `${match[3]}/${match[2]}/${match[1]}` : String(value ?? "");
}
