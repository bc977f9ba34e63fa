/**
 * The example EHR page's words, in French (default: its users are French receptionists and
 * doctors) and English, with the same keys; the error reasons are in messages.js. The page shows
 * a switch and keeps the choice (localStorage). A test checks that both languages have every key,
 * that every key the page uses exists, and that app.js writes no user-facing words of its own.
 */

export const LANGUAGES = ["fr", "en"];
export const DEFAULT_LANGUAGE = "fr";

/** @type {Record<string, Record<string, string>>} */
export const STRINGS = {
  fr: {
    "page.title": "Dossier patient — exemple d'intégration Passerelle",
    "page.tag": "exemple",
    "lang.toggle": "English",
    "lang.toggle.label": "Switch the page to English",
    "reader.label": "Lecteur de cartes :",
    "state.idle": "recherche de Passerelle…",
    "state.absent": "Passerelle introuvable",
    "state.unreachable": "connexion impossible",
    "state.denied": "accès refusé",
    "state.reconnecting": "reconnexion…",
    "state.closed": "déconnecté",
    "state.pending": "autorisation demandée",
    "state.ready": "prêt",
    "state.readySimulation": "prêt (SIMULATION)",
    "notice.sdkUnavailable":
      "Passerelle ne répond pas sur ce poste (ou n'autorise pas ce logiciel). Nouvel essai dans un instant…",
    "notice.permissionPrompt":
      "Le navigateur demande si ce site peut accéder aux lecteurs de cartes : répondez « Autoriser ».",
    "notice.blockedByBrowser":
      "Le navigateur bloque l'accès aux lecteurs de cartes. Autorisez « Réseau local » pour ce site (icône à gauche de l'adresse).",
    "notice.notRunning": "Passerelle n'est pas lancé sur ce poste.",
    "notice.askAdministrator": "Demandez à votre administrateur de l'autoriser.",
    "notice.pairingCode": "Vérifiez que la fenêtre Passerelle affiche le code {code}, puis acceptez.",
    "notice.acceptRequest": "Acceptez la demande dans la fenêtre de Passerelle.",
    heading: "Accueil du patient",
    "professional.title": "Professionnel",
    "professional.insert": "Insérez votre carte CPS dans le lecteur.",
    "professional.holder": "{who} (carte CPS)",
    "professional.holderWithProfession": "{who}, {profession} (carte CPS)",
    "professional.name": "{firstName} {lastName}",
    "professional.unnamed": "Titulaire non indiqué par la carte",
    "professional.unnamedOf": "Titulaire non indiqué par la carte ({organization})",
    "professional.pinBlocked": " — code porteur bloqué",
    "professional.expired":
      "Cette CPS a expiré le {date} : l'INSi la refusera. Utilisez une CPS en cours de validité.",
    "professional.expiresSoon": "Cette CPS expire le {date} (dans {days} jour(s)) : pensez à la renouveler.",
    "vitale.title": "Carte Vitale",
    "vitale.insert": "Insérez la carte Vitale du patient dans le lecteur.",
    "vitale.removed": "Carte Vitale retirée.",
    "vitale.who": "Qui est le patient ?",
    "vitale.beneficiary": "{lastName} {firstName} — né(e) le {date}",
    "vitale.patient": "Patient : {lastName} {firstName}, né(e) le {date}",
    "pinPage.title": "Code porteur de votre CPS",
    "pinPage.before": "Passerelle n'a pas pu ouvrir sa fenêtre de saisie du code porteur.",
    "pinPage.link": "Ouvrir la saisie du code porteur",
    "pinPage.after": "puis saisissez-y votre code : ce logiciel ne le voit jamais.",
    "pinForm.intro": "L'INSi demande une carte CPS et son code porteur.",
    "pinForm.label": "Code porteur",
    "pinForm.submit": "Valider",
    "pinForm.cancel": "Annuler",
    "pin.confirmLastTry": "{message} Continuer ?",
    "ins.title": "Identité nationale de santé (INS)",
    "ins.choose": "Choisissez un bénéficiaire pour interroger l'INSi.",
    "ins.asking":
      "Interrogation de l'INSi… Si Passerelle le demande, saisissez le code porteur de votre CPS dans sa fenêtre.",
    "ins.askingAgain": "Interrogation de l'INSi…",
    "ins.pinNeeded":
      "Le code porteur de votre CPS est nécessaire : ouvrez la saisie du code porteur de Passerelle.",
    "ins.multiple": "Plusieurs identités correspondent (CR {code}) : vérifiez les traits à la main.",
    "ins.notFound": "Aucune identité trouvée (CR {code} — {label}).",
    "ins.found": "Identité trouvée.",
    "ins.birthName": "Nom de naissance",
    "ins.firstNames": "Prénoms",
    "ins.sexAndBirth": "Sexe et date de naissance",
    "ins.value": "Matricule INS",
    "ins.cr": "Compte rendu INSi",
    "ins.female": "féminin",
    "ins.male": "masculin",
  },
  en: {
    "page.title": "Patient record — Passerelle integration example",
    "page.tag": "example",
    "lang.toggle": "Français",
    "lang.toggle.label": "Afficher la page en français",
    "reader.label": "Card reader:",
    "state.idle": "looking for Passerelle…",
    "state.absent": "Passerelle not found",
    "state.unreachable": "cannot connect",
    "state.denied": "access refused",
    "state.reconnecting": "reconnecting…",
    "state.closed": "disconnected",
    "state.pending": "authorisation requested",
    "state.ready": "ready",
    "state.readySimulation": "ready (SIMULATION)",
    "notice.sdkUnavailable":
      "Passerelle does not answer on this computer (or does not allow this software). Trying again in a moment…",
    "notice.permissionPrompt": "The browser asks whether this site may use the card readers: answer “Allow”.",
    "notice.blockedByBrowser":
      "The browser blocks access to the card readers. Allow “Local network” for this site (the icon left of the address).",
    "notice.notRunning": "Passerelle is not running on this computer.",
    "notice.askAdministrator": "Ask your administrator to allow it.",
    "notice.pairingCode": "Check that the Passerelle window shows the code {code}, then accept.",
    "notice.acceptRequest": "Accept the request in Passerelle's window.",
    heading: "Patient reception",
    "professional.title": "Professional",
    "professional.insert": "Insert your CPS card in the reader.",
    "professional.holder": "{who} (CPS card)",
    "professional.holderWithProfession": "{who}, {profession} (CPS card)",
    "professional.name": "{firstName} {lastName}",
    "professional.unnamed": "Holder not given by the card",
    "professional.unnamedOf": "Holder not given by the card ({organization})",
    "professional.pinBlocked": " — PIN blocked",
    "professional.expired": "This CPS expired on {date}: INSi will refuse it. Use a CPS that is still valid.",
    "professional.expiresSoon": "This CPS expires on {date} (in {days} day(s)): have it renewed.",
    "vitale.title": "Vitale card",
    "vitale.insert": "Insert the patient's Vitale card in the reader.",
    "vitale.removed": "Vitale card removed.",
    "vitale.who": "Who is the patient?",
    "vitale.beneficiary": "{lastName} {firstName} — born {date}",
    "vitale.patient": "Patient: {lastName} {firstName}, born {date}",
    "pinPage.title": "Your CPS PIN",
    "pinPage.before": "Passerelle could not open its PIN window.",
    "pinPage.link": "Open the PIN entry",
    "pinPage.after": "then type your PIN there: this software never sees it.",
    "pinForm.intro": "INSi needs a CPS card and its PIN.",
    "pinForm.label": "PIN",
    "pinForm.submit": "Confirm",
    "pinForm.cancel": "Cancel",
    "pin.confirmLastTry": "{message} Continue?",
    "ins.title": "National health identity (INS)",
    "ins.choose": "Choose a beneficiary to ask INSi.",
    "ins.asking": "Asking INSi… If Passerelle asks for it, type your CPS PIN in its window.",
    "ins.askingAgain": "Asking INSi…",
    "ins.pinNeeded": "Your CPS PIN is needed: open Passerelle's PIN entry.",
    "ins.multiple": "Several identities match (CR {code}): check the traits by hand.",
    "ins.notFound": "No identity found (CR {code} — {label}).",
    "ins.found": "Identity found.",
    "ins.birthName": "Birth name",
    "ins.firstNames": "First names",
    "ins.sexAndBirth": "Sex and date of birth",
    "ins.value": "INS number",
    "ins.cr": "INSi report",
    "ins.female": "female",
    "ins.male": "male",
  },
};

/** Replaces {name} by params.name. */
export function format(template, params = {}) {
  return template.replace(/\{(\w+)\}/g, (whole, name) => (name in params ? String(params[name]) : whole));
}

/** The text of `key` in `language` (French when missing), with its {params} filled in. */
export function translate(language, key, params) {
  const template = STRINGS[language]?.[key] ?? STRINGS[DEFAULT_LANGUAGE][key] ?? key;
  return params ? format(template, params) : template;
}
