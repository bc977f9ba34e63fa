/**
 * cardpeek as a second judge of the emulated Vitale 2 cards, through the real pcscd: cardpeek's
 * own `vitale_2.lua` (Debian `cardpeek`, console mode: no display needed) reads the card in vpcd
 * slot 1 and saves its view; what it shows must be what our driver returns for the same card
 * (for the split layout: the MF_VITALE identities and the VITALE NIRs matched by position).
 * Needs root, pcscd + vsmartcard-vpcd and cardpeek (scripts/system-deps.sh); holds the lab lock.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { DOMParser, type Element } from "@xmldom/xmldom";
import { acquirePcscd, type PcscdLab } from "../helpers/pcscd.ts";
import { createReaders, type Readers } from "../../daemon/src/pcsc/index.ts";
import { createSystemBackend } from "../../daemon/src/pcsc/binding/koffi-backend.ts";
import { VpcdBridge } from "../../daemon/src/simulator/vpcd-bridge.ts";
import {
  createVitale2Emulator,
  FAMILY_OF_4,
  LAB_BENEFICIARY_LAYOUT,
  type Vitale2Layout,
} from "../../daemon/src/simulator/cards/vitale2/index.ts";
import { createPublicLayoutVitaleReader } from "../../daemon/src/cards/vitale/index.ts";
import { waitForCard } from "../helpers/vpcd-slots.ts";

const CARDPEEK = "/usr/bin/cardpeek";
const CARDPEEK_TIMEOUT_MS = 30_000;
const SLOT = 1;
const AID_VITALE = "#D250000002564954414C45";
const AID_MF_VITALE = "#D2500000024D465F564954414C45";
const missing = existsSync(CARDPEEK)
  ? undefined
  : "cardpeek is not installed: apt-get install cardpeek cardpeek-data (scripts/system-deps.sh)";

let lab: PcscdLab;
let readers: Readers;
let home: string;

function run(args: string[], input: string): Promise<{ code: number; stdout: string }> {
  return new Promise((resolve) => {
    const child = execFile(
      CARDPEEK,
      args,
      {
        env: { ...process.env, HOME: home },
        timeout: CARDPEEK_TIMEOUT_MS,
        encoding: "utf8",
        maxBuffer: 1 << 24,
      },
      (error, stdout) => resolve({ code: error === null ? 0 : Number(error.code ?? 1), stdout }),
    );
    child.stdin?.end(input);
  });
}

before(async () => {
  if (missing !== undefined) return;
  home = mkdtempSync(path.join(tmpdir(), "passerelle-cardpeek-"));
  mkdirSync(path.join(home, ".cardpeek"));
  // First run: cardpeek asks to install its scripts into ~/.cardpeek (answer 1, then 1 for "Ok").
  await run(["-c", "-e", "os.exit(0)"], "1\n1\n0\n");
  assert.ok(
    existsSync(path.join(home, ".cardpeek", "scripts", "vitale_2.lua")),
    "cardpeek installed its scripts",
  );
  lab = await acquirePcscd();
  readers = await createReaders({ backend: createSystemBackend() });
});

after(async () => {
  await readers?.close();
  await lab?.release();
  if (home !== undefined) rmSync(home, { recursive: true, force: true });
});

type Fields = Record<string, string>;
interface CardpeekView {
  /** application id → the `65` records cardpeek decoded in its files, tag hex → ASCII value */
  readonly applications: Map<string, Fields[]>;
}

function childNodes(element: Element, name = "node"): Element[] {
  const out: Element[] = [];
  for (let child = element.firstChild; child !== null; child = child.nextSibling) {
    if (child.nodeType === 1 && (child as Element).tagName === name) out.push(child as Element);
  }
  return out;
}

function attr(element: Element, name: string): string | undefined {
  return childNodes(element, "attr").find((a) => a.getAttribute("name") === name)?.textContent ?? undefined;
}

function parseView(xml: string): CardpeekView {
  // cardpeek 0.8.4 writes `<?xml version="1.0" type="UTF-8"?>` ("type", not "encoding"): drop it.
  const document = new DOMParser().parseFromString(xml.replace(/^<\?xml[^>]*\?>/, ""), "text/xml");
  const root = childNodes(document.documentElement as unknown as Element)[0];
  assert.ok(root, "cardpeek saved a card node");
  const applications = new Map<string, Fields[]>();
  for (const application of childNodes(root).filter((n) => attr(n, "classname") === "application")) {
    const records: Fields[] = [];
    for (const file of childNodes(application).filter((n) => attr(n, "classname") === "file")) {
      for (const body of childNodes(file).filter((n) => attr(n, "classname") === "body")) {
        for (const record of childNodes(body).filter((n) => attr(n, "id") === "65")) {
          const fields: Fields = {};
          for (const item of childNodes(record)) {
            const value = attr(item, "val") ?? "";
            fields[attr(item, "id") ?? "?"] = Buffer.from(value.replace(/^8:/, ""), "hex").toString("latin1");
          }
          records.push(fields);
        }
      }
    }
    applications.set(attr(application, "id") ?? "?", records);
  }
  return { applications };
}

async function judge(layout: Vitale2Layout): Promise<void> {
  const bridge = new VpcdBridge({
    emulator: createVitale2Emulator({ layout, beneficiaries: FAMILY_OF_4 }),
    slot: SLOT,
    reconnect: false,
  });
  await bridge.start();
  try {
    const readerId = await waitForCard(readers, SLOT, true);
    const reader = readers.list().find((r) => r.id === readerId);
    assert.ok(reader);
    const view = path.join(home, `view-${layout}.xml`);
    const script = path.join(home, ".cardpeek", "scripts", "vitale_2.lua");
    const result = await run(
      ["-c", "-r", `pcsc://${reader.name}`, "-e", `dofile("${script}"); ui.save_view("${view}"); os.exit(0)`],
      "",
    );
    assert.equal(result.code, 0, `cardpeek ran (${result.stdout.slice(-500)})`);
    const seen = parseView(readFileSync(view, "utf8"));

    // What cardpeek shows, matched by position as Rufus does: the VITALE records, filled in from
    // the MF_VITALE records when the layout is split.
    const nirRecords = seen.applications.get(AID_VITALE) ?? [];
    const identityRecords = seen.applications.get(AID_MF_VITALE) ?? [];
    const count = Math.max(nirRecords.length, identityRecords.length);
    const expected = Array.from({ length: count }, (_, i) => {
      const fields = { ...identityRecords[i], ...nirRecords[i] };
      const date = fields["82"] ?? "";
      return [
        (fields["93"] ?? "").slice(0, 13),
        fields["80"],
        fields["81"],
        `${date.slice(0, 4)}-${date.slice(4, 6)}-${date.slice(6)}`,
      ];
    });
    assert.equal(count, FAMILY_OF_4.length, `cardpeek sees ${FAMILY_OF_4.length} beneficiaries`);
    if (layout === "split") {
      assert.ok(
        nirRecords.every((r) => r["80"] === undefined && r["93"] !== undefined),
        "NIRs only under VITALE",
      );
      assert.ok(
        identityRecords.every((r) => r["80"] !== undefined),
        "names under MF_VITALE",
      );
    }

    const ours = await readers.withCard(readerId, (channel) =>
      createPublicLayoutVitaleReader({ layout: LAB_BENEFICIARY_LAYOUT }).read(channel),
    );
    assert.deepEqual(
      ours.beneficiaries.map((b) => [b.nir, b.lastName, b.firstName, b.birthDate]),
      expected,
    );
  } finally {
    await bridge.close();
    await waitForCard(readers, SLOT, false);
  }
}

test(
  "cardpeek's vitale_2.lua and our driver see the same beneficiaries: single layout",
  { skip: missing },
  () => judge("single"),
);

test(
  "cardpeek's vitale_2.lua and our driver see the same beneficiaries: split layout",
  { skip: missing },
  () => judge("split"),
);
