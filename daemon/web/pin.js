// The daemon's own PIN page: served by the daemon on its own origin, it lists the pending PIN
// request and sends the PIN to the daemon over the daemon's WebSocket (pin.* methods exist only
// for this origin). The PIN is never logged, never stored, and the field is cleared at once.
import { PasserelleClient } from "/sdk/passerelle-client.js";

const $ = (id) => document.getElementById(id);
const wsUrl = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/v1`;
const client = new PasserelleClient({ url: wsUrl });
let current = null;

function say(text) {
  $("status").textContent = text;
}

async function refresh() {
  const { requests } = await client.call("pin.pending", {});
  current = requests[0] ?? null;
  if (!current) {
    $("pin-form").hidden = true;
    say("Aucune demande de code PIN en attente. Vous pouvez fermer cette fenêtre.");
    return;
  }
  $("origin").textContent = current.origin;
  const tries = $("tries");
  tries.textContent =
    current.triesRemaining === 1
      ? "Attention : dernier essai. Un code faux bloquera la carte."
      : `Essais restants : ${current.triesRemaining}`;
  tries.className = current.triesRemaining === 1 ? "warning" : "";
  $("pin-form").hidden = false;
  say("Saisissez le code PIN de votre carte CPS.");
  $("pin").focus();
}

$("pin-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const field = $("pin");
  const pin = field.value;
  field.value = "";
  if (!current || !/^[0-9]{4,8}$/.test(pin)) {
    say("Le code PIN compte 4 à 8 chiffres.");
    return;
  }
  try {
    await client.call("pin.submit", { requestId: current.requestId, pin });
    say("Code transmis à la carte.");
  } catch {
    say("Cette demande n'est plus en attente.");
  }
  await refresh();
});

$("cancel").addEventListener("click", async () => {
  if (current) await client.call("pin.cancel", { requestId: current.requestId }).catch(() => undefined);
  await refresh();
});

client.on("pin.requested", () => void refresh());
client
  .connect()
  .then(refresh)
  .catch(() => say("Passerelle ne répond pas."));
