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

/** The same in English (the page's language switch), reason for reason. */
export const MESSAGES_EN = {
  ACCESS_DENIED: "This software is not allowed to use the card readers of this computer.",
  BUSY: "An entry is already in progress (PIN or authorisation). Finish it, then try again.",
  RATE_LIMITED: "Too many requests. Wait a few seconds, then try again.",
  TIMEOUT: "The operation took too long. Try again.",
  USER_CANCELLED: "Cancelled.",
  CONSENT_UNAVAILABLE:
    "Passerelle could not open its authorisation window on this computer: ask your administrator to allow this software.",
  PCSC_UNAVAILABLE: "The card reader service does not answer on this computer.",
  NO_READER: "No card reader is plugged in.",
  NO_CARD: "Insert the card in the reader.",
  WRONG_CARD: "This is not the card expected (Vitale or CPS card).",
  CARD_REMOVED: "The card was removed too early. Insert it again.",
  CARD_ERROR: "The card cannot be read. Remove it and insert it again.",
  READER_BUSY: "The reader is used by another program.",
  PIN_REQUIRED: "Your CPS PIN is needed.",
  PIN_INCORRECT: "Wrong PIN.",
  PIN_BLOCKED: "Your CPS is blocked. Unblock it with your unblocking code.",
  PIN_LAST_TRY: "Warning: last try before your CPS is blocked.",
  PIN_ENTRY_UNAVAILABLE: "There is no way to type the PIN on this computer.",
  INSI_NOT_CONFIGURED: "The INSi teleservice is not configured on this computer. Contact your support.",
  INSI_UNAVAILABLE: "The INSi teleservice does not answer. Try again in a few minutes.",
  INSI_FAULT: "The INSi teleservice refused the request.",
  INSI_INVALID_RESPONSE: "The INSi teleservice's answer cannot be read. Try again later.",
  VITALE_ASSERTION_UNAVAILABLE: "Search with the Vitale card is not available: searching by traits.",
  AUDIT_UNAVAILABLE: "Passerelle can no longer write its audit trail (disk full?). Tell your support.",
  NOT_CONNECTED: "Passerelle is not connected.",
  DISCONNECTED: "The connection to Passerelle was lost. Reconnecting…",
  PROTOCOL_MISMATCH: "This version of Passerelle is not compatible. Update it.",
  RPC_ERROR: "Unexpected Passerelle error.",
};

/** Per language: the sentence for each reason. */
export const REASON_MESSAGES = { fr: MESSAGES, en: MESSAGES_EN };

const TRIES_REMAINING = { fr: " Essais restants : {n}.", en: " Tries left: {n}." };

/**
 * The sentence to show for an error from the SDK (a PasserelleError) or anything else, in the
 * page's language (French by default).
 */
export function messageFor(error, language = "fr") {
  const messages = REASON_MESSAGES[language] ?? MESSAGES;
  const reason = error && typeof error.reason === "string" ? error.reason : "RPC_ERROR";
  let text = messages[reason] ?? messages.RPC_ERROR;
  // Some reasons carry safe details in error.data (never personal data):
  if (reason === "PIN_INCORRECT" && typeof error.data?.triesRemaining === "number") {
    text += (TRIES_REMAINING[language] ?? TRIES_REMAINING.fr).replace(
      "{n}",
      String(error.data.triesRemaining),
    );
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
