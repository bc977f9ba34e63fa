import assert from "node:assert/strict";
import { test } from "node:test";
import { PasserelleError, isPasserelleError } from "../../src/errors.ts";
import { PinPage } from "../../src/server/pin-prompt.ts";

const request = { origin: "https://ehr.example.fr", readerId: "Reader 0", triesRemaining: 3 };

test("a web app already gone gets no pending request (nothing would ever answer it)", async () => {
  const page = new PinPage({ url: () => null });
  const gone = new AbortController();
  gone.abort();
  await assert.rejects(page.ask(request, gone.signal), (e) => isPasserelleError(e, "USER_CANCELLED"));
  assert.deepEqual(page.list(), []);
  assert.equal(page.hasPending(request.origin), false);
});

test("the web app leaving cancels its request; a settled request stops listening to it", async () => {
  const page = new PinPage({ url: () => null });
  const connection = new AbortController();
  const asked = page.ask(request, connection.signal);
  const [pending] = page.list();
  assert.ok(pending);
  page.submit(pending.requestId, "1234");
  assert.equal(await asked, "1234");
  connection.abort(); // after settling: no effect, no error
  const again = page.ask(request, connection.signal);
  await assert.rejects(again, (e) => isPasserelleError(e, "USER_CANCELLED"));
});

test("one pending request per origin; timeout; unknown request ids", async () => {
  const page = new PinPage({ url: () => null, timeoutMs: 50 });
  const first = page.ask(request);
  await assert.rejects(page.ask(request), (e) => isPasserelleError(e, "BUSY"));
  await assert.rejects(first, (e) => isPasserelleError(e, "TIMEOUT"));
  assert.throws(
    () => page.submit("00000000-0000-4000-8000-000000000000", "1234"),
    (e) => isPasserelleError(e, "TIMEOUT"),
  );
});

test("submit answers with what the card said to the PIN: verified, or the card's error", async () => {
  const page = new PinPage({ url: () => null });
  const prompt = page.promptFor(request.origin);
  const asked = prompt.ask(request);
  const [first] = page.list();
  assert.ok(first);
  const wrong = page.submit(first.requestId, "9999");
  assert.equal(await asked, "9999");
  const error = new PasserelleError("PIN_INCORRECT", undefined, {
    triesRemaining: 2,
  });
  prompt.answered?.({ error });
  await assert.rejects(wrong, (e) => isPasserelleError(e, "PIN_INCORRECT"));

  const again = prompt.ask(request);
  const [second] = page.list();
  assert.ok(second);
  const right = page.submit(second.requestId, "1234");
  await again;
  prompt.answered?.({ verified: true, triesRemaining: 3 });
  assert.deepEqual(await right, { accepted: true, verified: true, triesRemaining: 3 });
});

test("a request from the daemon's own page opens nothing; a web app's opens the PIN page", () => {
  const opened: string[] = [];
  const self = "http://localhost:9712";
  const page = new PinPage({
    url: () => `${self}/pin.html`,
    open: (url) => opened.push(url) > 0,
    isSelfOrigin: (origin) => origin === self,
  });
  void page.ask({ ...request, origin: self }).catch(() => undefined);
  assert.deepEqual(opened, []);
  void page.ask(request).catch(() => undefined);
  assert.deepEqual(opened, [`${self}/pin.html`]);
  for (const pending of page.list()) page.cancel(pending.requestId);
});

test("a PIN entry shown nowhere (no window opened, no daemon page connected) is PIN_REQUIRED at once", async () => {
  const url = "http://localhost:9712/pin.html";
  const nowhere = new PinPage({ url: () => url, open: () => false, onChange: () => 0 });
  await assert.rejects(
    nowhere.ask(request),
    (e) => isPasserelleError(e, "PIN_REQUIRED") && e.details["pinPage"] === url,
  );
  assert.deepEqual(nowhere.list(), [], "nothing left pending");
  // A daemon page connected to show it: the request waits there.
  const onPage = new PinPage({ url: () => url, open: () => false, onChange: () => 1 });
  const asked = onPage.ask(request);
  assert.equal(onPage.list().length, 1);
  for (const pending of onPage.list()) onPage.cancel(pending.requestId);
  await assert.rejects(asked, (e) => isPasserelleError(e, "USER_CANCELLED"));
});
