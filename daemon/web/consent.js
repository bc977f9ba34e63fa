/**
 * consent.html: the page the daemon opens when a web app that is not allowed yet calls
 * `access.request`. It shows the asking origin, the name the app gives itself and the 6-digit code
 * the app shows too, and sends the user's answer with `access.decide`. The one-time token that
 * names the request is in this page's URL fragment (never sent to a server, never in a Referer):
 * only the page the daemon opened can answer. Text only: nothing is inserted as HTML.
 */
import { PasserelleClient } from "/sdk/passerelle-client.js";
import { DEFAULT_LANGUAGE, LANGUAGES, STRINGS, errorDetails, errorMessage, format } from "/i18n.js";
import { showStatus } from "/status.js";

const LANGUAGE_KEY = "passerelle.language";

let language = DEFAULT_LANGUAGE;
try {
  const saved = localStorage.getItem(LANGUAGE_KEY);
  if (saved && LANGUAGES.includes(saved)) language = saved;
} catch {
  // storage disabled: the default language
}
const t = (key, params) => {
  const template = STRINGS[language]?.[key] ?? STRINGS[DEFAULT_LANGUAGE][key] ?? key;
  return params ? format(template, params) : template;
};

const token = location.hash.slice(1);
let simulation = false;
/** The request ({origin, appName?, pairingCode}) or null; the outcome as words to translate. */
let request = null;
let outcome = null;

const client = new PasserelleClient({
  url: `${location.protocol === "https:" ? "wss:" : "ws:"}//${location.host}/v1`,
  reconnect: false,
});

function render() {
  document.documentElement.lang = language;
  for (const element of document.querySelectorAll("[data-i18n]"))
    element.textContent = t(element.getAttribute("data-i18n"));
  const toggle = document.getElementById("lang-toggle");
  toggle.textContent = t("lang.toggle");
  toggle.setAttribute("lang", language === "fr" ? "en" : "fr");
  toggle.setAttribute("aria-label", t("lang.toggle.label"));
  document.getElementById("simulation-banner").hidden = !simulation;
  document.body.classList.toggle("simulation", simulation);
  document.title = `${simulation ? "[SIMULATION] " : ""}Passerelle — ${t("consent.title")}`;
  const box = document.getElementById("consent-request");
  box.hidden = request === null || outcome !== null;
  if (request) {
    document.getElementById("consent-origin").textContent = request.origin;
    document.getElementById("consent-app").textContent = request.appName ?? t("consent.noAppName");
    document.getElementById("consent-code").textContent = request.pairingCode;
  }
  const status = document.getElementById("consent-status");
  if (!outcome) return showStatus(status, null, t("details"));
  showStatus(
    status,
    outcome.error
      ? { kind: "error", text: t("consent.invalid"), details: errorDetails(outcome.error) }
      : { kind: outcome.kind, text: t(outcome.key) },
    t("details"),
  );
  if (outcome.error) status.append(document.createTextNode(` ${errorMessage(language, outcome.error)}`));
}

async function decide(allow) {
  for (const id of ["consent-allow", "consent-deny"]) document.getElementById(id).disabled = true;
  try {
    const answer = await client.call("access.decide", { token, allow });
    outcome =
      answer.access === "granted"
        ? { kind: "ok", key: "consent.allowed" }
        : { kind: "info", key: "consent.denied" };
  } catch (error) {
    outcome = { error };
  }
  render();
  document.body.dataset.decided = "true"; // for the end-to-end tests
}

document.getElementById("consent-allow").addEventListener("click", () => void decide(true));
document.getElementById("consent-deny").addEventListener("click", () => void decide(false));
document.getElementById("lang-toggle").addEventListener("click", () => {
  language = language === "fr" ? "en" : "fr";
  try {
    localStorage.setItem(LANGUAGE_KEY, language);
  } catch {
    // storage disabled: the choice lasts until the page is reloaded
  }
  render();
});

async function start() {
  render();
  try {
    await client.connect();
    const hello = await client.call("system.hello", {
      client: { name: "Passerelle consent page", version: "1" },
    });
    simulation = hello.simulation === true;
    request = await client.call("access.consent", { token });
  } catch (error) {
    outcome = { error };
  }
  render();
  document.body.dataset.ready = "true"; // for the end-to-end tests: the request (or the error) is shown
}

void start();
