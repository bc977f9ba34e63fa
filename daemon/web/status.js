/**
 * One status line: a sentence for the person at the desk and, folded under "détails", the technical
 * words (reason, card status word, fault) for whoever they call. Shared by the daemon's page and the
 * PIN entry. Text only: nothing from a card or the daemon is parsed as HTML.
 */

/**
 * @param {HTMLElement} element the status element (a <div class="status">)
 * @param {{kind: string, text: string, details?: string, reason?: string} | null} message
 * @param {string} detailsLabel the word for the folded part ("détails")
 */
export function showStatus(element, message, detailsLabel) {
  element.replaceChildren();
  element.dataset.kind = message?.kind ?? "info";
  if (message?.reason) element.dataset.reason = message.reason;
  else delete element.dataset.reason;
  if (!message?.text) return;
  const sentence = document.createElement("span");
  sentence.className = "status-text";
  sentence.textContent = message.text;
  element.append(sentence);
  if (message.details) {
    const details = document.createElement("details");
    const summary = document.createElement("summary");
    summary.textContent = detailsLabel;
    const code = document.createElement("code");
    code.textContent = message.details;
    details.append(summary, code);
    element.append(details);
  }
}
