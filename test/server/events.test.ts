/**
 * Reader and card events end to end, on the simulated readers: only subscribed, granted
 * connections get them; the lab methods exist only for the daemon's own page.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { RpcPeer, openSocket, startDaemon, type DaemonProcess } from "../helpers/daemon.ts";

const ORIGIN = "https://ehr.example.fr";
let daemon: DaemonProcess;
let page: RpcPeer; // the daemon's own page (its lab panel)

async function connect(origin: string): Promise<RpcPeer> {
  const opened = await openSocket(daemon, { origin });
  assert.ok("socket" in opened, `${origin} must connect`);
  return new RpcPeer(opened.socket);
}

before(async () => {
  daemon = await startDaemon({ plaintext: true, args: ["--simulate", "--allow-origin", ORIGIN] });
  page = await connect(`http://localhost:${daemon.port}`);
});
after(async () => {
  page.close();
  await daemon.stop();
});

test("hello says simulation; the simulated readers hold the default cards", async () => {
  const ehr = await connect(ORIGIN);
  const hello = (await ehr.call("system.hello", { client: { name: "t", version: "1" } }))["result"] as {
    simulation?: boolean;
  };
  assert.equal(hello.simulation, true);
  const { readers } = (await ehr.call("readers.list", {}))["result"] as {
    readers: Array<{ cardPresent: boolean; card?: { type: string } }>;
  };
  assert.equal(readers.length, 2);
  assert.equal(readers[1]?.card?.type, "vitale");
  ehr.close();
});

test("card.removed and card.inserted reach subscribed connections only", async () => {
  const subscribed = await connect(ORIGIN);
  const silent = await connect(ORIGIN);
  const subscription = await subscribed.call("events.subscribe", { topics: ["cards"] });
  assert.deepEqual((subscription["result"] as { topics: string[] }).topics, ["cards"]);

  await page.call("lab.removeCard", { slot: 1 });
  const removed = (await subscribed.notification("card.removed")) as { readerId: string };
  assert.match(removed.readerId, /01$/);

  await page.call("lab.insertCard", { slot: 1, card: "vitale" });
  const inserted = (await subscribed.notification("card.inserted")) as {
    readerId: string;
    card: { type: string; atr: string };
  };
  assert.equal(inserted.card.type, "vitale");
  assert.match(inserted.card.atr, /^3B7513/);

  await silent.call("system.ping", {});
  assert.deepEqual(silent.notifications, [], "an unsubscribed connection gets no events");
  subscribed.close();
  silent.close();
});

test("the lab methods do not exist for other origins", async () => {
  const ehr = await connect(ORIGIN);
  const response = await ehr.call("lab.insertCard", { slot: 0, card: "echo" });
  assert.equal((response["error"] as { code: number }).code, -32601);
  ehr.close();
});

test("lab.insertCard refuses an unknown profile and slot with typed errors", async () => {
  const unknown = await page.call("lab.insertCard", { slot: 0, card: "no-such-card" });
  assert.equal((unknown["error"] as { data: { reason: string } }).data.reason, "WRONG_CARD");
  const slot = await page.call("lab.removeCard", { slot: 9 });
  assert.equal((slot["error"] as { data: { reason: string } }).data.reason, "NO_READER");
});
