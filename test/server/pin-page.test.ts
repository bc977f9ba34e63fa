/**
 * The daemon's own PIN page flow, on the simulated CPS: the web app asks for a PIN verification
 * without sending a PIN; the daemon's page (its own origin) sees the pending request and submits
 * or cancels it; the web app never sees the PIN. One pending request per origin. A connection of the
 * daemon's origin is a PIN page once it asked for the requests (`pin.pending`), as the real pages do
 * on connecting; any other (a lab script) does not make a call wait for a PIN.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { RpcPeer, openSocket, startDaemon, type DaemonProcess } from "../helpers/daemon.ts";

const ORIGIN = "https://ehr.example.fr";
const OTHER = "https://other.example.fr";
let daemon: DaemonProcess;

async function connect(origin: string): Promise<RpcPeer> {
  const opened = await openSocket(daemon, { origin });
  assert.ok("socket" in opened, `${origin} must connect`);
  return new RpcPeer(opened.socket);
}

/** A PIN page: a connection of the daemon's own origin that asked for the requests, as pin.html does. */
async function openPinPage(): Promise<RpcPeer> {
  const page = await connect(`http://localhost:${daemon.port}`);
  assert.ok((await page.call("pin.pending", {}))["result"], "the PIN page lists the requests");
  return page;
}

async function pendingRequests(
  page: RpcPeer,
): Promise<Array<{ requestId: string; origin: string; triesRemaining: number }>> {
  for (let i = 0; i < 100; i++) {
    const { requests } = (await page.call("pin.pending", {}))["result"] as {
      requests: Array<{ requestId: string; origin: string; triesRemaining: number }>;
    };
    if (requests.length > 0) return requests;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return [];
}

before(async () => {
  daemon = await startDaemon({
    plaintext: true,
    args: ["--simulate", "--allow-origin", ORIGIN, "--allow-origin", OTHER],
  });
});
after(async () => {
  await daemon.stop();
});

test("verifyPin without a PIN waits for the daemon's page; a wrong then a right PIN", async () => {
  const ehr = await connect(ORIGIN);
  const page = await openPinPage();

  const wrong = ehr.call("cps.verifyPin", {});
  const [request] = await pendingRequests(page);
  assert.ok(request, "the page sees the pending request");
  assert.equal(request.origin, ORIGIN);
  assert.equal(request.triesRemaining, 3);
  const busy = await ehr.call("cps.verifyPin", {});
  assert.equal(
    (busy["error"] as { data: { reason: string } }).data.reason,
    "BUSY",
    "one pending PIN request per origin",
  );
  // The page hears the card's answer, not just "sent": a wrong PIN is PIN_INCORRECT there too.
  const typed = (await page.call("pin.submit", { requestId: request.requestId, pin: "9999" }))["error"] as {
    data: { reason: string; triesRemaining: number };
  };
  assert.equal(typed.data.reason, "PIN_INCORRECT");
  assert.equal(typed.data.triesRemaining, 2);
  const refused = (await wrong)["error"] as { data: { reason: string; triesRemaining: number } };
  assert.equal(refused.data.reason, "PIN_INCORRECT");
  assert.equal(refused.data.triesRemaining, 2);

  const right = ehr.call("cps.verifyPin", {});
  const [second] = await pendingRequests(page);
  assert.equal(second?.triesRemaining, 2);
  assert.deepEqual((await page.call("pin.submit", { requestId: second?.requestId, pin: "1234" }))["result"], {
    accepted: true,
    verified: true,
    triesRemaining: 3,
  });
  assert.deepEqual((await right)["result"], { verified: true, triesRemaining: 3 });
  ehr.close();
  page.close();
});

test("cancelling on the page gives USER_CANCELLED; the web app cannot reach the pin methods", async () => {
  const ehr = await connect(ORIGIN);
  const page = await openPinPage();
  const call = ehr.call("cps.verifyPin", {});
  const [request] = await pendingRequests(page);
  assert.ok(request);
  const sneaky = await ehr.call("pin.pending", {});
  assert.equal((sneaky["error"] as { code: number }).code, -32601);
  await page.call("pin.cancel", { requestId: request.requestId });
  assert.equal(((await call)["error"] as { data: { reason: string } }).data.reason, "USER_CANCELLED");
  ehr.close();
  page.close();
});

test("the web app going away cancels its pending PIN request", async () => {
  const ehr = await connect(ORIGIN);
  const page = await openPinPage();
  void ehr.call("cps.verifyPin", {}).catch(() => undefined);
  assert.equal((await pendingRequests(page)).length, 1);
  ehr.close();
  for (let i = 0; i < 100; i++) {
    const { requests } = (await page.call("pin.pending", {}))["result"] as { requests: unknown[] };
    if (requests.length === 0) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const { requests } = (await page.call("pin.pending", {}))["result"] as { requests: unknown[] };
  assert.deepEqual(requests, []);
  page.close();
});

test("a PIN entered for one origin does not sign INSi calls for another origin", async () => {
  const ehr = await connect(ORIGIN);
  const other = await connect(OTHER);
  const page = await openPinPage();
  assert.deepEqual((await ehr.call("cps.verifyPin", { pin: "1234" }))["result"], {
    verified: true,
    triesRemaining: 3,
  });
  const traits = { birthName: "ADRUN", firstNames: ["ZOE"], sex: "F", birthDate: "1975-12-31" };
  assert.equal(
    ((await ehr.call("insi.searchByTraits", traits))["result"] as { outcome: string }).outcome,
    "found",
  );

  // The card is unlocked, but not for OTHER: its call waits for its own PIN entry.
  const call = other.call("insi.searchByTraits", traits);
  const [request] = await pendingRequests(page);
  assert.equal(request?.origin, OTHER);
  await page.call("pin.cancel", { requestId: request?.requestId });
  assert.equal(((await call)["error"] as { data: { reason: string } }).data.reason, "USER_CANCELLED");
  ehr.close();
  other.close();
  page.close();
});

test("no PIN page open and no window to open: PIN_REQUIRED at once with the page's address", async () => {
  const ehr = await connect(ORIGIN);
  // A lab script on the daemon's own origin (it never asks for the PIN requests): not a PIN page.
  const script = await connect(`http://localhost:${daemon.port}`);
  assert.ok((await script.call("lab.status", {}))["result"], "the lab script is connected and served");
  const started = Date.now();
  const answer = (await ehr.call("cps.verifyPin", {}))["error"] as {
    data: { reason: string; pinPage?: string };
  };
  assert.equal(answer.data.reason, "PIN_REQUIRED");
  assert.equal(answer.data.pinPage, `http://localhost:${daemon.port}/pin.html`);
  assert.ok(Date.now() - started < 5_000, "told at once, not after the PIN page's 60 s");
  script.close();
  // Once the page is open, the same call waits there for the user.
  const page = await openPinPage();
  const waiting = ehr.call("cps.verifyPin", {});
  const [request] = await pendingRequests(page);
  assert.equal(request?.origin, ORIGIN);
  await page.call("pin.cancel", { requestId: request?.requestId });
  assert.equal(((await waiting)["error"] as { data: { reason: string } }).data.reason, "USER_CANCELLED");
  ehr.close();
  page.close();
});

test("a CPS4 too: the PIN page hears the card's answer to the PIN typed there", async () => {
  const ehr = await connect(ORIGIN);
  const page = await openPinPage();
  try {
    await page.call("lab.insertCard", { slot: 0, card: "cps4" });
    const wrong = ehr.call("cps.verifyPin", {});
    const [request] = await pendingRequests(page);
    assert.ok(request);
    const typed = (await page.call("pin.submit", { requestId: request.requestId, pin: "9999" }))["error"] as {
      data: { reason: string };
    };
    assert.equal(typed.data.reason, "PIN_INCORRECT");
    assert.equal(((await wrong)["error"] as { data: { reason: string } }).data.reason, "PIN_INCORRECT");
  } finally {
    await page.call("lab.insertCard", { slot: 0, card: "cps" });
    ehr.close();
    page.close();
  }
});
