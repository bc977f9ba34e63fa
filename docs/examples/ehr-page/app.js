/**
 * A minimal "EHR" page that uses Passerelle from its own origin — the walkthrough of
 * docs/integration-guide.md. Steps, in order:
 *
 *   1. load the SDK and find the daemon (probe: running? blocked by the browser?);
 *   2. connect, say hello, get access (the administrator's allowlist, or pairing: same calls);
 *   3. subscribe to card events and react to a Vitale card being inserted or removed;
 *   4. read the Vitale card, let the user pick a beneficiary;
 *   5. ask INSi for the INS (with the Vitale card, or by traits when that is not available),
 *      verifying the CPS PIN when INSi needs it;
 *   6. turn every error reason into a sentence for the user (messages.js).
 *
 * Personal data stays on the screen: nothing here is written to the console.
 */
import { formatDate, messageFor } from "./messages.js";

const APP = { name: "MonDossierPatient (exemple)", version: "1.0.0" };

// The daemon's address. A real EHR uses the default (wss://localhost:9712/v1); the demo and the
// tests pass another one in the query string, e.g. ?passerelle=ws://localhost:9712/v1
const DAEMON_URL = new URLSearchParams(location.search).get("passerelle") ?? "wss://localhost:9712/v1";
/** How long to wait before looking for the daemon again when it is not running. */
const RETRY_FIND_MS = 3000;
/** An INSi call may wait for the user to type the CPS PIN in the daemon's window. */
const INSI_TIMEOUT_MS = 120_000;
/** After the user opened the PIN page: how often, and how many times, to ask again while it connects. */
const PIN_PAGE_RETRY_MS = 500;
const PIN_PAGE_RETRIES = 10;

const $ = (id) => {
  const element = document.getElementById(id);
  if (!(element instanceof HTMLElement)) throw new Error(`missing #${id}`);
  return element;
};

function notify(text) {
  const notice = $("notice");
  notice.textContent = text;
  notice.hidden = text === "";
}

function showState(state, text) {
  const element = $("passerelle-state");
  element.dataset.state = state;
  element.textContent = text;
}

// ---------------------------------------------------------------------------------------------
// 1. The SDK. A real integration bundles it (npm package @passerelle/protocol, import from
// "@passerelle/protocol/client"). This example loads the copy the daemon serves, which the daemon
// only hands to origins it allows (CORS), so the page needs no build step.
// ---------------------------------------------------------------------------------------------
async function loadSdk() {
  const sdkUrl = new URL("/sdk/passerelle-client.js", DAEMON_URL.replace(/^ws/, "http"));
  return import(sdkUrl.href);
}

let passerelle = null;
let vitaleReaderId = null;
let cpsReaderId = null;

async function start() {
  let sdk;
  try {
    sdk = await loadSdk();
  } catch {
    showState("absent", "Passerelle introuvable");
    notify(
      "Passerelle ne répond pas sur ce poste (ou n'autorise pas ce logiciel). Nouvel essai dans un instant…",
    );
    setTimeout(start, RETRY_FIND_MS);
    return;
  }
  passerelle = new sdk.PasserelleClient({ url: DAEMON_URL });

  // probe() tells "not running" from "the browser asks the user" and "the browser blocks it"
  // (Chrome Local Network Access).
  const probe = await passerelle.probe();
  if (probe.status === "unreachable") {
    showState("absent", "Passerelle introuvable");
    notify(
      probe.reason === "permission-prompt"
        ? "Le navigateur demande si ce site peut accéder aux lecteurs de cartes : répondez « Autoriser »."
        : probe.reason === "permission-denied"
          ? "Le navigateur bloque l'accès aux lecteurs de cartes. Autorisez « Réseau local » pour ce site (icône à gauche de l'adresse)."
          : "Passerelle n'est pas lancé sur ce poste.",
    );
    setTimeout(start, RETRY_FIND_MS);
    return;
  }

  // 3. Events first, so nothing is missed between the readers.list below and the first event.
  passerelle.on("card.inserted", ({ readerId, card }) => {
    if (card.type === "vitale") void readVitale(readerId);
    if (card.type === "cps") void readProfessional(readerId);
  });
  passerelle.on("card.removed", ({ readerId }) => {
    if (readerId === vitaleReaderId) clearPatient("Carte Vitale retirée.");
    if (readerId === cpsReaderId) showProfessional(null);
  });
  passerelle.on("access.changed", ({ access }) => {
    if (access === "granted") void onConnected();
    else showState("denied", "accès refusé");
  });
  // The SDK reconnects by itself (daemon restarted, computer woke up): on every "open", start over.
  passerelle.onStateChange((state) => {
    if (state === "open") void onConnected();
    if (state === "reconnecting") showState("reconnecting", "reconnexion…");
    if (state === "closed") showState("closed", "déconnecté");
  });
  try {
    await passerelle.connect();
  } catch (error) {
    // probe() said it runs but this origin is not allowed: the WebSocket was refused for that reason
    // (the browser does not tell the SDK why), so say it, not "Reconnexion en cours…".
    if (probe.allowed === false) {
      showState("denied", "accès refusé");
      notify(`${messageFor({ reason: "ACCESS_DENIED" })} Demandez à votre administrateur de l'autoriser.`);
    } else {
      showState("absent", "connexion impossible");
      notify(`${messageFor(error)}`);
    }
    setTimeout(start, RETRY_FIND_MS);
  }
}

// ---------------------------------------------------------------------------------------------
// 2. Hello and access. A listed origin is granted at once; another https origin asks (pairing):
// access.request answers "pending" with a code to show, and access.changed follows.
// ---------------------------------------------------------------------------------------------
async function onConnected() {
  try {
    const hello = await passerelle.call("system.hello", { client: APP });
    if (hello.access !== "granted") {
      const answer = await passerelle.call("access.request", { appName: APP.name });
      if (answer.access === "pending") {
        showState("pending", "autorisation demandée");
        notify(
          answer.pairingCode
            ? `Vérifiez que la fenêtre Passerelle affiche le code ${answer.pairingCode}, puis acceptez.`
            : "Acceptez la demande dans la fenêtre de Passerelle.",
        );
        return; // access.changed will call onConnected again
      }
      if (answer.access !== "granted") {
        showState("denied", "accès refusé");
        notify(messageFor({ reason: "ACCESS_DENIED" }));
        return;
      }
    }
    showState("ready", hello.simulation ? "prêt (SIMULATION)" : "prêt");
    notify("");
    await passerelle.call("events.subscribe", { topics: ["cards", "readers"] });
    const { readers } = await passerelle.call("readers.list", {});
    const cps = readers.find((reader) => reader.card?.type === "cps");
    if (cps) await readProfessional(cps.id);
    else showProfessional(null);
    const vitale = readers.find((reader) => reader.card?.type === "vitale");
    if (vitale) await readVitale(vitale.id);
  } catch (error) {
    notify(messageFor(error));
  }
}

// ---------------------------------------------------------------------------------------------
// The professional: whose CPS signs the INSi calls (cps.read gives the holder, no PIN needed).
// ---------------------------------------------------------------------------------------------
async function readProfessional(readerId) {
  try {
    const { holder, pin } = await passerelle.call("cps.read", { readerId });
    cpsReaderId = readerId;
    showProfessional(holder, pin);
  } catch (error) {
    $("professional").textContent = messageFor(error);
  }
}

function showProfessional(holder, pin) {
  if (!holder) {
    cpsReaderId = null;
    $("professional").textContent = "Insérez votre carte CPS dans le lecteur.";
    return;
  }
  const blocked = pin?.triesRemaining === 0 ? " — code porteur bloqué" : "";
  // A CPE (employee card) names its structure, not the person (holder.nameKnown === false).
  const who =
    holder.nameKnown === false
      ? `Titulaire non indiqué par la carte${holder.organization ? ` (${holder.organization})` : ""}`
      : `${holder.firstName} ${holder.lastName}`;
  $("professional").textContent =
    `${who}${holder.profession ? `, ${holder.profession}` : ""} (carte CPS)${blocked}`;
}

// ---------------------------------------------------------------------------------------------
// 4. The Vitale card: one button per beneficiary; the one chosen is said in words.
// ---------------------------------------------------------------------------------------------
async function readVitale(readerId) {
  try {
    const { beneficiaries } = await passerelle.call("vitale.read", { readerId });
    vitaleReaderId = readerId;
    $("vitale-hint").textContent = "Qui est le patient ?";
    $("patient").hidden = true;
    const list = $("beneficiaries");
    list.replaceChildren();
    for (const beneficiary of beneficiaries) {
      const button = document.createElement("button");
      button.type = "button";
      button.setAttribute("aria-pressed", "false");
      button.textContent = `${beneficiary.lastName} ${beneficiary.firstName} — né(e) le ${formatDate(beneficiary.birthDate)}`;
      button.addEventListener("click", () => {
        for (const other of list.querySelectorAll("button")) other.setAttribute("aria-pressed", "false");
        button.setAttribute("aria-pressed", "true");
        const patient = $("patient");
        patient.textContent = `Patient : ${beneficiary.lastName} ${beneficiary.firstName}, né(e) le ${formatDate(beneficiary.birthDate)}`;
        patient.hidden = false;
        void findIns(beneficiary);
      });
      const item = document.createElement("li");
      item.append(button);
      list.append(item);
    }
  } catch (error) {
    notify(messageFor(error));
  }
}

function clearPatient(hint) {
  vitaleReaderId = null;
  $("patient").hidden = true;
  $("beneficiaries").replaceChildren();
  $("vitale-hint").textContent = `${hint} Insérez la carte Vitale du patient dans le lecteur.`;
  $("ins-result").hidden = true;
  $("ins-status").textContent = "Choisissez un bénéficiaire pour interroger l'INSi.";
}

// ---------------------------------------------------------------------------------------------
// 5. INSi. With the Vitale card when the daemon can (the Vitale assertion needs a licensed
// provider), else by traits. PIN_REQUIRED: verify the CPS PIN, then try once more.
// ---------------------------------------------------------------------------------------------
async function findIns(beneficiary) {
  // INSi signs with the CPS: if its PIN is needed, the daemon asks for it on the reader's PIN pad or
  // in its own window, and this call simply takes longer.
  $("ins-status").textContent =
    "Interrogation de l'INSi… Si Passerelle le demande, saisissez le code porteur de votre CPS dans sa fenêtre.";
  $("ins-result").hidden = true;
  try {
    const result = await withPin(() => searchIns(beneficiary));
    showIns(result);
  } catch (error) {
    $("ins-status").textContent = messageFor(error);
  }
  // The PIN may have been asked on the way (right, wrong, blocked): show the CPS as it is now.
  if (cpsReaderId) await readProfessional(cpsReaderId);
}

async function searchIns(beneficiary) {
  try {
    return await passerelle.call(
      "insi.searchWithVitale",
      { readerId: vitaleReaderId, beneficiaryIndex: beneficiary.index },
      { timeoutMs: INSI_TIMEOUT_MS },
    );
  } catch (error) {
    if (error.reason !== "VITALE_ASSERTION_UNAVAILABLE") throw error;
    return passerelle.call("insi.searchByTraits", traitsOf(beneficiary), { timeoutMs: INSI_TIMEOUT_MS });
  }
}

/** The Vitale card gives the usual name, one first name and the NIR; sex is the NIR's first digit. */
function traitsOf(beneficiary) {
  return {
    birthName: beneficiary.lastName,
    firstNames: beneficiary.firstName.split(" "),
    sex: "248".includes(beneficiary.nir.charAt(0)) ? "F" : "M",
    birthDate: beneficiary.birthDate,
  };
}

async function withPin(operation) {
  try {
    return await operation();
  } catch (error) {
    if (error.reason !== "PIN_REQUIRED") throw error;
  }
  await verifyPin();
  $("ins-status").textContent = "Interrogation de l'INSi…";
  return operation();
}

/**
 * The PIN goes to the reader's PIN pad or the daemon's own PIN page when the daemon has one (no `pin`
 * parameter). The PIN counts for this origin only: a PIN typed for another program (or on the
 * daemon's own page) does not unlock the card for us. When the daemon could show its PIN page
 * nowhere (no window could open, none is open), it answers PIN_REQUIRED at once with `pinPage`:
 * offer the link, then ask again. Only if no PIN entry exists at all, and only for origins the
 * administrator named, may the page send the PIN it asked for itself.
 */
async function verifyPin() {
  let retriesAfterOpening = 0;
  for (;;) {
    try {
      await passerelle.call("cps.verifyPin", {}, { timeoutMs: 120_000 });
      hidePinPageLink();
      return;
    } catch (error) {
      if (error.reason === "PIN_REQUIRED" && typeof error.data?.pinPage === "string") {
        // The page just opened may take a moment to connect: ask again a few times before offering it again.
        if (retriesAfterOpening > 0) {
          retriesAfterOpening -= 1;
          await new Promise((resolve) => setTimeout(resolve, PIN_PAGE_RETRY_MS));
          continue;
        }
        await offerPinPage(error.data.pinPage);
        retriesAfterOpening = PIN_PAGE_RETRIES;
        continue;
      }
      hidePinPageLink();
      if (error.reason !== "PIN_ENTRY_UNAVAILABLE") throw error;
      break;
    }
  }
  for (;;) {
    const pin = await askPin();
    try {
      await passerelle.call("cps.verifyPin", { pin });
      return;
    } catch (error) {
      if (error.reason === "PIN_LAST_TRY" && window.confirm(messageFor(error) + " Continuer ?")) {
        // The last try is never taken from this page: Passerelle asks for it on the PIN pad or in its window.
        await passerelle.call("cps.verifyPin", { confirmLastTry: true }, { timeoutMs: 120_000 });
        return;
      }
      if (error.reason !== "PIN_INCORRECT") throw error;
      $("ins-status").textContent = messageFor(error);
    }
  }
}

/** Shows the link to the daemon's PIN page; resolves when the user opens it. */
function offerPinPage(url) {
  const link = $("pin-page-link");
  if (link instanceof HTMLAnchorElement) link.href = url;
  $("pin-page").hidden = false;
  $("ins-status").textContent =
    "Le code porteur de votre CPS est nécessaire : ouvrez la saisie du code porteur de Passerelle.";
  link.focus();
  return new Promise((resolve) => link.addEventListener("click", () => resolve(), { once: true }));
}

function hidePinPageLink() {
  $("pin-page").hidden = true;
}

/** Shows the PIN form; resolves with the PIN, rejects with USER_CANCELLED. Never keeps the PIN. */
function askPin() {
  const form = $("pin-form");
  const input = $("pin");
  form.hidden = false;
  input.focus();
  return new Promise((resolve, reject) => {
    const done = () => {
      form.hidden = true;
      form.removeEventListener("submit", onSubmit);
      $("pin-cancel").removeEventListener("click", onCancel);
    };
    const onSubmit = (event) => {
      event.preventDefault();
      const pin = input instanceof HTMLInputElement ? input.value : "";
      if (input instanceof HTMLInputElement) input.value = "";
      done();
      resolve(pin);
    };
    const onCancel = () => {
      done();
      reject({ reason: "USER_CANCELLED" });
    };
    form.addEventListener("submit", onSubmit);
    $("pin-cancel").addEventListener("click", onCancel);
  });
}

function showIns(result) {
  const status = $("ins-status");
  if (result.outcome !== "found" || !result.identity) {
    status.textContent =
      result.outcome === "multiple"
        ? `Plusieurs identités correspondent (CR ${result.cr.code}) : vérifiez les traits à la main.`
        : `Aucune identité trouvée (CR ${result.cr.code} — ${result.cr.label}).`;
    return;
  }
  const identity = result.identity;
  status.textContent = "Identité trouvée.";
  $("ins-birthname").textContent = identity.birthName;
  $("ins-firstnames").textContent = identity.firstNames.join(" ");
  $("ins-birth").textContent =
    `${identity.sex === "F" ? "féminin" : "masculin"}, ${formatDate(identity.birthDate)}`;
  $("ins-value").textContent = `${identity.ins.value} ${identity.ins.key} (${identity.ins.type})`;
  $("ins-cr").textContent = `${result.cr.code} — ${result.cr.label}`;
  $("ins-result").hidden = false;
}

void start();
