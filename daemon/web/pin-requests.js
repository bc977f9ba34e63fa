/**
 * The daemon's own PIN entry, shared by the status page (index.html) and the page the daemon opens
 * when a web app asks for the CPS PIN (pin.html). A web app calls `cps.verifyPin` without a PIN;
 * the daemon lists the request (`pin.pending`, announced by `pin.requested`), this page shows which
 * origin asks, and the PIN typed here goes to the daemon with `pin.submit` — those methods exist only
 * for the daemon's own origin, so the web app never sees the PIN (docs/security.md).
 *
 * The PIN input is emptied as soon as it is read; nothing is written to the console.
 */

import { showStatus } from "/status.js";

const PIN = /^[0-9]{4,8}$/;

/**
 * @param {object} options
 * @param {import("/sdk/passerelle-client.js").PasserelleClient} options.client
 * @param {HTMLElement} options.container where the requests are shown
 * @param {(key: string, params?: object) => string} options.t translation
 * @param {(error: unknown) => string} options.describe error → sentence
 * @param {(error: unknown) => string} [options.details] error → technical words, folded
 * @param {(count: number) => void} [options.onCount] told how many requests wait
 * @param {() => void} [options.onAnswered] told when the card has answered a PIN typed here
 */
export function createPinRequests({ client, container, t, describe, details, onCount, onAnswered }) {
  let requests = [];
  /**
   * The last outcome, kept as words to translate ({kind, key, params} or {kind, error}) so a language
   * switch re-renders it; cleared when a new request comes (a new situation).
   */
  let note = null;
  let available = true;
  const seen = new Set();

  async function refresh() {
    try {
      const answer = await client.call("pin.pending", {});
      requests = answer.requests;
      available = true;
      if (requests.some((request) => !seen.has(request.requestId))) note = null;
      for (const request of requests) seen.add(request.requestId);
    } catch (error) {
      requests = [];
      available = !(typeof error === "object" && error !== null && error.code === -32601);
      if (available) note = { kind: "error", error };
    }
    render();
  }

  function field(list, label, value, className) {
    const dt = document.createElement("dt");
    dt.textContent = label;
    const dd = document.createElement("dd");
    dd.textContent = value;
    if (className) dd.className = className;
    list.append(dt, dd);
  }

  function renderRequest(request) {
    const box = document.createElement("form");
    box.className = "pin-request";
    box.dataset.requestId = request.requestId;
    box.noValidate = true;
    const heading = document.createElement("h3");
    heading.textContent = t("pin.request");
    const facts = document.createElement("dl");
    facts.className = "facts";
    // Who asks is what the user must check before typing: shown first, and plainly.
    field(facts, t("pin.origin"), request.origin, "origin");
    field(facts, t("pin.reader"), request.readerId);
    field(facts, t("pin.tries"), String(request.triesRemaining), "tries");
    box.append(heading, facts);
    if (request.triesRemaining === 1) {
      const warning = document.createElement("p");
      warning.className = "error";
      warning.textContent = t("pin.lastTry");
      box.append(warning);
    }
    const id = `pin-${request.requestId}`;
    const label = document.createElement("label");
    label.htmlFor = id;
    label.textContent = t("pin.field");
    const input = document.createElement("input");
    Object.assign(input, { id, type: "password", inputMode: "numeric", autocomplete: "off", maxLength: 8 });
    input.required = true;
    input.setAttribute("pattern", "[0-9]{4,8}");
    const submit = document.createElement("button");
    submit.type = "submit";
    submit.textContent = t("pin.submit");
    const cancel = document.createElement("button");
    cancel.type = "button";
    cancel.className = "secondary";
    cancel.textContent = t("pin.cancel");
    const row = document.createElement("div");
    row.className = "inline-form";
    row.append(label, input, submit, cancel);
    box.append(row);

    box.addEventListener("submit", (event) => {
      event.preventDefault();
      const pin = input instanceof HTMLInputElement ? input.value : "";
      input.value = ""; // the PIN does not stay in the page
      if (!PIN.test(pin)) {
        input.setAttribute("aria-invalid", "true");
        note = { kind: "error", key: "pin.invalid" };
        renderNote();
        input.focus();
        return;
      }
      submit.disabled = true;
      // The daemon answers once the card has: verified, or the card's error (wrong PIN, blocked…).
      note = { kind: "info", key: "working" };
      renderNote();
      client
        .call("pin.submit", { requestId: request.requestId, pin })
        .then((answer) => {
          note =
            answer?.verified === true
              ? { kind: "ok", key: "pin.verified", params: { n: answer.triesRemaining } }
              : { kind: "info", key: "pin.sent" };
        })
        .catch((error) => (note = { kind: "error", error }))
        .finally(() => {
          onAnswered?.();
          void refresh();
        });
    });
    cancel.addEventListener("click", () => {
      cancel.disabled = true;
      client
        .call("pin.cancel", { requestId: request.requestId })
        .then(() => (note = { kind: "info", key: "pin.cancelled" }))
        .catch((error) => (note = { kind: "error", error }))
        .finally(() => void refresh());
    });
    return { box, input };
  }

  function renderNote() {
    let element = container.querySelector(".pin-note");
    if (!element) {
      element = document.createElement("div");
      element.className = "status pin-note";
      element.setAttribute("role", "status");
      container.prepend(element);
    }
    const message = !note
      ? null
      : note.error
        ? {
            kind: note.kind,
            text: describe(note.error),
            ...(details ? { details: details(note.error) } : {}),
            reason: String(note.error?.reason ?? ""),
          }
        : { kind: note.kind, text: t(note.key, note.params) };
    showStatus(element, message, t("details"));
  }

  function render() {
    const focused = container.contains(document.activeElement);
    container.replaceChildren();
    renderNote();
    onCount?.(requests.length);
    if (!available) {
      const p = document.createElement("p");
      p.className = "muted";
      p.textContent = t("notAvailable");
      container.append(p);
      return;
    }
    if (requests.length === 0) {
      const p = document.createElement("p");
      p.className = "muted";
      p.textContent = t("pin.none");
      container.append(p);
      return;
    }
    let first = null;
    for (const request of requests) {
      const { box, input } = renderRequest(request);
      container.append(box);
      first ??= input;
    }
    // A new request takes the focus: the user came here to type the PIN.
    if (first && (focused || document.activeElement === document.body)) first.focus();
  }

  client.on("pin.requested", () => void refresh());
  return { refresh, render };
}
