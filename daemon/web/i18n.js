/**
 * The daemon page's words, in French (default: the users are French clinicians) and English (for
 * integrators). One dictionary per language with the same keys; `errorMessage` turns every error
 * reason of the protocol (docs/protocol.md) into a sentence a receptionist can act on.
 * A test checks that both languages have every key and every reason.
 */

export const LANGUAGES = ["fr", "en"];
export const DEFAULT_LANGUAGE = "fr";

/** @type {Record<string, Record<string, string>>} */
export const STRINGS = {
  fr: {
    "page.title": "— état du poste",
    skip: "Aller au contenu",
    "lang.toggle": "English",
    "lang.toggle.label": "Switch the page to English",
    "simulation.banner":
      "SIMULATION — cartes virtuelles et simulateur INSi. Aucune vraie carte, aucun vrai patient, aucun appel au vrai téléservice.",
    "simulation.title": "[SIMULATION] Passerelle",
    "connection.label": "Connexion au service :",
    "connection.idle": "non connecté",
    "connection.connecting": "connexion…",
    "connection.open": "connecté",
    "connection.reconnecting": "reconnexion…",
    "connection.closed": "déconnecté",
    "connection.unreachable": "Passerelle ne répond pas sur ce poste.",
    "readers.title": "Lecteurs et cartes",
    "readers.none": "Aucun lecteur détecté.",
    "readers.empty": "vide",
    "readers.pcscDown": "Le service des lecteurs de cartes (PC/SC) ne répond pas.",
    "card.cps": "carte CPS (professionnel)",
    "card.vitale": "carte Vitale (patient)",
    "card.unknown": "carte non reconnue",
    "events.title": "Journal des événements",
    "event.readerAdded": "Lecteur branché : {reader}",
    "event.readerRemoved": "Lecteur débranché : {reader}",
    "event.cardInserted": "{card} insérée dans {reader}",
    "event.cardRemoved": "Carte retirée de {reader}",
    "event.pcscUp": "Service PC/SC disponible",
    "event.pcscDown": "Service PC/SC indisponible",
    "event.connected": "Connecté à Passerelle {version}",
    "event.disconnected": "Connexion perdue, nouvelle tentative…",
    "cps.title": "Carte CPS du professionnel",
    "cps.read": "Lire la CPS",
    "cps.none": "Insérez une carte CPS.",
    "cps.name": "Nom",
    "cps.profession": "Profession",
    "cps.idNat": "Identifiant national",
    "cps.idType": "Type d'identifiant",
    "cps.nameUnknown": "titulaire non indiqué par la carte",
    "cps.organization": "Structure",
    "cps.pinState": "Code porteur",
    "cps.pinVerified": "vérifié",
    "cps.pinNotVerified": "non vérifié",
    "cps.tries": "{n} essai(s) restant(s)",
    "cps.certificate": "Certificat valable jusqu'au",
    "cps.pinBlocked": "bloqué",
    "cps.lastTry": "dernier essai avant blocage",
    "cps.expired":
      "Cette CPS a expiré le {date} : l'INSi et les signatures la refuseront. Utilisez une CPS en cours de validité.",
    "cps.expiresSoon": "Cette CPS expire le {date} (dans {days} jour(s)) : pensez à la renouveler.",
    "cps.expiredShort": "expiré",
    "cps.insert": "Insérez votre carte CPS dans le lecteur.",
    "cps.notCps": "La carte de ce lecteur n'est pas une CPS : insérez votre carte CPS.",
    "vitale.insert": "Insérez la carte Vitale du patient dans le lecteur.",
    "vitale.notVitale":
      "La carte de ce lecteur n'est pas une carte Vitale : insérez la carte Vitale du patient.",
    "vitale.v1":
      "Cette carte Vitale est de première génération (Vitale 1) : Passerelle ne sait pas la lire. Seules les cartes Vitale 2 peuvent être lues.",
    "card.vitale1": "carte Vitale 1 (non prise en charge)",
    "vitale.partial":
      "Une partie de la carte n'a pas pu être lue : un ou plusieurs bénéficiaires peuvent manquer. Vérifiez avec le patient.",
    "vitale.generation.vitale2": "Vitale 2",
    details: "détails",
    "pin.verified": "Code porteur vérifié ({n} essai(s) restant(s)).",
    "pin.perOrigin":
      "Le code porteur vaut pour le logiciel qui l'a demandé : un code saisi ici pour cette page ne sert pas aux autres logiciels (chacun le demande une fois, dans cette même fenêtre).",
    "cps.verifyPin": "Vérifier le code",
    "cps.pinOk": "Code porteur vérifié ({n} essai(s) restant(s)).",
    "vitale.title": "Carte Vitale du patient",
    "vitale.read": "Lire la carte Vitale",
    "vitale.none": "Insérez une carte Vitale.",
    "vitale.beneficiaries": "Bénéficiaires de la carte",
    "vitale.col.name": "Nom et prénom",
    "vitale.col.birthDate": "Date de naissance",
    "vitale.col.nir": "NIR",
    "vitale.col.actions": "Actions",
    "vitale.searchInsi": "Rechercher l'INS",
    "vitale.fillForm": "Remplir le formulaire",
    "vitale.generation": "Génération de carte :",
    "vitale.warnings": "Avertissements de lecture",
    "insi.title": "Recherche INSi",
    "insi.intro":
      "Recherche de l'identité nationale de santé par les traits d'identité, ou depuis un bénéficiaire de la carte Vitale.",
    "insi.birthName": "Nom de naissance",
    "insi.firstNames": "Prénoms (séparés par des espaces)",
    "insi.sex": "Sexe",
    "insi.sex.F": "Féminin",
    "insi.sex.M": "Masculin",
    "insi.birthDate": "Date de naissance (JJ/MM/AAAA)",
    "insi.birthPlace": "Lieu de naissance, code INSEE (facultatif)",
    "insi.submit": "Rechercher",
    "insi.result": "Résultat",
    "insi.outcome.found": "Identité trouvée",
    "insi.outcome.notFound": "Aucune identité trouvée",
    "insi.outcome.multiple": "Plusieurs identités possibles : à traiter manuellement",
    "insi.cr": "Compte rendu (CR)",
    "insi.ins": "INS (matricule et clé)",
    "insi.oid": "OID",
    "insi.type": "Type",
    "insi.identity": "Traits de référence",
    "insi.messageId": "Identifiant du message",
    "insi.history": "Historique des matricules",
    "insi.searching": "Recherche en cours…",
    "insi.invalid": "Vérifiez les champs : {fields}.",
    "lab.title": "Laboratoire (simulation)",
    "lab.intro": "Insérer ou retirer des cartes virtuelles, et provoquer des pannes du simulateur INSi.",
    "lab.slot": "Lecteur virtuel {n}",
    "lab.profile": "Carte à insérer dans le lecteur {n}",
    "lab.insert": "Insérer",
    "lab.remove": "Retirer",
    "lab.fault": "Panne du simulateur INSi",
    "lab.fault.none": "aucune",
    "lab.fault.delay": "réponse lente",
    "lab.fault.http500": "erreur HTTP 500",
    "lab.fault.malformed": "réponse illisible",
    "lab.fault.reset": "connexion coupée",
    "lab.applyFault": "Appliquer",
    "lab.done": "Fait.",
    "about.title": "À propos",
    "about.version": "Version de Passerelle",
    "about.protocol": "Protocole",
    "about.capabilities": "Fonctions disponibles",
    "about.origin": "Adresse de cette page",
    "pin.title": "Saisie du code porteur CPS",
    "pin.intro":
      "Le code porteur est transmis directement à la carte par Passerelle : le logiciel qui le demande ne le voit jamais.",
    "pin.none": "Aucune demande de code porteur en attente.",
    "pin.request": "Demande de code porteur",
    "pin.origin": "Demandé par",
    "pin.reader": "Lecteur",
    "pin.tries": "Essais restants",
    "pin.lastTry": "Attention : dernier essai avant le blocage de la carte.",
    "pin.field": "Code porteur (4 à 8 chiffres)",
    "pin.submit": "Valider",
    "pin.cancel": "Refuser",
    "pin.sent": "Code transmis à la carte.",
    "pin.cancelled": "Demande refusée.",
    "pin.invalid": "Le code porteur compte 4 à 8 chiffres.",
    "pin.waiting": "Un logiciel demande votre code porteur : saisissez-le ci-dessous.",
    "consent.title": "Autoriser un site",
    "consent.question":
      "Un site demande à utiliser les lecteurs de cartes de ce poste (cartes CPS et Vitale, INSi).",
    "consent.origin": "Site",
    "consent.appName": "Se présente comme",
    "consent.noAppName": "(pas de nom)",
    "consent.code": "Code",
    "consent.checkCode":
      "Vérifiez que le logiciel affiche le même code. N'autorisez que l'adresse d'un logiciel que vous utilisez.",
    "consent.grants": "Vous pourrez retirer cette autorisation depuis la page de Passerelle.",
    "consent.allow": "Autoriser",
    "consent.deny": "Refuser",
    "consent.allowed": "Site autorisé. Vous pouvez fermer cette fenêtre.",
    "consent.denied": "Demande refusée. Vous pouvez fermer cette fenêtre.",
    "consent.invalid":
      "Cette demande n'est plus valable (déjà traitée, expirée, ou page non ouverte par Passerelle).",
    "grants.title": "Sites autorisés",
    "grants.none": "Aucun site autorisé depuis ce poste.",
    "grants.since": "depuis le {date}",
    "grants.revoke": "Retirer",
    notAvailable: "Pas disponible dans cette version de Passerelle.",
    working: "En cours…",
  },
  en: {
    "page.title": "— workstation status",
    skip: "Skip to content",
    "lang.toggle": "Français",
    "lang.toggle.label": "Afficher la page en français",
    "simulation.banner":
      "SIMULATION — virtual cards and the INSi simulator. No real card, no real patient, no call to the real teleservice.",
    "simulation.title": "[SIMULATION] Passerelle",
    "connection.label": "Connection to the service:",
    "connection.idle": "not connected",
    "connection.connecting": "connecting…",
    "connection.open": "connected",
    "connection.reconnecting": "reconnecting…",
    "connection.closed": "disconnected",
    "connection.unreachable": "Passerelle does not answer on this computer.",
    "readers.title": "Readers and cards",
    "readers.none": "No reader detected.",
    "readers.empty": "empty",
    "readers.pcscDown": "The smart-card service (PC/SC) does not answer.",
    "card.cps": "CPS card (professional)",
    "card.vitale": "Vitale card (patient)",
    "card.unknown": "unrecognised card",
    "events.title": "Event log",
    "event.readerAdded": "Reader plugged in: {reader}",
    "event.readerRemoved": "Reader unplugged: {reader}",
    "event.cardInserted": "{card} inserted in {reader}",
    "event.cardRemoved": "Card removed from {reader}",
    "event.pcscUp": "PC/SC service available",
    "event.pcscDown": "PC/SC service unavailable",
    "event.connected": "Connected to Passerelle {version}",
    "event.disconnected": "Connection lost, trying again…",
    "cps.title": "The professional's CPS card",
    "cps.read": "Read the CPS",
    "cps.none": "Insert a CPS card.",
    "cps.name": "Name",
    "cps.profession": "Profession",
    "cps.idNat": "National identifier",
    "cps.idType": "Identifier type",
    "cps.nameUnknown": "holder not given by the card",
    "cps.organization": "Organisation",
    "cps.pinState": "PIN",
    "cps.pinVerified": "verified",
    "cps.pinNotVerified": "not verified",
    "cps.tries": "{n} tries left",
    "cps.certificate": "Certificate valid until",
    "cps.pinBlocked": "blocked",
    "cps.lastTry": "last try before the card is blocked",
    "cps.expired":
      "This CPS expired on {date}: INSi and signatures will refuse it. Use a CPS that is still valid.",
    "cps.expiresSoon": "This CPS expires on {date} (in {days} day(s)): have it renewed.",
    "cps.expiredShort": "expired",
    "cps.insert": "Insert your CPS card in the reader.",
    "cps.notCps": "The card in this reader is not a CPS: insert your CPS card.",
    "vitale.insert": "Insert the patient's Vitale card in the reader.",
    "vitale.notVitale": "The card in this reader is not a Vitale card: insert the patient's Vitale card.",
    "vitale.v1":
      "This is a first-generation Vitale card (Vitale 1): Passerelle cannot read it. Only Vitale 2 cards can be read.",
    "card.vitale1": "Vitale 1 card (not supported)",
    "vitale.partial":
      "Part of the card could not be read: one or more beneficiaries may be missing. Check with the patient.",
    "vitale.generation.vitale2": "Vitale 2",
    details: "details",
    "pin.verified": "PIN verified ({n} tries left).",
    "pin.perOrigin":
      "The PIN counts for the program that asked for it: a PIN typed here for this page does not serve other programs (each asks once, in this same window).",
    "cps.verifyPin": "Verify the PIN",
    "cps.pinOk": "PIN verified ({n} tries left).",
    "vitale.title": "The patient's Vitale card",
    "vitale.read": "Read the Vitale card",
    "vitale.none": "Insert a Vitale card.",
    "vitale.beneficiaries": "Beneficiaries on the card",
    "vitale.col.name": "Name",
    "vitale.col.birthDate": "Birth date",
    "vitale.col.nir": "NIR",
    "vitale.col.actions": "Actions",
    "vitale.searchInsi": "Look up the INS",
    "vitale.fillForm": "Fill the form",
    "vitale.generation": "Card generation:",
    "vitale.warnings": "Reading warnings",
    "insi.title": "INSi search",
    "insi.intro":
      "Look up the national health identity by identity traits, or from a Vitale card beneficiary.",
    "insi.birthName": "Birth name",
    "insi.firstNames": "First names (separated by spaces)",
    "insi.sex": "Sex",
    "insi.sex.F": "Female",
    "insi.sex.M": "Male",
    "insi.birthDate": "Birth date (DD/MM/YYYY)",
    "insi.birthPlace": "Birth place, INSEE code (optional)",
    "insi.submit": "Search",
    "insi.result": "Result",
    "insi.outcome.found": "Identity found",
    "insi.outcome.notFound": "No identity found",
    "insi.outcome.multiple": "Several possible identities: handle manually",
    "insi.cr": "Report code (CR)",
    "insi.ins": "INS (number and key)",
    "insi.oid": "OID",
    "insi.type": "Type",
    "insi.identity": "Reference traits",
    "insi.messageId": "Message identifier",
    "insi.history": "Number history",
    "insi.searching": "Searching…",
    "insi.invalid": "Check these fields: {fields}.",
    "lab.title": "Lab (simulation)",
    "lab.intro": "Insert or remove virtual cards, and make the INSi simulator fail on purpose.",
    "lab.slot": "Virtual reader {n}",
    "lab.profile": "Card to insert in reader {n}",
    "lab.insert": "Insert",
    "lab.remove": "Remove",
    "lab.fault": "INSi simulator fault",
    "lab.fault.none": "none",
    "lab.fault.delay": "slow answer",
    "lab.fault.http500": "HTTP 500 error",
    "lab.fault.malformed": "unreadable answer",
    "lab.fault.reset": "connection reset",
    "lab.applyFault": "Apply",
    "lab.done": "Done.",
    "about.title": "About",
    "about.version": "Passerelle version",
    "about.protocol": "Protocol",
    "about.capabilities": "Available functions",
    "about.origin": "This page's address",
    "pin.title": "CPS PIN entry",
    "pin.intro": "Passerelle hands the PIN straight to the card: the software asking for it never sees it.",
    "pin.none": "No PIN request waiting.",
    "pin.request": "PIN request",
    "pin.origin": "Requested by",
    "pin.reader": "Reader",
    "pin.tries": "Tries left",
    "pin.lastTry": "Warning: last try before the card is blocked.",
    "pin.field": "PIN (4 to 8 digits)",
    "pin.submit": "Confirm",
    "pin.cancel": "Refuse",
    "pin.sent": "PIN handed to the card.",
    "pin.cancelled": "Request refused.",
    "pin.invalid": "The PIN has 4 to 8 digits.",
    "pin.waiting": "A program asks for your PIN: type it below.",
    "consent.title": "Allow a site",
    "consent.question": "A site asks to use this workstation's card readers (CPS and Vitale cards, INSi).",
    "consent.origin": "Site",
    "consent.appName": "Calls itself",
    "consent.noAppName": "(no name)",
    "consent.code": "Code",
    "consent.checkCode":
      "Check that the software shows the same code. Only allow the address of software you use.",
    "consent.grants": "You can take this permission back on Passerelle's page.",
    "consent.allow": "Allow",
    "consent.deny": "Deny",
    "consent.allowed": "Site allowed. You may close this window.",
    "consent.denied": "Request denied. You may close this window.",
    "consent.invalid":
      "This request is no longer valid (already answered, expired, or a page Passerelle did not open).",
    "grants.title": "Allowed sites",
    "grants.none": "No site allowed on this workstation.",
    "grants.since": "since {date}",
    "grants.revoke": "Revoke",
    notAvailable: "Not available in this build of Passerelle.",
    working: "Working…",
  },
};

/**
 * What to tell the user for each error reason (docs/protocol.md, "Errors"), plus the SDK's own
 * reasons. Never the technical message: it may be English jargon, and a page shows this one.
 * @type {Record<string, Record<string, string>>}
 */
export const REASON_MESSAGES = {
  fr: {
    ACCESS_DENIED: "Cette page n'est pas autorisée à utiliser Passerelle sur ce poste.",
    BUSY: "Une autre saisie (code porteur, consentement) est déjà en cours. Terminez-la puis réessayez.",
    RATE_LIMITED: "Trop de demandes d'un coup. Patientez quelques secondes puis réessayez.",
    TIMEOUT: "L'opération a pris trop de temps. Réessayez.",
    USER_CANCELLED: "Opération annulée.",
    CONSENT_UNAVAILABLE:
      "Passerelle n'a pas pu ouvrir sa fenêtre d'autorisation sur ce poste. Demandez à votre administrateur d'autoriser ce logiciel.",
    PCSC_UNAVAILABLE: "Le service des lecteurs de cartes ne répond pas. Vérifiez qu'il est lancé.",
    NO_READER: "Aucun lecteur de cartes trouvé. Branchez le lecteur.",
    NO_CARD: "Aucune carte dans le lecteur. Insérez la carte.",
    WRONG_CARD: "Ce n'est pas le bon type de carte pour cette opération.",
    CARD_REMOVED: "La carte a été retirée pendant la lecture. Réinsérez-la et réessayez.",
    CARD_ERROR: "La carte a répondu par une erreur. Retirez-la, réinsérez-la, puis réessayez.",
    READER_BUSY: "Le lecteur est utilisé par un autre logiciel. Fermez-le puis réessayez.",
    PIN_REQUIRED: "Le code porteur de la CPS doit d'abord être vérifié.",
    PIN_INCORRECT: "Code porteur incorrect.",
    PIN_BLOCKED: "Le code porteur de la CPS est bloqué. Il faut le débloquer avec le code de déblocage.",
    PIN_LAST_TRY: "Dernier essai avant blocage de la CPS : confirmez pour tenter ce code.",
    PIN_ENTRY_UNAVAILABLE: "Aucun moyen autorisé de saisir le code porteur sur ce poste.",
    INSI_NOT_CONFIGURED:
      "Le téléservice INSi n'est pas configuré sur ce poste. Contactez votre administrateur.",
    INSI_UNAVAILABLE: "Le téléservice INSi est injoignable pour le moment. Réessayez plus tard.",
    INSI_FAULT: "Le téléservice INSi a refusé la demande.",
    INSI_INVALID_RESPONSE: "Le téléservice INSi a répondu de façon incompréhensible.",
    VITALE_ASSERTION_UNAVAILABLE:
      "La recherche avec la carte Vitale n'est pas disponible sur ce poste : recherchez par les traits.",
    AUDIT_UNAVAILABLE: "Passerelle ne peut plus écrire son journal (disque plein ?). Prévenez votre support.",
    NOT_CONNECTED: "Pas de connexion à Passerelle.",
    DISCONNECTED: "La connexion à Passerelle a été perdue.",
    PROTOCOL_MISMATCH: "Cette version de Passerelle n'est pas compatible avec cette page.",
    NOT_AVAILABLE: "Pas disponible dans cette version de Passerelle.",
    INVALID_PARAMS: "Certaines informations envoyées ne sont pas valides.",
    RPC_ERROR: "Erreur inattendue de Passerelle.",
  },
  en: {
    ACCESS_DENIED: "This page is not allowed to use Passerelle on this computer.",
    BUSY: "Another entry (PIN, consent) is already in progress. Finish it, then try again.",
    RATE_LIMITED: "Too many requests at once. Wait a few seconds, then try again.",
    TIMEOUT: "The operation took too long. Try again.",
    USER_CANCELLED: "Cancelled.",
    CONSENT_UNAVAILABLE:
      "Passerelle could not open its permission window on this computer. Ask your administrator to allow this software.",
    PCSC_UNAVAILABLE: "The smart-card service does not answer. Check that it is running.",
    NO_READER: "No card reader found. Plug the reader in.",
    NO_CARD: "No card in the reader. Insert the card.",
    WRONG_CARD: "This is not the right kind of card for this operation.",
    CARD_REMOVED: "The card was removed while being read. Insert it again and retry.",
    CARD_ERROR: "The card answered with an error. Remove it, insert it again, then retry.",
    READER_BUSY: "The reader is used by another program. Close it, then retry.",
    PIN_REQUIRED: "The CPS PIN must be verified first.",
    PIN_INCORRECT: "Wrong PIN.",
    PIN_BLOCKED: "The CPS PIN is blocked. It must be unblocked with the unblocking code.",
    PIN_LAST_TRY: "Last try before the CPS is blocked: confirm to try this PIN.",
    PIN_ENTRY_UNAVAILABLE: "No allowed way to enter the PIN on this computer.",
    INSI_NOT_CONFIGURED:
      "The INSi teleservice is not configured on this computer. Contact your administrator.",
    INSI_UNAVAILABLE: "The INSi teleservice cannot be reached right now. Try again later.",
    INSI_FAULT: "The INSi teleservice refused the request.",
    INSI_INVALID_RESPONSE: "The INSi teleservice answered something unreadable.",
    VITALE_ASSERTION_UNAVAILABLE: "Searching with the Vitale card is not available here: search by traits.",
    AUDIT_UNAVAILABLE: "Passerelle cannot write its audit trail (disk full?). Tell your support.",
    NOT_CONNECTED: "Not connected to Passerelle.",
    DISCONNECTED: "The connection to Passerelle was lost.",
    PROTOCOL_MISMATCH: "This version of Passerelle does not work with this page.",
    NOT_AVAILABLE: "Not available in this build of Passerelle.",
    INVALID_PARAMS: "Some of the information sent is not valid.",
    RPC_ERROR: "Unexpected error from Passerelle.",
  },
};

/** JSON-RPC codes that carry no `reason` but that the page tells apart. */
const METHOD_NOT_FOUND = -32601;
const INVALID_PARAMS = -32602;

/** The reason key for an error thrown by the SDK (PasserelleError) or anything else. */
export function reasonOf(error) {
  const code = typeof error?.code === "number" ? error.code : 0;
  if (code === METHOD_NOT_FOUND) return "NOT_AVAILABLE";
  if (code === INVALID_PARAMS) return "INVALID_PARAMS";
  const reason = typeof error?.reason === "string" ? error.reason : "RPC_ERROR";
  return reason in REASON_MESSAGES.fr ? reason : "RPC_ERROR";
}

/**
 * The sentence for an error in its situation: WRONG_CARD says which card to insert (or that a
 * Vitale 1 cannot be read), PIN_INCORRECT how many tries are left. Never the technical message:
 * that goes to `errorDetails`, shown folded under "détails".
 */
export function errorMessage(language, error) {
  const reason = reasonOf(error);
  const messages = REASON_MESSAGES[language] ?? REASON_MESSAGES.fr;
  const words = STRINGS[language] ?? STRINGS.fr;
  const data = error?.data ?? {};
  if (reason === "WRONG_CARD") {
    if (data.generation === "vitale1") return words["vitale.v1"];
    // No CPS in any reader (chooseReader), or the named reader holds another card (the driver).
    if (data.cardType === "cps" && Array.isArray(data.present)) return words["cps.insert"];
    if (data.expected === "cps") return words["cps.notCps"];
    if (data.cardType === "vitale" && Array.isArray(data.present)) return words["vitale.insert"];
    if (data.expected === "vitale") return words["vitale.notVitale"];
  }
  let text = messages[reason] ?? messages.RPC_ERROR;
  if ((reason === "PIN_INCORRECT" || reason === "PIN_LAST_TRY") && typeof data.triesRemaining === "number") {
    text += " " + format(words["cps.tries"] ?? "", { n: data.triesRemaining });
  }
  return text;
}

/** The technical side of an error, for the folded "détails": reason, message, status word, fault. */
export function errorDetails(error) {
  const data = error?.data ?? {};
  const parts = [];
  const reason = typeof error?.reason === "string" ? error.reason : reasonOf(error);
  parts.push(typeof error?.code === "number" ? `${reason} (${error.code})` : reason);
  if (typeof error?.message === "string" && error.message) parts.push(error.message);
  if (typeof data.sw === "string") parts.push(`SW ${data.sw}`);
  if (typeof data.faultCode === "string") parts.push(data.faultCode);
  if (typeof data.faultMessage === "string") parts.push(data.faultMessage);
  return parts.join(" — ");
}

/**
 * A card or INSi date (YYYY-MM-DD, or a lunar date with 00 for an unknown day or month) as a French
 * reader writes it: 15/01/1980, 00/00/1982. Anything else is shown as it came.
 */
export function formatDate(value) {
  const match = /^(\d{4})-(\d{2})-(\d{2})/.exec(String(value ?? ""));
  return match ? `${match[3]}/${match[2]}/${match[1]}` : String(value ?? "");
}

/** A date typed as DD/MM/YYYY (or YYYY-MM-DD) → YYYY-MM-DD, or null. */
export function parseDate(text) {
  const value = String(text ?? "").trim();
  if (/^\d{4}-\d{2}-\d{2}$/.test(value)) return value;
  const match = /^(\d{2})\/(\d{2})\/(\d{4})$/.exec(value);
  return match ? `${match[3]}-${match[2]}-${match[1]}` : null;
}

/** Replaces `{name}` by the parameter's value. */
export function format(template, params = {}) {
  return template.replace(/\{(\w+)\}/g, (whole, name) => (name in params ? String(params[name]) : whole));
}
