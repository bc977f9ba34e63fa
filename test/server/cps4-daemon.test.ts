/**
 * A CPS4 through the whole daemon, as a web app sees it (`--simulate`, the daemon's page inserting
 * the `cps4` lab card): card.inserted and readers.list say `generation: "cps4"`, cps.read reads it,
 * cps.verifyPin unlocks it, and an INSi search in card mode is signed by its signature key (the INSi
 * simulator checks the assertion PS's signature) — exactly the calls a CPS3 answers.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { RpcPeer, openSocket, startDaemon, type DaemonProcess } from "../helpers/daemon.ts";

const ORIGIN = "https://ehr.example.fr";
let daemon: DaemonProcess;

async function connect(origin: string): Promise<RpcPeer> {
  const opened = await openSocket(daemon, { origin });
  assert.ok("socket" in opened, `${origin} must connect`);
  return new RpcPeer(opened.socket);
}

before(async () => {
  daemon = await startDaemon({ plaintext: true, args: ["--simulate", "--allow-origin", ORIGIN] });
});
after(async () => {
  await daemon.stop();
});

test("a CPS4 in the lab: generation in the events and cps.read, PIN, INSi card mode signed by it", async () => {
  const page = await connect(`http://localhost:${daemon.port}`);
  const ehr = await connect(ORIGIN);
  await ehr.call("events.subscribe", { topics: ["cards"] });
  await page.call("lab.removeCard", { slot: 0 });
  await ehr.notification("card.removed");
  await page.call("lab.insertCard", { slot: 0, card: "cps4" });
  const inserted = (await ehr.notification("card.inserted")) as {
    readerId: string;
    card: { type: string; atr: string; generation?: string };
  };
  assert.deepEqual(inserted.card, {
    type: "cps",
    atr: "3B9B188001001225006480040100009044",
    generation: "cps4",
  });
  const { readers } = (await ehr.call("readers.list", {}))["result"] as {
    readers: Array<{ id: string; card?: { generation?: string } }>;
  };
  assert.equal(readers.find((r) => r.id === inserted.readerId)?.card?.generation, "cps4");

  const read = (await ehr.call("cps.read", {}))["result"] as {
    generation: string;
    holder: { idNat: string; profession: string };
  };
  assert.equal(read.generation, "cps4");
  assert.equal(read.holder.idNat, "899700004321");
  assert.deepEqual((await ehr.call("cps.verifyPin", { pin: "1234" }))["result"], {
    verified: true,
    triesRemaining: 3,
  });
  const traits = { birthName: "ADRUN", firstNames: ["ZOE"], sex: "F", birthDate: "1975-12-31" };
  const answer = await ehr.call("insi.searchByTraits", traits);
  assert.equal(
    (answer["result"] as { outcome?: string } | undefined)?.outcome,
    "found",
    JSON.stringify(answer),
  );
  ehr.close();
  page.close();
});
