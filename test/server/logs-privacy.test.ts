/**
 * The whole daemon, at debug level, after real work on cards and INSi (and some failures): none of
 * the personal data it handled may be found in its log files, its console output or its audit
 * trail. The data comes from the lab's fictional cards and the simulator's test identities.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { test } from "node:test";
import { RpcPeer, openSocket, startDaemon } from "../helpers/daemon.ts";

const ORIGIN = "https://ehr.example.fr";

/** What the calls below put through the daemon: names, NIRs, idNat, birth dates. */
const PERSONAL = [
  "ADRUN",
  "ZOE",
  "2751263220749",
  "1975-12-31",
  "LE GOFF",
  "JEAN-BAPTISTE",
  "180012A004123",
  "1980-01-15",
  "19800115",
  "N'DIAYE",
  "MEDECIN-TEST",
  "CLAIRE",
  "899700001234",
  "99700001234",
];
const PINS = ["1234", "9999"];

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile())
    .map((entry) => path.join(entry.parentPath, entry.name));
}

test("no personal data or PIN in the logs, the console or the audit trail", async () => {
  const daemon = await startDaemon({
    plaintext: true,
    args: ["--simulate", "--allow-origin", ORIGIN, "--log-level", "debug"],
    dataDir: mkdtempSync(path.join(tmpdir(), "passerelle-privacy-")),
  });
  const opened = await openSocket(daemon, { origin: ORIGIN });
  assert.ok("socket" in opened);
  const rpc = new RpcPeer(opened.socket);
  const results = [
    await rpc.call("cps.read", {}),
    await rpc.call("cps.verifyPin", { pin: "9999" }),
    await rpc.call("cps.verifyPin", { pin: "1234" }),
    await rpc.call("vitale.read", {}),
    await rpc.call("insi.searchByTraits", {
      birthName: "ADRUN",
      firstNames: ["ZOE"],
      sex: "F",
      birthDate: "1975-12-31",
    }),
    await rpc.call("insi.searchWithVitale", { beneficiaryIndex: 0 }),
    await rpc.call("insi.verify", {
      ins: "2751263220749",
      birthName: "ADRUN",
      firstNames: ["ZOE"],
      sex: "F",
      birthDate: "1975-12-31",
    }),
    await rpc.call("insi.searchByTraits", {
      birthName: "ADRUNÆ",
      firstNames: ["ZOE"],
      sex: "F",
      birthDate: "1975-12-31",
    }),
  ];
  // The calls really handled that data (otherwise this test proves nothing).
  const answers = JSON.stringify(results);
  for (const value of ["ADRUN", "2751263220749", "180012A004123", "MEDECIN-TEST"])
    assert.ok(answers.includes(value), value);
  assert.equal((results[1]?.["error"] as { data: { reason: string } }).data.reason, "PIN_INCORRECT");
  rpc.close();
  assert.equal(await daemon.stop(), 0);

  const written = filesUnder(daemon.dataDir)
    .filter((file) => !file.includes(`${path.sep}tls${path.sep}`) && !file.endsWith("test-config.json"))
    .map((file) => ({ file, text: readFileSync(file, "utf8") }));
  written.push({ file: "stderr", text: daemon.stderr() });
  assert.ok(
    written.some(({ file }) => file.endsWith(".log")),
    "the log file exists",
  );
  assert.ok(
    written.some(({ file }) => file.endsWith("audit.jsonl")),
    "the audit trail exists",
  );
  for (const { file, text } of written) {
    for (const value of PERSONAL) assert.ok(!text.includes(value), `${value} found in ${file}`);
    for (const pin of PINS)
      assert.ok(!new RegExp(`"${pin}"|[^0-9.]${pin}[^0-9]`).test(text), `PIN ${pin} in ${file}`);
  }
});
