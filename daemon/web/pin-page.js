/**
 * pin.html: the page the daemon opens when a web app asks for the CPS PIN and the reader has no PIN
 * pad. It shows which origin asks and hands the PIN to the daemon (pin-requests.js), on the
 * daemon's own origin: the web app never sees it.
 */
import { PasserelleClient } from "/sdk/passerelle-client.js";
import { DEFAULT_LANGUAGE, LANGUAGES, STRINGS, errorDetails, errorMessage, format } from "/i18n.js";
import { createPinRequests } from "/pin-requests.js";
import { showStatus } from "/status.js";

const LANGUAGE_KEY = "passerelle.language";
const RETRY_CONNECT_MS = 2000;

let language = DEFAULT_LANGUAGE;
try {
  const saved = localStorage.getItem(LANGUAGE_KEY);
  if (saved && LANGUAGES.includes(saved)) language = saved;
} catch {
  // storage disabled: the default language
}
let simulation = false;
/** The page-wide problem, as words to translate: {key} or {error}, or null. */
let problem = null;

const t = (key, params) => {
  const template = STRINGS[language]?.[key] ?? STRINGS[DEFAULT_LANGUAGE][key] ?? key;
  return params ? format(template, params) : template;
};

const client = new PasserelleClient({
  url: `${location.protocol === "https:" ? "wss:" : "ws:"}//${location.host}/v1`,
});
const container = document.getElementById("pin-requests");
const pinRequests = createPinRequests({
  client,
  container,
  t,
  describe: (error) => errorMessage(language, error),
  details: errorDetails,
  onCount: (count) => {
    document.title = `${count > 0 ? `(${count}) ` : ""}${simulation ? "[SIMULATION] " : ""}Passerelle — ${t("pin.title")}`;
  },
});

function applyLanguage() {
  document.documentElement.lang = language;
  for (const element of document.querySelectorAll("[data-i18n]"))
    element.textContent = t(element.getAttribute("data-i18n"));
  const toggle = document.getElementById("lang-toggle");
  toggle.textContent = t("lang.toggle");
  toggle.setAttribute("lang", language === "fr" ? "en" : "fr");
  toggle.setAttribute("aria-label", t("lang.toggle.label"));
  document.getElementById("simulation-banner").hidden = !simulation;
  document.body.classList.toggle("simulation", simulation);
  renderProblem();
  pinRequests.render();
}

function renderProblem() {
  const box = document.getElementById("global-error");
  if (!problem) return showStatus(box, null, t("details"));
  showStatus(
    box,
    problem.error
      ? { kind: "error", text: errorMessage(language, problem.error), details: errorDetails(problem.error) }
      : { kind: "error", text: t(problem.key) },
    t("details"),
  );
}

document.getElementById("lang-toggle").addEventListener("click", () => {
  language = language === "fr" ? "en" : "fr";
  try {
    localStorage.setItem(LANGUAGE_KEY, language);
  } catch {
    // storage disabled: the choice lasts until the page is reloaded
  }
  applyLanguage();
});

client.onStateChange(async (state) => {
  if (state !== "open") return;
  try {
    const hello = await client.call("system.hello", {
      client: { name: "Passerelle PIN page", version: "1" },
    });
    simulation = hello.simulation === true;
    problem = null;
    applyLanguage();
    await pinRequests.refresh();
    document.body.dataset.ready = "true"; // for the end-to-end tests: connected and up to date
  } catch (error) {
    problem = { error };
    renderProblem();
  }
});

function connect() {
  client.connect().catch(() => {
    problem = { key: "connection.unreachable" };
    renderProblem();
    setTimeout(connect, RETRY_CONNECT_MS);
  });
}

applyLanguage();
connect();
