/**
 * A CPE (an establishment's employee card, whose certificate subject names the structure and a card
 * number, not the person) through the whole daemon, as a web app sees it (`--simulate`, the daemon's
 * page inserting the `cpe` lab card): cps.read returns both certificates and the holder with its
 * name marked unknown (`nameKnown: false`), never a CARD_ERROR, and the result is the protocol's.
 */
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { after, before, test } from "node:test";
import { CpsReadResult } from "@passerelle/protocol";
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

test("a CPE in the lab: cps.read gives its certificates and says the card does not name its holder", async () => {
  const page = await connect(`http://localhost:${daemon.port}`);
  const ehr = await connect(ORIGIN);
  await ehr.call("events.subscribe", { topics: ["cards"] });
  await page.call("lab.removeCard", { slot: 0 });
  await ehr.notification("card.removed");
  await page.call("lab.insertCard", { slot: 0, card: "cpe" });
  const inserted = (await ehr.notification("card.inserted")) as { readerId: string; card: { type: string } };
  assert.equal(inserted.card.type, "cps");

  const answer = await ehr.call("cps.read", { readerId: inserted.readerId });
  const read = CpsReadResult.parse(answer["result"]);
  assert.equal(read.holder.nameKnown, false, JSON.stringify(answer));
  assert.equal(read.holder.lastName, "");
  assert.equal(read.holder.firstName, "");
  assert.equal(read.holder.organization, "CLINIQUE TEST");
  assert.equal(read.holder.idNat, "3750300016/42");
  for (const certificate of [read.certificates.authentication, read.certificates.signature]) {
    const x509 = new X509Certificate(certificate.pem);
    assert.match(x509.subject, /O=CLINIQUE TEST/);
    assert.doesNotMatch(x509.subject, /(^|\n)(SN|GN)=/);
  }
  ehr.close();
  page.close();
});
