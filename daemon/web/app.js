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
import {
  DEFAULT_LANGUAGE,
  LANGUAGES,
  STRINGS,
  errorDetails,
  errorMessage,
  format,
  formatDate,
  parseDate,
  reasonOf,
} from "/i18n.js";
import { createGrants } from "/grants.js";
import { createPinRequests } from "/pin-requests.js";
import { showStatus } from "/status.js";

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
/** A CPS whose certificate ends within this many days is shown as soon to expire. */
const EXPIRY_WARNING_DAYS = 30;
const DAY_MS = 24 * 60 * 60 * 1000;
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
  /**
   * What each status line says, kept as words to translate (a key, or an error), never as text: a
   * language switch re-renders them. id → {kind, key?, params?, error?}.
   */
  statuses: {},
  /** Readers whose card the daemon refused as a Vitale 1: their badge says so. */
  vitale1Readers: new Set(),
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

/** Sets a status line from a translation key ("" or null clears it). */
function setStatus(id, key, kind = "info", params = undefined) {
  state.statuses[id] = key ? { kind, key, params } : null;
  renderStatus(id);
}

function showError(id, error) {
  const reason = reasonOf(error);
  state.statuses[id] = { kind: reason === "NOT_AVAILABLE" ? "unavailable" : "error", error };
  renderStatus(id);
}

function renderStatus(id) {
  const status = state.statuses[id];
  if (!status) return showStatus($(id), null, t("details"));
  if (status.error) {
    showStatus(
      $(id),
      {
        kind: status.kind,
        text: errorMessage(state.language, status.error),
        details: errorDetails(status.error),
        reason: reasonOf(status.error),
      },
      t("details"),
    );
    return;
  }
  const params = status.fields
    ? { fields: status.fields.map((name) => t(`insi.${name}`)).join(", ") }
    : status.params;
  showStatus($(id), { kind: status.kind, text: t(status.key, params) }, t("details"));
}

function renderStatuses() {
  for (const id of Object.keys(state.statuses)) renderStatus(id);
}

/** Runs an action with its button disabled and the status line saying "working". */
async function busy(button, statusId, action) {
  button.disabled = true;
  setStatus(statusId, "working", "info");
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
    const label = state.vitale1Readers.has(reader.id) ? t("card.vitale1") : cardLabel(reader.card);
    const card = el("span", reader.cardPresent ? label : t("readers.empty"), {
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
  const { holder: person, pin } = state.cps;
  // A CPE (employee card) names its structure, not the person: say so rather than show blanks.
  const name = person.nameKnown === false ? t("cps.nameUnknown") : `${person.firstName} ${person.lastName}`;
  fact(holder, "cps.name", name, "cps-name");
  if (person.organization) fact(holder, "cps.organization", person.organization, "cps-organization");
  fact(holder, "cps.profession", person.profession);
  fact(holder, "cps.idNat", person.idNat, "cps-idnat");
  fact(holder, "cps.idType", person.idType);
  const tries =
    typeof pin.triesRemaining === "number" ? ` — ${t("cps.tries", { n: pin.triesRemaining })}` : "";
  const pinState =
    pin.triesRemaining === 0 ? "cps.pinBlocked" : pin.verified ? "cps.pinVerified" : "cps.pinNotVerified";
  const lastTry = pin.triesRemaining === 1 && !pin.verified ? ` (${t("cps.lastTry")})` : "";
  fact(holder, "cps.pinState", `${t(pinState)}${tries}${lastTry}`, "cps-pin");
  const expiry = cpsExpiry(state.cps);
  const until = formatDate(expiry?.notAfter);
  fact(
    holder,
    "cps.certificate",
    expiry?.expired ? `${until} (${t("cps.expiredShort")})` : until,
    "cps-until",
  );
  renderCpsExpiry();
}

/** The earliest end of the CPS's certificates, and whether it is past or near. */
function cpsExpiry(cps) {
  const ends = [cps?.certificates?.authentication?.notAfter, cps?.certificates?.signature?.notAfter]
    .filter((value) => typeof value === "string" && !Number.isNaN(Date.parse(value)))
    .sort((a, b) => Date.parse(a) - Date.parse(b));
  const notAfter = ends[0];
  if (!notAfter) return null;
  const left = Date.parse(notAfter) - Date.now();
  return { notAfter, expired: left <= 0, days: Math.ceil(left / DAY_MS) };
}

/** Said at insertion, not when INSi refuses: an expired or soon-expired CPS. */
function renderCpsExpiry() {
  const expiry = state.cps ? cpsExpiry(state.cps) : null;
  const element = $("cps-expiry");
  if (!expiry || (!expiry.expired && expiry.days > EXPIRY_WARNING_DAYS)) {
    showStatus(element, null, t("details"));
    return;
  }
  const date = formatDate(expiry.notAfter);
  showStatus(
    element,
    expiry.expired
      ? { kind: "error", text: t("cps.expired", { date }), reason: "expired" }
      : { kind: "warning", text: t("cps.expiresSoon", { date, days: expiry.days }), reason: "expiresSoon" },
    t("details"),
  );
}

function renderVitale() {
  const container = $("vitale-card");
  container.hidden = state.vitale === null;
  const body = $("beneficiaries");
  body.replaceChildren();
  if (!state.vitale) return;
  const generation = state.vitale.card?.generation;
  $("vitale-generation").textContent = generation ? t(`vitale.generation.${generation}`) : "—";
  for (const beneficiary of state.vitale.beneficiaries) {
    const row = el("tr", null, { "data-beneficiary": String(beneficiary.index) });
    const name = `${beneficiary.lastName} ${beneficiary.firstName}`;
    row.append(el("th", name, { scope: "row" }));
    row.append(el("td", formatDate(beneficiary.birthDate), { class: "date" }));
    row.append(el("td", [beneficiary.nir, beneficiary.nirKey].filter(Boolean).join(" "), { class: "nir" }));
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
  // The card's own words (file numbers, status words) are for a technician: a sentence first.
  const warnings = state.vitale.warnings ?? [];
  $("vitale-warnings").hidden = warnings.length === 0;
  $("vitale-partial").textContent = t("vitale.partial");
  $("vitale-warnings-summary").textContent = t("details");
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
      formatDate(identity.birthDate),
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
  updateBannerHeight();
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
          setStatus("lab-status", "lab.done", "ok");
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
          setStatus("lab-status", "lab.done", "ok");
        }),
    );
    group.append(select, insert, remove);
    slots.append(group);
  }
}

/** The sticky banner's height, for scroll-padding-top: a focused field never hides under it. */
function updateBannerHeight() {
  const banner = $("simulation-banner");
  document.documentElement.style.setProperty(
    "--banner-height",
    `${banner.hidden ? 0 : banner.offsetHeight}px`,
  );
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
  details: errorDetails,
  // Whatever the card said to a PIN typed here, the CPS panel shows the card as it is now.
  onAnswered: () => void refreshCps(),
});
const grants = createGrants({
  client,
  list: $("grants"),
  status: $("grants-status"),
  t,
  describe: (error) => errorMessage(state.language, error),
  formatDate,
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
  renderStatuses();
  pinRequests.render();
  grants.render();
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

/** Re-reads the CPS's holder and PIN state (after every PIN answer): the panel never shows a stale state. */
async function refreshCps() {
  const readerId = state.cps?.readerId ?? readerOf("cps")?.id;
  if (!readerId) return;
  try {
    state.cps = await client.call("cps.read", { readerId });
    renderCps();
  } catch (error) {
    if (reasonOf(error) === "NO_CARD" || reasonOf(error) === "CARD_REMOVED") {
      state.cps = null;
      renderCps();
    }
  }
}

async function readVitale(readerId) {
  try {
    const result = await client.call("vitale.read", readerId ? { readerId } : {});
    state.vitale1Readers.delete(result.readerId);
    state.vitale = result;
    renderVitale();
    setStatus("vitale-status", "");
  } catch (error) {
    // A Vitale 1 has a Vitale ATR: its badge must not promise a card that can be read.
    if (readerId && error?.data?.generation === "vitale1") {
      state.vitale1Readers.add(readerId);
      renderReaders();
    }
    throw error;
  } finally {
    renderReaders();
  }
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
    setStatus("cps-status", "cps.pinOk", "ok", { n: result.triesRemaining });
  });
  // Right, wrong, blocked or cancelled: the card's state as it is now, not as it was.
  await refreshCps();
}

// ---------------------------------------------------------------------------------------------
// INSi
// ---------------------------------------------------------------------------------------------
function showInsi(result) {
  state.insi = result;
  renderInsi();
  setStatus("insi-status", "");
  $("insi-result").focus();
}

async function searchWithVitale(beneficiary, button) {
  const vitaleReader = state.vitale?.readerId;
  const cpsReader = readerOf("cps")?.id;
  state.insi = null;
  renderInsi();
  await busy(button, "insi-status", async () => {
    setStatus("insi-status", "insi.searching");
    const result = await client.call("insi.searchWithVitale", {
      beneficiaryIndex: beneficiary.index,
      ...(vitaleReader ? { readerId: vitaleReader } : {}),
      ...(cpsReader ? { cpsReaderId: cpsReader } : {}),
    });
    showInsi(result);
  });
  // INSi signs with the CPS: its PIN may have been asked on the way.
  await refreshCps();
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
  set("birthDate", BIRTH_DATE.test(beneficiary.birthDate) ? formatDate(beneficiary.birthDate) : "");
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
    birthDate: parseDate(text("birthDate")) ?? "",
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
    state.statuses["insi-status"] = { kind: "error", key: "insi.invalid", fields: invalid };
    renderStatus("insi-status");
    const first = form.querySelector(`[name="${invalid[0]}"]`);
    if (first instanceof HTMLElement) {
      // The whole field, its label included, below the sticky simulation banner (scroll-padding-top).
      first.closest(".field")?.scrollIntoView({ block: "start" });
      first.focus({ preventScroll: true });
    }
    return;
  }
  const cpsReader = readerOf("cps")?.id;
  const button = event.submitter instanceof HTMLElement ? event.submitter : form;
  state.insi = null;
  renderInsi();
  await busy(button, "insi-status", async () => {
    setStatus("insi-status", "insi.searching");
    showInsi(
      await client.call("insi.searchByTraits", { ...params, ...(cpsReader ? { readerId: cpsReader } : {}) }),
    );
  });
  await refreshCps();
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
    const type = state.readers.get(readerId)?.card?.type;
    state.readers.delete(readerId);
    forgetCardsOf(readerId, type);
    renderReaders();
  });
  client.on("card.inserted", ({ readerId, card }) => {
    const reader = state.readers.get(readerId) ?? { id: readerId, name: readerId, cardPresent: true };
    state.readers.set(readerId, { ...reader, cardPresent: true, card });
    state.vitale1Readers.delete(readerId);
    // A new card, a new situation: what was said about the previous one goes.
    if (card?.type === "cps") setStatus("cps-status", "");
    if (card?.type === "vitale") setStatus("vitale-status", "");
    logEvent("event.cardInserted", cardEventParams(readerId, card));
    renderReaders();
    autoRead(readerId, card);
  });
  client.on("card.removed", ({ readerId }) => {
    const reader = state.readers.get(readerId);
    if (reader) state.readers.set(readerId, { id: reader.id, name: reader.name, cardPresent: false });
    logEvent("event.cardRemoved", cardEventParams(readerId));
    forgetCardsOf(readerId, reader?.card?.type);
    renderReaders();
  });
  client.on("pcsc.status", ({ available }) => {
    state.pcscAvailable = available;
    logEvent(available ? "event.pcscUp" : "event.pcscDown");
    renderReaders();
  });
}

/**
 * A card taken out takes its data and what was said about it off the screen: the next patient must
 * not see the previous one (nor the previous patient's INSi answer).
 */
function forgetCardsOf(readerId, type) {
  state.vitale1Readers.delete(readerId);
  if (state.cps?.readerId === readerId || type === "cps") {
    if (state.cps?.readerId === readerId) state.cps = null;
    renderCps();
    setStatus("cps-status", "");
  }
  if (state.vitale?.readerId === readerId || type === "vitale") {
    if (state.vitale?.readerId === readerId) state.vitale = null;
    renderVitale();
    setStatus("vitale-status", "");
    state.insi = null;
    renderInsi();
    setStatus("insi-status", "");
  }
}

/** After every (re)connection: hello, the readers as they are now, the events from now on. */
async function onOpen() {
  setStatus("global-error", "");
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
    await grants.refresh();
    if (state.hello.simulation) await refreshLab();
    document.body.dataset.ready = "true"; // for the end-to-end tests: connected and up to date
  } catch (error) {
    showError("global-error", error);
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
    setStatus("global-error", "connection.unreachable", "error");
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
      setStatus("lab-status", "lab.done", "ok");
    });
  });
  client.onStateChange((connection) => {
    renderConnection();
    if (connection === "open") void onOpen();
    if (connection === "reconnecting") logEvent("event.disconnected");
  });
  window.addEventListener("resize", updateBannerHeight);
  listenToEvents();
  applyLanguage();
  connect();
}

start();
