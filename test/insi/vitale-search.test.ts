/**
 * insi.searchWithVitale sends INSi the NIR of the beneficiary the web app picked, read from the card
 * in the reader, not any other: the real daemon under --simulate, its INSi simulator recording every
 * request it receives (--insi-record).
 */
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, test } from "node:test";
import { RpcPeer, openSocket, startDaemon } from "../helpers/daemon.ts";

const ORIGIN = "https://ehr.example.fr";
const recordDir = mkdtempSync(path.join(tmpdir(), "passerelle-insi-record-"));
after(() => rmSync(recordDir, { recursive: true, force: true }));

test("each beneficiary's own NIR goes to INSi, not another's", async () => {
  const daemon = await startDaemon({
    plaintext: true,
    args: ["--simulate", "--allow-origin", ORIGIN, "--insi-record", recordDir],
  });
  try {
    const opened = await openSocket(daemon, { origin: ORIGIN });
    assert.ok("socket" in opened);
    const rpc = new RpcPeer(opened.socket);
    assert.ok((await rpc.call("cps.verifyPin", { pin: "1234" }))["result"]);
    const card = (await rpc.call("vitale.read", {}))["result"] as {
      beneficiaries: Array<{ index: number; nir: string; lastName: string }>;
    };
    const distinct = card.beneficiaries.filter(
      (b, i, all) => all.findIndex((other) => other.nir === b.nir) === i,
    );
    assert.ok(distinct.length >= 2, "the lab card has beneficiaries with different NIRs");
    for (const beneficiary of distinct) {
      const before = readdirSync(recordDir).length;
      const answer = await rpc.call("insi.searchWithVitale", { beneficiaryIndex: beneficiary.index });
      assert.ok(answer["result"] ?? (answer["error"] as { data?: unknown })?.data, JSON.stringify(answer));
      const sent = readdirSync(recordDir)
        .sort()
        .slice(before)
        .map((file) => readFileSync(path.join(recordDir, file), "utf8"));
      assert.equal(sent.length, 1, "one INSi request per call");
      const [request] = sent as [string];
      assert.ok(request.includes(beneficiary.nir), `beneficiary ${beneficiary.index}: its NIR is sent`);
      for (const other of distinct.filter((b) => b.nir !== beneficiary.nir))
        assert.ok(!request.includes(other.nir), `beneficiary ${beneficiary.index}: no other NIR is sent`);
    }
    rpc.close();
  } finally {
    await daemon.stop();
  }
});
