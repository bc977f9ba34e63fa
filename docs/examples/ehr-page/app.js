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
 * Every word shown goes through i18n.js (French by default, English one click away, the choice
 * kept): what is on screen is kept as "how to say it" (a function of the language), so a switch
 * re-renders the statuses already shown. Personal data stays on the screen: nothing here is
 * written to the console.
 */
import { DEFAULT_LANGUAGE, LANGUAGES, translate } from "./i18n.js";
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
/** A CPS whose certificates end within this many days is said to expire soon (as the daemon's page). */
const EXPIRY_WARNING_DAYS = 30;
const DAY_MS = 86_400_000;
const LANGUAGE_KEY = "ehr-example.language";

const $ = (id) => {
  const element = document.getElementById(id);
  if (!(element instanceof HTMLElement)) throw new Error(`missing #${id}`);
  return element;
};

// ---------------------------------------------------------------------------------------------
// Words. `t` is the current language's; `say(id, render)` shows render() in #id and keeps render,
// so that `applyLanguage()` can say everything again in the other language.
// ---------------------------------------------------------------------------------------------
let language = DEFAULT_LANGUAGE;
try {
  const saved = localStorage.getItem(LANGUAGE_KEY);
  if (saved && LANGUAGES.includes(saved)) language = saved;
} catch {
  // storage disabled: the default language
}
const t = (key, params) => translate(language, key, params);
const describe = (error) => messageFor(error, language);
/** What each element says, as a function of the language. */
const shown = new Map();

function say(id, render) {
  shown.set(id, render);
  $(id).textContent = render();
}

function applyLanguage() {
  document.documentElement.lang = language;
  for (const element of document.querySelectorAll("[data-i18n]"))
    element.textContent = t(element.getAttribute("data-i18n"));
  const toggle = $("lang-toggle");
  toggle.textContent = t("lang.toggle");
  toggle.setAttribute("lang", language === "fr" ? "en" : "fr");
  toggle.setAttribute("aria-label", t("lang.toggle.label"));
  for (const [id, render] of shown) $(id).textContent = render();
  renderBeneficiaries();
  renderExpiry();
}

$("lang-toggle").addEventListener("click", () => {
  language = language === "fr" ? "en" : "fr";
  try {
    localStorage.setItem(LANGUAGE_KEY, language);
  } catch {
    // storage disabled: the choice lasts until the page is reloaded
  }
  applyLanguage();
});

function notify(render) {
  say("notice", render ?? (() => ""));
  $("notice").hidden = render === null;
}

function showState(state, key) {
  $("passerelle-state").dataset.state = state;
  say("passerelle-state", () => t(key));
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
    showState("absent", "state.absent");
    notify(() => t("notice.sdkUnavailable"));
    setTimeout(start, RETRY_FIND_MS);
    return;
  }
  passerelle = new sdk.PasserelleClient({ url: DAEMON_URL });

  // probe() tells "not running" from "the browser asks the user" and "the browser blocks it"
  // (Chrome Local Network Access).
  const probe = await passerelle.probe();
  if (probe.status === "unreachable") {
    showState("absent", "state.absent");
    const key =
      probe.reason === "permission-prompt"
        ? "notice.permissionPrompt"
        : probe.reason === "permission-denied"
          ? "notice.blockedByBrowser"
          : "notice.notRunning";
    notify(() => t(key));
    setTimeout(start, RETRY_FIND_MS);
    return;
  }

  // 3. Events first, so nothing is missed between the readers.list below and the first event.
  passerelle.on("card.inserted", ({ readerId, card }) => {
    if (card.type === "vitale") void readVitale(readerId);
    if (card.type === "cps") void readProfessional(readerId);
  });
  passerelle.on("card.removed", ({ readerId }) => {
    if (readerId === vitaleReaderId) clearPatient("vitale.removed");
    if (readerId === cpsReaderId) showProfessional(null);
  });
  passerelle.on("access.changed", ({ access }) => {
    if (access === "granted") void onConnected();
    else showState("denied", "state.denied");
  });
  // The SDK reconnects by itself (daemon restarted, computer woke up): on every "open", start over.
  passerelle.onStateChange((state) => {
    if (state === "open") void onConnected();
    if (state === "reconnecting") showState("reconnecting", "state.reconnecting");
    if (state === "closed") showState("closed", "state.closed");
  });
  try {
    await passerelle.connect();
  } catch (error) {
    // probe() said it runs but this origin is not allowed: the WebSocket was refused for that reason
    // (the browser does not tell the SDK why), so say it, not "Reconnexion en cours…".
    if (probe.allowed === false) {
      showState("denied", "state.denied");
      notify(() => `${describe({ reason: "ACCESS_DENIED" })} ${t("notice.askAdministrator")}`);
    } else {
      showState("absent", "state.unreachable");
      notify(() => describe(error));
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
        showState("pending", "state.pending");
        const code = answer.pairingCode;
        notify(() => (code ? t("notice.pairingCode", { code }) : t("notice.acceptRequest")));
        return; // access.changed will call onConnected again
      }
      if (answer.access !== "granted") {
        showState("denied", "state.denied");
        notify(() => describe({ reason: "ACCESS_DENIED" }));
        return;
      }
    }
    showState("ready", hello.simulation ? "state.readySimulation" : "state.ready");
    notify(null);
    await passerelle.call("events.subscribe", { topics: ["cards", "readers"] });
    const { readers } = await passerelle.call("readers.list", {});
    const cps = readers.find((reader) => reader.card?.type === "cps");
    if (cps) await readProfessional(cps.id);
    else showProfessional(null);
    const vitale = readers.find((reader) => reader.card?.type === "vitale");
    if (vitale) await readVitale(vitale.id);
  } catch (error) {
    notify(() => describe(error));
  }
}

// ---------------------------------------------------------------------------------------------
// The professional: whose CPS signs the INSi calls (cps.read gives the holder, no PIN needed).
// ---------------------------------------------------------------------------------------------
async function readProfessional(readerId) {
  try {
    const { holder, pin, certificates } = await passerelle.call("cps.read", { readerId });
    cpsReaderId = readerId;
    showProfessional(holder, pin, certificates);
  } catch (error) {
    cpsCertificates = null;
    renderExpiry();
    say("professional", () => describe(error));
  }
}

/** The CPS's certificates, for the expiry warning (said at insertion, not when INSi refuses). */
let cpsCertificates = null;

function showProfessional(holder, pin, certificates) {
  cpsCertificates = holder ? (certificates ?? null) : null;
  renderExpiry();
  if (!holder) {
    cpsReaderId = null;
    say("professional", () => t("professional.insert"));
    return;
  }
  const blocked = pin?.triesRemaining === 0;
  // A CPE (employee card) names its structure, not the person (holder.nameKnown === false).
  const who = () =>
    holder.nameKnown === false
      ? holder.organization
        ? t("professional.unnamedOf", { organization: holder.organization })
        : t("professional.unnamed")
      : t("professional.name", holder);
  say(
    "professional",
    () =>
      t(holder.profession ? "professional.holderWithProfession" : "professional.holder", {
        who: who(),
        profession: holder.profession,
      }) + (blocked ? t("professional.pinBlocked") : ""),
  );
}

/** An expired CPS, or one that expires within EXPIRY_WARNING_DAYS: the earliest of its certificates. */
function renderExpiry() {
  const element = $("professional-expiry");
  const ends = [cpsCertificates?.authentication?.notAfter, cpsCertificates?.signature?.notAfter]
    .filter((value) => typeof value === "string" && !Number.isNaN(Date.parse(value)))
    .sort((a, b) => Date.parse(a) - Date.parse(b));
  const left = ends[0] ? Date.parse(ends[0]) - Date.now() : Infinity;
  const days = Math.ceil(left / DAY_MS);
  if (!ends[0] || days > EXPIRY_WARNING_DAYS) {
    element.hidden = true;
    element.textContent = "";
    delete element.dataset.kind;
    return;
  }
  const date = formatDate(ends[0]);
  element.dataset.kind = left <= 0 ? "error" : "warning";
  element.textContent =
    left <= 0 ? t("professional.expired", { date }) : t("professional.expiresSoon", { date, days });
  element.hidden = false;
}

// ---------------------------------------------------------------------------------------------
// 4. The Vitale card: one button per beneficiary; the one chosen is said in words.
// ---------------------------------------------------------------------------------------------
/** The beneficiaries on screen (their buttons are said again when the language changes). */
let shownBeneficiaries = [];

const beneficiaryWords = (beneficiary) => ({
  lastName: beneficiary.lastName,
  firstName: beneficiary.firstName,
  date: formatDate(beneficiary.birthDate),
});

async function readVitale(readerId) {
  try {
    const { beneficiaries } = await passerelle.call("vitale.read", { readerId });
    vitaleReaderId = readerId;
    say("vitale-hint", () => t("vitale.who"));
    $("patient").hidden = true;
    const list = $("beneficiaries");
    list.replaceChildren();
    shownBeneficiaries = [];
    for (const beneficiary of beneficiaries) {
      const button = document.createElement("button");
      button.type = "button";
      button.setAttribute("aria-pressed", "false");
      button.addEventListener("click", () => {
        for (const other of list.querySelectorAll("button")) other.setAttribute("aria-pressed", "false");
        button.setAttribute("aria-pressed", "true");
        say("patient", () => t("vitale.patient", beneficiaryWords(beneficiary)));
        $("patient").hidden = false;
        void findIns(beneficiary);
      });
      const item = document.createElement("li");
      item.append(button);
      list.append(item);
      shownBeneficiaries.push({ button, beneficiary });
    }
    renderBeneficiaries();
  } catch (error) {
    notify(() => describe(error));
  }
}

function renderBeneficiaries() {
  for (const { button, beneficiary } of shownBeneficiaries)
    button.textContent = t("vitale.beneficiary", beneficiaryWords(beneficiary));
}

function clearPatient(hintKey) {
  vitaleReaderId = null;
  shownBeneficiaries = [];
  $("patient").hidden = true;
  $("beneficiaries").replaceChildren();
  say("vitale-hint", () => `${t(hintKey)} ${t("vitale.insert")}`);
  $("ins-result").hidden = true;
  say("ins-status", () => t("ins.choose"));
}

// ---------------------------------------------------------------------------------------------
// 5. INSi. With the Vitale card when the daemon can (the Vitale assertion needs a licensed
// provider), else by traits. PIN_REQUIRED: verify the CPS PIN, then try once more.
// ---------------------------------------------------------------------------------------------
async function findIns(beneficiary) {
  // INSi signs with the CPS: if its PIN is needed, the daemon asks for it on the reader's PIN pad or
  // in its own window, and this call simply takes longer.
  say("ins-status", () => t("ins.asking"));
  $("ins-result").hidden = true;
  try {
    const result = await withPin(() => searchIns(beneficiary));
    showIns(result);
  } catch (error) {
    say("ins-status", () => describe(error));
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
  say("ins-status", () => t("ins.askingAgain"));
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
      if (
        error.reason === "PIN_LAST_TRY" &&
        window.confirm(t("pin.confirmLastTry", { message: describe(error) }))
      ) {
        // The last try is never taken from this page: Passerelle asks for it on the PIN pad or in its window.
        await passerelle.call("cps.verifyPin", { confirmLastTry: true }, { timeoutMs: 120_000 });
        return;
      }
      if (error.reason !== "PIN_INCORRECT") throw error;
      say("ins-status", () => describe(error));
    }
  }
}

/** Shows the link to the daemon's PIN page; resolves when the user opens it. */
function offerPinPage(url) {
  const link = $("pin-page-link");
  if (link instanceof HTMLAnchorElement) link.href = url;
  $("pin-page").hidden = false;
  say("ins-status", () => t("ins.pinNeeded"));
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
  if (result.outcome !== "found" || !result.identity) {
    const { code, label } = result.cr;
    say("ins-status", () =>
      result.outcome === "multiple" ? t("ins.multiple", { code }) : t("ins.notFound", { code, label }),
    );
    return;
  }
  const identity = result.identity;
  say("ins-status", () => t("ins.found"));
  $("ins-birthname").textContent = identity.birthName;
  $("ins-firstnames").textContent = identity.firstNames.join(" ");
  say(
    "ins-birth",
    () => `${t(identity.sex === "F" ? "ins.female" : "ins.male")}, ${formatDate(identity.birthDate)}`,
  );
  $("ins-value").textContent = `${identity.ins.value} ${identity.ins.key} (${identity.ins.type})`;
  $("ins-cr").textContent = `${result.cr.code} — ${result.cr.label}`;
  $("ins-result").hidden = false;
}

// What the page says before anything is known, through i18n like the rest.
showState("idle", "state.idle");
say("professional", () => t("professional.insert"));
say("vitale-hint", () => t("vitale.insert"));
say("ins-status", () => t("ins.choose"));
applyLanguage();
void start();
