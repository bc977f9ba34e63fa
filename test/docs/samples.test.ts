/**
 * The docs' code samples run as printed: every JavaScript sample of README.md and docs/*.md is run
 * in a headless Chromium, in a page of an allowed origin, against `passerelle start --simulate
 * --plaintext` (what the demo runs). test/docs/commands.test.ts does the same for the shell blocks.
 *
 * The convention, in Markdown (an HTML comment just before a ```js or ```html block):
 *   <!-- sample: NAME -->   run this sample with the harness NAME below. A sample is run exactly as
 *                           printed, as an ES module, with its `import … from "@passerelle/protocol…"`
 *                           resolved (an import map) to the SDK bundle the daemon serves, and
 *                           `localhost:9712` read as the test daemon's address (a free port, as the
 *                           shell blocks get PASSERELLE_PORT=0). A harness gives a fragment what the
 *                           guide's earlier steps made (`passerelle` connected, a `readerId`, the
 *                           functions the sample leaves to the application), then checks what the
 *                           sample must have done — so a sample edited into something that does not
 *                           work fails here (a mutation test below proves it).
 *   a first line `// not run by the docs test: REASON` (`<!-- not run by the docs test: REASON -->`
 *   in HTML, `# not run by the docs test: REASON` in a shell block): not run, and the reader sees why.
 *
 * Every ```js/```html block must be one or the other, and every harness must be used.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import type { Page } from "playwright-core";
import { launchBrowser, type Browser } from "../e2e/browser.ts";
import { CLI, openSocket, REPO_ROOT, RpcPeer, startDaemon, type DaemonProcess } from "../helpers/daemon.ts";

const SAMPLE_FENCES = new Set(["js", "javascript", "mjs", "ts", "typescript", "html"]);
const NOT_RUN = /^\s*(?:\/\/|#|<!--)\s*not run by the docs test:\s*\S/i;
/** Bound on one sample (an INSi call that waits for the PIN typed in the PIN page included). */
const SAMPLE_TIMEOUT_MS = 60_000;
const SIMULATION_PIN = "1234";

interface Block {
  doc: string;
  line: number;
  fence: string;
  code: string;
  markers: Map<string, string>;
}

function docFiles(): string[] {
  const docs = readdirSync(path.join(REPO_ROOT, "docs"))
    .filter((name) => name.endsWith(".md"))
    .map((name) => `docs/${name}`);
  return ["README.md", ...docs.sort()];
}

/** Fenced blocks (top level) with the marker comments written just before them. */
function parseBlocks(doc: string): Block[] {
  const lines = readFileSync(path.join(REPO_ROOT, doc), "utf8").split("\n");
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i += 1) {
    const open = /^\s*```(\S*)\s*$/.exec(lines[i] ?? "");
    if (!open) continue;
    const markers = new Map<string, string>();
    for (let j = i - 1; j >= 0; j -= 1) {
      const line = (lines[j] ?? "").trim();
      if (line === "") continue;
      const marker = /^<!--\s*([\w-]+)\s*(?::\s*(.*?))?\s*-->$/.exec(line);
      if (!marker?.[1]) break;
      markers.set(marker[1], marker[2] ?? "");
    }
    const start = i;
    const body: string[] = [];
    for (i += 1; i < lines.length && !/^\s*```\s*$/.test(lines[i] ?? ""); i += 1) body.push(lines[i] ?? "");
    blocks.push({ doc, line: start + 1, fence: open[1] ?? "", code: body.join("\n"), markers });
  }
  return blocks;
}

const blocks = docFiles().flatMap(parseBlocks);
const samples = blocks.filter((block) => SAMPLE_FENCES.has(block.fence));
const where = (block: Block) => `${block.doc}:${block.line}`;

// ---------------------------------------------------------------------------------------------
// The harnesses: what a fragment is given (prelude), and what it must have done (check). Both run
// in the same module as the sample, before and after it. Names starting with __ are the harness's.
// In the page: __lab(method, params) calls the daemon's lab, __reinsert(readerId) takes the card
// out of that reader and puts the same profile back (a fresh card: no PIN verified).
// ---------------------------------------------------------------------------------------------
interface Harness {
  prelude: string;
  check: string;
  /** A PIN page of the daemon is open, and its user types the simulated CPS's PIN when asked. */
  pinTypist?: boolean;
  /**
   * The CPS is taken out and put back before the page opens (no PIN verified for anyone). Done from
   * here, not from the page: the lab's own connection, on the daemon's origin, would count as a
   * daemon page open to show the PIN request while it closes.
   */
  freshCps?: boolean;
}

const CONNECTED = `
import { PasserelleClient as __Client } from "@passerelle/protocol/client";
const passerelle = new __Client({ url: __DAEMON_URL });
await passerelle.connect();
await passerelle.call("system.hello", { client: { name: "docs-sample", version: "1" } });
const __readersNow = (await passerelle.call("readers.list", {})).readers;
const __vitaleReader = __readersNow.find((reader) => reader.card?.type === "vitale")?.id;
const __cpsReader = __readersNow.find((reader) => reader.card?.type === "cps")?.id;
if (!__vitaleReader || !__cpsReader) throw new Error("harness: the lab has no Vitale or no CPS");
const __calls = [];
const __waitFor = async (what, predicate) => {
  for (let i = 0; i < 200; i += 1) {
    if (predicate()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error("the sample did not " + what + " (calls: " + JSON.stringify(__calls) + ")");
};
`;

const HARNESSES: Record<string, Harness> = {
  /** README: the whole thing from nothing; the listener it sets must hear a card. */
  readme: {
    prelude: `
const __logged = [];
const __log = console.log;
console.log = (...args) => { __logged.push(args.join(" ")); __log(...args); };
`,
    check: `
const __vitale = readers.find((reader) => reader.card?.type === "vitale");
if (!__vitale) throw new Error("readers.list shows no Vitale card: " + JSON.stringify(readers));
await __reinsert(__vitale.id);
for (let i = 0; i < 200 && !__logged.some((line) => line === "card vitale in " + __vitale.id); i += 1)
  await new Promise((resolve) => setTimeout(resolve, 50));
if (!__logged.some((line) => line === "card vitale in " + __vitale.id))
  throw new Error("the card.inserted listener did not hear the Vitale card: " + JSON.stringify(__logged));
`,
  },
  /** Walkthrough 1: the probe finds the daemon running, and this origin allowed. */
  "find-daemon": {
    prelude: "",
    check: `
if (probe.status !== "running" || probe.allowed !== true) throw new Error("probe: " + JSON.stringify(probe));
`,
  },
  /** Walkthrough 2: `passerelle` made as in step 1; the connection opens and onConnected runs through. */
  connect: {
    prelude: `
import { PasserelleClient as __Client } from "@passerelle/protocol/client";
const passerelle = new __Client({ url: __DAEMON_URL });
const showPairingCode = (code) => { throw new Error("harness: pairing is not implemented, got " + code); };
`,
    check: `
if (passerelle.state !== "open") throw new Error("state " + passerelle.state);
await onConnected(); // what the "open" listener ran: it must go through
`,
  },
  /** Walkthrough 3: the listeners hear the Vitale card leave and come back. */
  events: {
    prelude: `${CONNECTED}
const readVitale = async (readerId) => { __calls.push(["readVitale", readerId]); };
const clearPatientIfFrom = (readerId) => { __calls.push(["clearPatientIfFrom", readerId]); };
`,
    check: `
if (!readers.some((reader) => reader.id === __vitaleReader)) throw new Error("readers: " + JSON.stringify(readers));
await __reinsert(__vitaleReader);
await __waitFor("hear the card leave", () => __calls.some(([name, id]) => name === "clearPatientIfFrom" && id === __vitaleReader));
await __waitFor("hear the card come back", () => __calls.some(([name, id]) => name === "readVitale" && id === __vitaleReader));
`,
  },
  /** Walkthrough 4: a `readerId` with a Vitale card; the beneficiaries as the comment says. */
  "read-vitale": {
    prelude: `${CONNECTED}
const readerId = __vitaleReader;
`,
    check: `
if (!Array.isArray(beneficiaries) || beneficiaries.length === 0) throw new Error("no beneficiary");
for (const b of beneficiaries)
  if (typeof b.index !== "number" || !/^[0-9][0-9AB]{12}$/.test(b.nir) || !/^[0-9]{4}-[0-9]{2}-[0-9]{2}$/.test(b.birthDate) || !b.lastName || !b.firstName)
    throw new Error("a beneficiary not as documented: " + Object.keys(b).join(","));
`,
  },
  /** Walkthrough 5: a chosen beneficiary and its traits; the INS is found and stored. */
  "insi-search": {
    pinTypist: true,
    prelude: `${CONNECTED}
const readerId = __vitaleReader;
const beneficiary = (await passerelle.call("vitale.read", { readerId })).beneficiaries[0];
const birthName = beneficiary.lastName;
const firstName = beneficiary.firstName;
const sex = "248".includes(beneficiary.nir.charAt(0)) ? "F" : "M";
const birthDate = beneficiary.birthDate;
const store = (ins) => __calls.push(["store", ins]);
`,
    check: `
if (result.outcome !== "found") throw new Error("outcome " + result.outcome + " " + JSON.stringify(result.cr));
const __stored = __calls.filter(([name]) => name === "store").map(([, ins]) => ins);
if (__stored.length !== 1 || !/^[0-9AB]{13}$/.test(__stored[0].value) || !__stored[0].oid)
  throw new Error("store() got " + JSON.stringify(__stored.map((ins) => Object.keys(ins))));
`,
  },
  /** Walkthrough 6: a fresh CPS, no PIN page open, no window: PIN_REQUIRED with the page to offer. */
  "verify-pin": {
    freshCps: true,
    prelude: `${CONNECTED}
const offerLink = (url) => __calls.push(["offerLink", url]);
`,
    check: `
const __offered = __calls.filter(([name]) => name === "offerLink");
if (__offered.length !== 1 || !/^http:\\/\\/localhost:[0-9]+\\/pin\\.html$/.test(__offered[0][1]))
  throw new Error("offerLink: " + JSON.stringify(__offered));
`,
  },
  /** Identity vigilance: a simulator identity's traits; a found, compared, documented identity is qualified. */
  identity: {
    pinTypist: true,
    prelude: `${CONNECTED}
const __b = (await passerelle.call("vitale.read", { readerId: __vitaleReader })).beneficiaries[0];
const traits = {
  birthName: __b.lastName,
  firstNames: __b.firstName.split(" "),
  sex: "248".includes(__b.nir.charAt(0)) ? "F" : "M",
  birthDate: __b.birthDate,
};
const printOnDocument = (text) => __calls.push(["print", text]);
`,
    check: `
if (assessed.status !== "qualifiee") throw new Error("status " + assessed.status);
const __printed = __calls.filter(([name]) => name === "print");
if (__printed.length !== 1 || !__printed[0][1].startsWith("IS01")) throw new Error("printOnDocument: " + __printed.length);
`,
  },
};

// ---------------------------------------------------------------------------------------------
// The static rules
// ---------------------------------------------------------------------------------------------
test("every JavaScript and HTML sample is run, or tells the reader why not", () => {
  assert.ok(samples.length >= 8, `only ${samples.length} samples found`);
  for (const block of samples) {
    const harness = block.markers.get("sample");
    const notRun = NOT_RUN.test(block.code.split("\n")[0] ?? "");
    assert.ok(
      harness !== undefined || notRun,
      `${where(block)}: a \`\`\`${block.fence} sample needs <!-- sample: HARNESS --> or a first line "// not run by the docs test: why"`,
    );
    if (harness !== undefined) {
      assert.ok(!notRun, `${where(block)}: both run and not run`);
      assert.ok(
        harness in HARNESSES,
        `${where(block)}: no harness "${harness}" in test/docs/samples.test.ts`,
      );
    }
  }
  const used = new Set(samples.map((block) => block.markers.get("sample")));
  for (const name of Object.keys(HARNESSES))
    assert.ok(used.has(name), `harness "${name}" is used by no sample`);
});

test("every block not run says why where the reader sees it", () => {
  for (const block of blocks) {
    if (!block.markers.has("not-run")) continue;
    assert.match(
      block.code.split("\n")[0] ?? "",
      NOT_RUN,
      `${where(block)}: the reason of <!-- not-run --> is invisible once rendered: write it as the block's first line ("# not run by the docs test: …")`,
    );
  }
});

// ---------------------------------------------------------------------------------------------
// Running them
// ---------------------------------------------------------------------------------------------
let daemon: DaemonProcess;
let server: http.Server;
let origin: string;
let browser: Browser;
let dataDir: string;

/** A call on the daemon's own origin (the lab is only there). */
async function selfCall(method: string, params: unknown = {}): Promise<unknown> {
  const opened = await openSocket(daemon, { origin: `http://localhost:${daemon.port}` });
  assert.ok("socket" in opened, "the daemon's own origin is refused");
  const socket = opened.socket;
  const rpc = new RpcPeer(socket);
  try {
    const answer = await rpc.call(method, params);
    if (answer["error"]) throw new Error(`${method}: ${JSON.stringify(answer["error"])}`);
    return answer["result"];
  } finally {
    const closed = new Promise((resolve) => socket.once("close", resolve));
    rpc.close();
    await closed;
  }
}

interface LabStatus {
  slots: Array<{ slot: number; readerId: string; card: string | null }>;
}

async function reinsertCps(): Promise<void> {
  const status = (await selfCall("lab.status")) as LabStatus;
  const slot = status.slots.find((entry) => entry.card?.startsWith("cps"));
  if (!slot) throw new Error("harness: no CPS in the lab");
  await reinsert(slot.readerId);
}

async function reinsert(readerId: string): Promise<void> {
  const status = (await selfCall("lab.status")) as LabStatus;
  const slot = status.slots.find((entry) => entry.readerId === readerId);
  if (!slot?.card) throw new Error(`harness: no card in ${readerId}`);
  await selfCall("lab.removeCard", { slot: slot.slot });
  await selfCall("lab.insertCard", { slot: slot.slot, card: slot.card });
}

/** The page a sample runs in: nothing but an import map to the SDK the daemon serves. */
function harnessPage(): string {
  const sdk = `http://localhost:${daemon.port}/sdk/passerelle-client.js`;
  const imports = Object.fromEntries(
    ["", "/client", "/errors", "/identity", "/browser"].map((entry) => [`@passerelle/protocol${entry}`, sdk]),
  );
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>docs sample</title>
<script type="importmap">${JSON.stringify({ imports })}</script></head><body></body></html>`;
}

before(async () => {
  server = http.createServer((request, response) => {
    if (request.url !== "/") return void response.writeHead(404).end();
    response.writeHead(200, { "Content-Type": "text/html; charset=utf-8" }).end(harnessPage());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  origin = `http://localhost:${typeof address === "object" && address ? address.port : 0}`;
  dataDir = mkdtempSync(path.join(tmpdir(), "passerelle-samples-"));
  daemon = await startDaemon({ args: ["--simulate", "--allow-origin", origin], plaintext: true, dataDir });
  browser = await launchBrowser({ locale: "en-US" });
});

after(async () => {
  await browser?.close();
  await daemon?.stop();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

/** Opens the daemon's PIN page and types the PIN in every request it shows, until stopped. */
async function startPinTypist(): Promise<() => Promise<void>> {
  const pinPage = await browser.newPage();
  await pinPage.goto(`http://localhost:${daemon.port}/pin.html`);
  await pinPage.locator("body[data-ready]").waitFor({ state: "attached" });
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const input = pinPage.locator(".pin-request input[type=password]").first();
      const shown = await input
        .waitFor({ timeout: 500 })
        .then(() => true)
        .catch(() => false);
      if (!shown || stopped) continue;
      await input.fill(SIMULATION_PIN).catch(() => undefined);
      await pinPage
        .locator(".pin-request button[type=submit]")
        .first()
        .click()
        .catch(() => undefined);
      await input.waitFor({ state: "detached", timeout: 10_000 }).catch(() => undefined);
    }
  })();
  return async () => {
    stopped = true;
    await loop;
    await pinPage.close();
  };
}

/** Runs `code` (a sample, its harness around it) as a module in a fresh harness page. */
async function runSample(label: string, code: string, harness: Harness): Promise<void> {
  const page: Page = await browser.newPage();
  const pageErrors: string[] = [];
  page.on("pageerror", (error) => pageErrors.push(error.message));
  if (harness.freshCps) await reinsertCps();
  const stopTypist = harness.pinTypist ? await startPinTypist() : null;
  try {
    await page.exposeFunction("__lab", (method: string, params: unknown) => selfCall(method, params));
    await page.exposeFunction("__reinsert", (readerId: string) => reinsert(readerId));
    await page.goto(`${origin}/`);
    const source = [
      `const __DAEMON_URL = ${JSON.stringify(`ws://localhost:${daemon.port}/v1`)};`,
      harness.prelude,
      "// ---- the sample, as printed ----",
      code.replaceAll("localhost:9712", `localhost:${daemon.port}`),
      "// ---- the harness's check ----",
      harness.check,
    ].join("\n");
    let timer: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([
      page.evaluate(async (text) => {
        const url = URL.createObjectURL(new Blob([text], { type: "text/javascript" }));
        try {
          await import(url);
          return null;
        } catch (error) {
          return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
        }
      }, source),
      new Promise<string>((resolve) => {
        timer = setTimeout(
          () => resolve(`did not finish in ${SAMPLE_TIMEOUT_MS / 1000} s`),
          SAMPLE_TIMEOUT_MS,
        );
      }),
    ]);
    clearTimeout(timer);
    assert.equal(outcome, null, `${label}: ${outcome}`);
    assert.deepEqual(pageErrors, [], `${label}: uncaught in the page`);
  } finally {
    await stopTypist?.();
    await page.close();
  }
}

for (const block of samples) {
  const name = block.markers.get("sample");
  if (name === undefined) continue;
  test(`${where(block)} runs as printed (harness ${name})`, { timeout: SAMPLE_TIMEOUT_MS * 2 }, async () => {
    const harness = HARNESSES[name];
    assert.ok(harness, `no harness ${name}`);
    await runSample(where(block), block.code, harness);
  });
}

test(
  "a sample edited into something that does not work fails",
  { timeout: SAMPLE_TIMEOUT_MS * 4 },
  async () => {
    const vitale = samples.find((block) => block.markers.get("sample") === "read-vitale");
    const events = samples.find((block) => block.markers.get("sample") === "events");
    assert.ok(vitale && events);
    const broken = [
      // a method that does not exist
      { block: vitale, code: vitale.code.replace('"vitale.read"', '"vitale.reed"') },
      // a listener on an event that never comes: the harness's check notices
      { block: events, code: events.code.replace('"card.inserted"', '"card.inserte"') },
    ];
    for (const { block, code } of broken) {
      assert.notEqual(code, block.code, `${where(block)}: the mutation did not apply`);
      const harness = HARNESSES[block.markers.get("sample") ?? ""];
      assert.ok(harness);
      await assert.rejects(runSample(where(block), code, harness), `${where(block)}: a broken sample passed`);
    }
  },
);

// The JSON configuration samples marked `<!-- sample: config -->` are read as the daemon would.
test("the configuration file samples are valid configurations", () => {
  const configs = blocks.filter(
    (block) => block.fence === "json" && block.markers.get("sample") === "config",
  );
  assert.ok(configs.length > 0, "no <!-- sample: config --> JSON block");
  const dir = mkdtempSync(path.join(tmpdir(), "passerelle-sample-config-"));
  try {
    for (const block of configs) {
      const file = path.join(dir, "config.json");
      writeFileSync(file, block.code);
      const doctor = spawnSync(
        process.execPath,
        ["--import", "tsx", CLI, "doctor", "--simulate", "--config", file, "--data-dir", dir],
        { cwd: REPO_ROOT, encoding: "utf8", env: { ...process.env, HOME: dir } },
      );
      assert.match(doctor.stdout, /^ok +config/m, `${where(block)}:\n${doctor.stdout}${doctor.stderr}`);
      assert.doesNotMatch(doctor.stdout, /^FAIL +config/m, `${where(block)}:\n${doctor.stdout}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
