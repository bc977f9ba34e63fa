/**
 * The daemon's own page: what Passerelle sees on this workstation, live.
 *
 * - connects to this same origin's /v1 with the SDK the daemon serves (/sdk/passerelle-client.js);
 * - readers and cards come from events (reader.added, card.inserted, …), never from polling;
 * - reads the CPS and the Vitale when they are inserted, runs INSi searches, and in simulation drives
 *   the lab (virtual cards, INSi faults);
 * - a method this build does not have (-32601) shows "not available in this build", nothing breaks.
 *
 * Personal data (names, NIR, INS, birth dates, PIN) is shown on the page only: nothing here writes to
 * the console, and the PIN field is emptied as soon as it is sent.
 */
import { PasserelleClient } from "/sdk/passerelle-client.js";
import { DEFAULT_LANGUAGE, LANGUAGES, STRINGS, errorMessage, format, reasonOf } from "/i18n.js";
import { createPinRequests } from "/pin-requests.js";

const PAGE_CLIENT = { name: "Passerelle page", version: "1" };
/** Events kept in the on-page log. */
const MAX_EVENTS = 50;
/** First wait before trying to connect again after the daemon could not be reached. */
const RETRY_CONNECT_MS = 2000;
const LANGUAGE_KEY = "passerelle.language";
/** Lab card profiles offered until the daemon's own list (lab.status) arrives. */
const DEFAULT_LAB_PROFILES = ["cps", "vitale"];
const DEFAULT_LAB_SLOTS = [0, 1];
const BIRTH_DATE = /^\d{4}-\d{2}-\d{2}$/;
const BIRTH_PLACE = /^[0-9][0-9AB][0-9]{3}$/;
/** A call that may wait for the user to type the PIN: longer than the daemon's own PIN timeout. */
const PIN_TIMEOUT_MS = 90_000;

const state = {
  language: initialLanguage(),
  hello: null,
  /** @type {Map<string, {id:string,name:string,cardPresent:boolean,card?:{type:string,atr:string}}>} */
  readers: new Map(),
  pcscAvailable: true,
  /** @type {Array<{time: Date, key: string, params: Record<string, string>}>} */
  events: [],
  cps: null,
  vitale: null,
  insi: null,
  /** lab.status: {slots, profiles, insiFault}, or null before it answers. */
  lab: null,
};

const client = new PasserelleClient({
  url: `${location.protocol === "https:" ? "wss:" : "ws:"}//${location.host}/v1`,
});

// ---------------------------------------------------------------------------------------------
// Small DOM helpers
// ---------------------------------------------------------------------------------------------
function $(id) {
  const element = document.getElementById(id);
  if (!(element instanceof HTMLElement)) throw new Error(`missing #${id}`);
  return element;
}

function t(key, params) {
  const template = STRINGS[state.language]?.[key] ?? STRINGS[DEFAULT_LANGUAGE][key] ?? key;
  return params ? format(template, params) : template;
}

/** Creates an element with text content only: data from cards is never parsed as HTML. */
function el(tag, text, attributes = {}) {
  const element = document.createElement(tag);
  if (text !== undefined && text !== null) element.textContent = String(text);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, value);
  return element;
}

function fact(list, labelKey, value, testId) {
  list.append(el("dt", t(labelKey)));
  const dd = el("dd", value ?? "—");
  if (testId) dd.dataset.field = testId;
  list.append(dd);
}

function setStatus(id, text, kind = "info") {
  const element = $(id);
  element.textContent = text;
  element.dataset.kind = kind;
}

function showError(id, error) {
  const reason = reasonOf(error);
  setStatus(id, errorMessage(state.language, error), reason === "NOT_AVAILABLE" ? "unavailable" : "error");
  $(id).dataset.reason = reason;
}

/** Runs an action with its button disabled and the status line saying "working". */
async function busy(button, statusId, action) {
  button.disabled = true;
  setStatus(statusId, t("working"), "info");
  delete $(statusId).dataset.reason;
  try {
    await action();
  } catch (error) {
    showError(statusId, error);
  } finally {
    button.disabled = false;
  }
}

// ---------------------------------------------------------------------------------------------
// Language
// ---------------------------------------------------------------------------------------------
function initialLanguage() {
  try {
    const saved = localStorage.getItem(LANGUAGE_KEY);
    if (saved && LANGUAGES.includes(saved)) return saved;
  } catch {
    // storage disabled: the default language
  }
  return DEFAULT_LANGUAGE;
}

function applyLanguage() {
  document.documentElement.lang = state.language;
  for (const element of document.querySelectorAll("[data-i18n]")) {
    element.textContent = t(element.getAttribute("data-i18n"));
  }
  const toggle = $("lang-toggle");
  toggle.textContent = t("lang.toggle");
  toggle.setAttribute("lang", state.language === "fr" ? "en" : "fr");
  toggle.setAttribute("aria-label", t("lang.toggle.label"));
  document.title = state.hello?.simulation ? t("simulation.title") : "Passerelle";
  renderAll();
}

// ---------------------------------------------------------------------------------------------
// Rendering (from `state` alone, so a language switch re-renders everything)
// ---------------------------------------------------------------------------------------------
function cardLabel(card) {
  return t(`card.${card?.type === "cps" || card?.type === "vitale" ? card.type : "unknown"}`);
}

function readerOf(type) {
  for (const reader of state.readers.values()) if (reader.card?.type === type) return reader;
  return undefined;
}

function renderConnection() {
  const element = $("connection-state");
  element.dataset.state = client.state;
  element.textContent = t(`connection.${client.state}`);
}

function renderReaders() {
  const list = $("readers");
  list.replaceChildren();
  for (const reader of state.readers.values()) {
    const item = el("li", null, { "data-reader-id": reader.id });
    item.append(el("span", reader.name, { class: "reader-name" }));
    const card = el("span", reader.cardPresent ? cardLabel(reader.card) : t("readers.empty"), {
      class: "card-badge",
      "data-card": reader.cardPresent ? (reader.card?.type ?? "unknown") : "none",
    });
    item.append(card);
    list.append(item);
  }
  $("readers-none").hidden = state.readers.size > 0;
  $("pcsc-down").hidden = state.pcscAvailable;
  $("cps-empty").hidden = readerOf("cps") !== undefined;
  $("vitale-empty").hidden = readerOf("vitale") !== undefined;
  $("cps-verify").hidden = readerOf("cps") === undefined;
}

function renderEvents() {
  const list = $("events");
  list.replaceChildren();
  for (const event of state.events) {
    const item = el("li");
    item.append(
      el("time", event.time.toLocaleTimeString(state.language), { datetime: event.time.toISOString() }),
    );
    const params = { ...event.params };
    if (params.card) params.card = t(params.card);
    item.append(document.createTextNode(" " + t(event.key, params)));
    list.prepend(item);
  }
}

function renderCps() {
  const holder = $("cps-holder");
  holder.replaceChildren();
  holder.hidden = state.cps === null;
  if (!state.cps) return;
  const { holder: person, pin, certificates } = state.cps;
  fact(holder, "cps.name", `${person.firstName} ${person.lastName}`, "cps-name");
  fact(holder, "cps.profession", person.profession);
  fact(holder, "cps.idNat", person.idNat, "cps-idnat");
  fact(holder, "cps.idType", person.idType);
  const tries =
    typeof pin.triesRemaining === "number" ? ` — ${t("cps.tries", { n: pin.triesRemaining })}` : "";
  fact(
    holder,
    "cps.pinState",
    `${t(pin.verified ? "cps.pinVerified" : "cps.pinNotVerified")}${tries}`,
    "cps-pin",
  );
  fact(holder, "cps.certificate", certificates?.authentication?.notAfter?.slice(0, 10));
}

function renderVitale() {
  const container = $("vitale-card");
  container.hidden = state.vitale === null;
  const body = $("beneficiaries");
  body.replaceChildren();
  if (!state.vitale) return;
  $("vitale-generation").textContent = state.vitale.card?.generation ?? "—";
  for (const beneficiary of state.vitale.beneficiaries) {
    const row = el("tr", null, { "data-beneficiary": String(beneficiary.index) });
    const name = `${beneficiary.lastName} ${beneficiary.firstName}`;
    row.append(el("th", name, { scope: "row" }));
    row.append(el("td", beneficiary.birthDate));
    row.append(el("td", [beneficiary.nir, beneficiary.nirKey].filter(Boolean).join(" ")));
    const actions = el("td", null, { class: "row-actions" });
    const search = el("button", t("vitale.searchInsi"), {
      type: "button",
      "data-action": "insi-vitale",
      "aria-label": `${t("vitale.searchInsi")} : ${name}`,
    });
    search.addEventListener("click", () => void searchWithVitale(beneficiary, search));
    const fill = el("button", t("vitale.fillForm"), {
      type: "button",
      class: "secondary",
      "aria-label": `${t("vitale.fillForm")} : ${name}`,
    });
    fill.addEventListener("click", () => fillTraits(beneficiary));
    actions.append(search, fill);
    row.append(actions);
    body.append(row);
  }
  const warnings = state.vitale.warnings ?? [];
  $("vitale-warnings").hidden = warnings.length === 0;
  $("vitale-warning-list").replaceChildren(...warnings.map((warning) => el("li", warning)));
}

function renderInsi() {
  const box = $("insi-result");
  box.hidden = state.insi === null;
  const facts = $("insi-facts");
  facts.replaceChildren();
  if (!state.insi) return;
  const result = state.insi;
  const outcome = $("insi-outcome");
  outcome.textContent = t(`insi.outcome.${result.outcome}`);
  outcome.dataset.outcome = result.outcome;
  fact(facts, "insi.cr", `${result.cr.code} — ${result.cr.label}`, "insi-cr");
  const identity = result.identity;
  if (identity) {
    fact(facts, "insi.ins", `${identity.ins.value} ${identity.ins.key}`, "insi-ins");
    fact(facts, "insi.type", identity.ins.type);
    fact(facts, "insi.oid", identity.ins.oid);
    const traits = [
      identity.birthName,
      identity.firstNames.join(" "),
      identity.sex,
      identity.birthDate,
      identity.birthPlace,
    ].filter(Boolean);
    fact(facts, "insi.identity", traits.join(" · "), "insi-identity");
    if (identity.history.length > 0) {
      fact(facts, "insi.history", identity.history.map((ins) => `${ins.value} ${ins.key}`).join(", "));
    }
  }
  fact(facts, "insi.messageId", result.messageId);
}

function renderLab() {
  const simulation = state.hello?.simulation === true;
  $("simulation-banner").hidden = !simulation;
  document.body.classList.toggle("simulation", simulation);
  $("lab").hidden = !simulation;
  if (!simulation) return;
  const slots = $("lab-slots");
  // Keep the chosen profiles across re-renders.
  const chosen = new Map(
    [...slots.querySelectorAll("select")].map((select) => [
      select.id,
      select instanceof HTMLSelectElement ? select.value : "",
    ]),
  );
  slots.replaceChildren();
  const profiles = state.lab?.profiles ?? DEFAULT_LAB_PROFILES;
  const slotNumbers = state.lab?.slots.map((slot) => slot.slot) ?? DEFAULT_LAB_SLOTS;
  for (const slot of slotNumbers) {
    const group = el("fieldset", null, { class: "lab-slot", "data-slot": String(slot) });
    group.append(el("legend", t("lab.slot", { n: slot })));
    const selectId = `lab-profile-${slot}`;
    group.append(el("label", t("lab.profile", { n: slot }), { for: selectId }));
    const select = el("select", null, { id: selectId });
    for (const profile of profiles) select.append(el("option", profile, { value: profile }));
    const current = state.lab?.slots.find((entry) => entry.slot === slot)?.card;
    select.value = chosen.get(selectId) || current || (slot === 0 ? "cps" : "vitale");
    if (select.value === "") select.selectedIndex = 0;
    const insert = el("button", t("lab.insert"), { type: "button", "data-action": "lab-insert" });
    insert.addEventListener(
      "click",
      () =>
        void busy(insert, "lab-status", async () => {
          state.lab = await client.call("lab.insertCard", { slot, card: select.value });
          setStatus("lab-status", t("lab.done"), "ok");
        }),
    );
    const remove = el("button", t("lab.remove"), {
      type: "button",
      class: "secondary",
      "data-action": "lab-remove",
    });
    remove.addEventListener(
      "click",
      () =>
        void busy(remove, "lab-status", async () => {
          state.lab = await client.call("lab.removeCard", { slot });
          setStatus("lab-status", t("lab.done"), "ok");
        }),
    );
    group.append(select, insert, remove);
    slots.append(group);
  }
}

function renderAbout() {
  $("about-version").textContent = state.hello?.daemon?.version ?? "—";
  $("about-protocol").textContent = state.hello?.protocol ?? "—";
  $("about-capabilities").textContent = state.hello?.capabilities?.join(", ") || "—";
  $("about-origin").textContent = location.origin;
}

const pinRequests = createPinRequests({
  client,
  container: $("pin-requests"),
  t,
  describe: (error) => errorMessage(state.language, error),
});

function renderAll() {
  renderConnection();
  renderReaders();
  renderEvents();
  renderCps();
  renderVitale();
  renderInsi();
  renderLab();
  renderAbout();
  pinRequests.render();
}

function logEvent(key, params = {}) {
  state.events.push({ time: new Date(), key, params });
  if (state.events.length > MAX_EVENTS) state.events.shift();
  renderEvents();
}

// ---------------------------------------------------------------------------------------------
// Cards
// ---------------------------------------------------------------------------------------------
async function readCps(readerId) {
  const result = await client.call("cps.read", readerId ? { readerId } : {});
  state.cps = result;
  renderCps();
  setStatus("cps-status", "");
}

async function readVitale(readerId) {
  const result = await client.call("vitale.read", readerId ? { readerId } : {});
  state.vitale = result;
  renderVitale();
  setStatus("vitale-status", "");
}

/** Reads a card as soon as it is there: what a receptionist expects from a reader. */
function autoRead(readerId, card) {
  if (card?.type === "cps") void readCps(readerId).catch((error) => showError("cps-status", error));
  if (card?.type === "vitale") void readVitale(readerId).catch((error) => showError("vitale-status", error));
}

/**
 * Asks the daemon to verify the CPS PIN. No PIN is sent from here: the daemon takes it on the
 * reader's PIN pad, or lists a request that the PIN panel below (the daemon's own PIN entry) shows.
 */
async function verifyPin(button) {
  const readerId = readerOf("cps")?.id;
  await busy(button, "cps-status", async () => {
    const params = readerId ? { readerId } : {};
    let result;
    try {
      result = await client.call("cps.verifyPin", params, { timeoutMs: PIN_TIMEOUT_MS });
    } catch (error) {
      if (reasonOf(error) !== "PIN_LAST_TRY" || !window.confirm(errorMessage(state.language, error)))
        throw error;
      result = await client.call(
        "cps.verifyPin",
        { ...params, confirmLastTry: true },
        { timeoutMs: PIN_TIMEOUT_MS },
      );
    }
    setStatus("cps-status", t("cps.pinOk", { n: result.triesRemaining }), "ok");
    if (state.cps) {
      state.cps = { ...state.cps, pin: { verified: true, triesRemaining: result.triesRemaining } };
      renderCps();
    }
  });
}

// ---------------------------------------------------------------------------------------------
// INSi
// ---------------------------------------------------------------------------------------------
function showInsi(result) {
  state.insi = result;
  renderInsi();
  setStatus("insi-status", "");
  $("insi-result").focus();
  // INSi signed with the CPS, so its PIN was verified on the way: show the card's state as it is now.
  if (state.cps && !state.cps.pin.verified) {
    void readCps(state.cps.readerId).catch((error) => showError("cps-status", error));
  }
}

async function searchWithVitale(beneficiary, button) {
  const vitaleReader = state.vitale?.readerId;
  const cpsReader = readerOf("cps")?.id;
  await busy(button, "insi-status", async () => {
    setStatus("insi-status", t("insi.searching"));
    const result = await client.call("insi.searchWithVitale", {
      beneficiaryIndex: beneficiary.index,
      ...(vitaleReader ? { readerId: vitaleReader } : {}),
      ...(cpsReader ? { cpsReaderId: cpsReader } : {}),
    });
    showInsi(result);
  });
}

/** Sex from the NIR's first digit (1/3/7 men, 2/4/8 women), when the card gives a NIR. */
function sexFromNir(nir) {
  const first = String(nir ?? "").charAt(0);
  if ("137".includes(first) && first) return "M";
  if ("248".includes(first) && first) return "F";
  return "";
}

function fillTraits(beneficiary) {
  const form = $("insi-form");
  const set = (name, value) => {
    const input = form.querySelector(`[name="${name}"]:not([type="radio"])`);
    if (input instanceof HTMLInputElement) input.value = value ?? "";
  };
  set("birthName", beneficiary.lastName);
  set("firstNames", beneficiary.firstName);
  set("birthDate", BIRTH_DATE.test(beneficiary.birthDate) ? beneficiary.birthDate : "");
  set("birthPlace", "");
  const sex = sexFromNir(beneficiary.nir);
  for (const radio of form.querySelectorAll('input[name="sex"]')) {
    if (radio instanceof HTMLInputElement) radio.checked = radio.value === sex;
  }
  $("birthName").focus();
}

/** Checks the traits in the page first, so the user gets field names rather than a protocol error. */
function readTraits(form) {
  const data = new FormData(form);
  const text = (name) => String(data.get(name) ?? "").trim();
  const params = {
    birthName: text("birthName"),
    firstNames: text("firstNames").split(/\s+/).filter(Boolean),
    sex: text("sex"),
    birthDate: text("birthDate"),
  };
  const birthPlace = text("birthPlace").toUpperCase();
  if (birthPlace) params.birthPlace = birthPlace;
  const invalid = [];
  if (!params.birthName) invalid.push("birthName");
  if (params.firstNames.length === 0) invalid.push("firstNames");
  if (params.sex !== "M" && params.sex !== "F") invalid.push("sex");
  if (!BIRTH_DATE.test(params.birthDate)) invalid.push("birthDate");
  if (birthPlace && !BIRTH_PLACE.test(birthPlace)) invalid.push("birthPlace");
  for (const input of form.querySelectorAll("input")) {
    input.setAttribute("aria-invalid", invalid.includes(input.getAttribute("name")) ? "true" : "false");
  }
  return { params, invalid };
}

async function searchByTraits(event) {
  event.preventDefault();
  const form = $("insi-form");
  const { params, invalid } = readTraits(form);
  if (invalid.length > 0) {
    const labels = invalid.map((name) => t(`insi.${name}`));
    setStatus("insi-status", t("insi.invalid", { fields: labels.join(", ") }), "error");
    const first = form.querySelector(`[name="${invalid[0]}"]`);
    if (first instanceof HTMLElement) first.focus();
    return;
  }
  const cpsReader = readerOf("cps")?.id;
  const button = event.submitter instanceof HTMLElement ? event.submitter : form;
  await busy(button, "insi-status", async () => {
    setStatus("insi-status", t("insi.searching"));
    showInsi(
      await client.call("insi.searchByTraits", { ...params, ...(cpsReader ? { readerId: cpsReader } : {}) }),
    );
  });
}

// ---------------------------------------------------------------------------------------------
// Connection and events
// ---------------------------------------------------------------------------------------------
function cardEventParams(readerId, card) {
  const reader = state.readers.get(readerId);
  return {
    reader: reader?.name ?? readerId,
    ...(card ? { card: `card.${["cps", "vitale"].includes(card.type) ? card.type : "unknown"}` } : {}),
  };
}

function listenToEvents() {
  client.on("reader.added", ({ reader }) => {
    state.readers.set(reader.id, reader);
    logEvent("event.readerAdded", { reader: reader.name });
    renderReaders();
    if (reader.cardPresent) autoRead(reader.id, reader.card);
  });
  client.on("reader.removed", ({ readerId }) => {
    logEvent("event.readerRemoved", cardEventParams(readerId));
    state.readers.delete(readerId);
    forgetCardsOf(readerId);
    renderReaders();
  });
  client.on("card.inserted", ({ readerId, card }) => {
    const reader = state.readers.get(readerId) ?? { id: readerId, name: readerId, cardPresent: true };
    state.readers.set(readerId, { ...reader, cardPresent: true, card });
    logEvent("event.cardInserted", cardEventParams(readerId, card));
    renderReaders();
    autoRead(readerId, card);
  });
  client.on("card.removed", ({ readerId }) => {
    const reader = state.readers.get(readerId);
    if (reader) state.readers.set(readerId, { id: reader.id, name: reader.name, cardPresent: false });
    logEvent("event.cardRemoved", cardEventParams(readerId));
    forgetCardsOf(readerId);
    renderReaders();
  });
  client.on("pcsc.status", ({ available }) => {
    state.pcscAvailable = available;
    logEvent(available ? "event.pcscUp" : "event.pcscDown");
    renderReaders();
  });
}

/** A card taken out takes its data off the screen: the next patient must not see the previous one. */
function forgetCardsOf(readerId) {
  if (state.cps?.readerId === readerId) {
    state.cps = null;
    renderCps();
    setStatus("cps-status", "");
  }
  if (state.vitale?.readerId === readerId) {
    state.vitale = null;
    renderVitale();
    setStatus("vitale-status", "");
  }
}

/** After every (re)connection: hello, the readers as they are now, the events from now on. */
async function onOpen() {
  $("global-error").hidden = true;
  try {
    state.hello = await client.call("system.hello", { client: PAGE_CLIENT });
    logEvent("event.connected", { version: state.hello.daemon.version });
    applyLanguage();
    await client.call("events.subscribe", { topics: ["readers", "cards"] });
    const { readers } = await client.call("readers.list", {});
    state.readers = new Map(readers.map((reader) => [reader.id, reader]));
    renderReaders();
    for (const reader of readers) if (reader.cardPresent) autoRead(reader.id, reader.card);
    await pinRequests.refresh();
    if (state.hello.simulation) await refreshLab();
    document.body.dataset.ready = "true"; // for the end-to-end tests: connected and up to date
  } catch (error) {
    const box = $("global-error");
    box.textContent = errorMessage(state.language, error);
    box.hidden = false;
  }
}

/** The lab's state (profiles, slots, INSi fault): simulation only. */
async function refreshLab() {
  try {
    state.lab = await client.call("lab.status", {});
    const select = $("insi-fault");
    if (select instanceof HTMLSelectElement) select.value = state.lab.insiFault;
  } catch (error) {
    showError("lab-status", error);
  }
  renderLab();
}

function connect() {
  client.connect().catch(() => {
    const box = $("global-error");
    box.textContent = t("connection.unreachable");
    box.hidden = false;
    setTimeout(connect, RETRY_CONNECT_MS);
  });
}

function start() {
  $("lang-toggle").addEventListener("click", () => {
    state.language = state.language === "fr" ? "en" : "fr";
    try {
      localStorage.setItem(LANGUAGE_KEY, state.language);
    } catch {
      // storage disabled: the choice lasts until the page is reloaded
    }
    applyLanguage();
  });
  $("cps-read").addEventListener("click", (event) => {
    const button = event.currentTarget;
    if (button instanceof HTMLElement) void busy(button, "cps-status", () => readCps(readerOf("cps")?.id));
  });
  $("vitale-read").addEventListener("click", (event) => {
    const button = event.currentTarget;
    if (button instanceof HTMLElement)
      void busy(button, "vitale-status", () => readVitale(readerOf("vitale")?.id));
  });
  $("cps-verify").addEventListener("click", (event) => {
    const button = event.currentTarget;
    if (button instanceof HTMLElement) void verifyPin(button);
  });
  $("insi-form").addEventListener("submit", (event) => void searchByTraits(event));
  $("fault-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const select = $("insi-fault");
    const button = event.submitter instanceof HTMLElement ? event.submitter : select;
    const fault = select instanceof HTMLSelectElement ? select.value : "none";
    void busy(button, "lab-status", async () => {
      state.lab = await client.call("lab.setInsiFault", { fault });
      setStatus("lab-status", t("lab.done"), "ok");
    });
  });
  client.onStateChange((connection) => {
    renderConnection();
    if (connection === "open") void onOpen();
    if (connection === "reconnecting") logEvent("event.disconnected");
  });
  listenToEvents();
  applyLanguage();
  connect();
}

start();
