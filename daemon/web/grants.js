/**
 * The daemon's page: the origins the user allowed on the consent page (`access.list`), each with a
 * button that takes the grant back (`access.revoke`; the same as `passerelle access revoke`). Those
 * methods exist only for the daemon's own origin. The list is read again when the daemon says it
 * changed (`access.grantsChanged`). Text only: an app's name is never inserted as HTML.
 */
import { showStatus } from "/status.js";

/**
 * @param {object} options
 * @param {import("/sdk/passerelle-client.js").PasserelleClient} options.client
 * @param {HTMLElement} options.list the <ul> of grants
 * @param {HTMLElement} options.status the status line
 * @param {(key: string, params?: object) => string} options.t translation
 * @param {(error: unknown) => string} options.describe error → sentence
 * @param {(value: string) => string} options.formatDate an ISO time → the page's date
 */
export function createGrants({ client, list, status, t, describe, formatDate }) {
  let grants = [];
  let problem = null;

  async function refresh() {
    try {
      grants = (await client.call("access.list", {})).grants;
      problem = null;
    } catch (error) {
      grants = [];
      problem = error;
    }
    render();
  }

  async function revoke(origin, button) {
    button.disabled = true;
    try {
      await client.call("access.revoke", { origin });
      problem = null;
    } catch (error) {
      problem = error;
    }
    await refresh();
  }

  function render() {
    list.replaceChildren();
    for (const grant of grants) {
      const item = document.createElement("li");
      item.className = "grant";
      item.dataset.origin = grant.origin;
      const origin = document.createElement("strong");
      origin.className = "origin";
      origin.textContent = grant.origin;
      const facts = document.createElement("span");
      facts.className = "muted";
      facts.textContent = ` ${grant.appName ? `« ${grant.appName} » ` : ""}${t("grants.since", { date: formatDate(grant.grantedAt) })} `;
      const button = document.createElement("button");
      button.type = "button";
      button.className = "secondary";
      button.textContent = t("grants.revoke");
      button.setAttribute("aria-label", `${t("grants.revoke")} ${grant.origin}`);
      button.addEventListener("click", () => void revoke(grant.origin, button));
      item.append(origin, facts, button);
      list.append(item);
    }
    if (problem) showStatus(status, { kind: "error", text: describe(problem) }, t("details"));
    else
      showStatus(status, grants.length === 0 ? { kind: "info", text: t("grants.none") } : null, t("details"));
  }

  client.on("access.grantsChanged", () => void refresh());
  return { refresh, render };
}
