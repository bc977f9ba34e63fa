/**
 * The docs cannot rot: every shell command they show runs.
 *
 * The convention, in Markdown (HTML comments just before a ```sh block):
 *   (no marker)                 the block is run as a bash script — in the guides listed in RUN_BY_DEFAULT;
 *                               in other docs it is only checked (files it names exist, `passerelle`
 *                               subcommands and options exist), as they do not follow the convention yet
 *   <!-- run-until: TEXT -->    a command that keeps running (a server): run it until its output
 *                               shows TEXT, fetch every http://localhost URL it printed (200 expected),
 *                               then stop it
 *   <!-- exit: 0,1 -->          the exit codes that count as success (default 0)
 *   <!-- expect: REGEX -->      the output must match
 *   <!-- test: PATH -->         a system test runs this block (it must exist and name this doc)
 *   a first line `# not run by the docs test: REASON`
 *                               not run here, for the reason the reader sees (e.g. it reinstalls this
 *                               very checkout's node_modules under the other tests' feet); still
 *                               checked. (`<!-- not-run: REASON -->` alone is refused by
 *                               test/docs/samples.test.ts: the reader would not see it.)
 *
 * Blocks run with the repository as working folder, in a scratch HOME shared by the blocks of one
 * doc (in order), with PASSERELLE_PORT=0 so a daemon takes a free port, and `passerelle` defined as
 * the CLI from this checkout. Other fences (```powershell, ```zsh, ```json…) are not commands for
 * this Linux suite.
 *
 * The JavaScript samples are run by test/docs/samples.test.ts, in Chromium, against the daemon.
 *
 * Also checked: every `passerelle …` in inline code names a real subcommand and real options;
 * every repository path in inline code exists; the integration guide tells every error reason.
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, test } from "node:test";
import { ERROR_REASON_NAMES } from "@passerelle/protocol/errors";
import { CLI, REPO_ROOT } from "../helpers/daemon.ts";

/** The guides written under the convention: their unmarked blocks are run. */
const RUN_BY_DEFAULT = new Set(["docs/integration-guide.md", "docs/admin-guide.md", "docs/security.md"]);
const SHELL_FENCES = new Set(["sh", "bash", "shell", "console"]);
/** Bound on one block (a first `npm ci` in scripts/demo.sh included). */
const BLOCK_TIMEOUT_MS = 180_000;
const READY_TIMEOUT_MS = 60_000;
/** A block's first line saying, where the reader sees it, why the docs test does not run it. */
const NOT_RUN_LINE = /^\s*#\s*not run by the docs test:\s*\S/i;
const REPO_PATH = /^(?:daemon|protocol|test|docs|scripts|bench)\/[\w.*/-]*$/;

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

/** Fenced blocks with the marker comments written just before them (blank lines allowed). */
function parseBlocks(doc: string, text: string): Block[] {
  const lines = text.split("\n");
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i += 1) {
    const open = /^```(\S*)\s*$/.exec(lines[i] ?? "");
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
    for (i += 1; i < lines.length && !/^```\s*$/.test(lines[i] ?? ""); i += 1) body.push(lines[i] ?? "");
    blocks.push({ doc, line: start + 1, fence: open[1] ?? "", code: body.join("\n"), markers });
  }
  return blocks;
}

const allBlocks = docFiles().flatMap((doc) =>
  parseBlocks(doc, readFileSync(path.join(REPO_ROOT, doc), "utf8")),
);
const shellBlocks = allBlocks.filter((block) => SHELL_FENCES.has(block.fence));

// ---------------------------------------------------------------------------------------------
// Static checks: files and CLI options named in the docs exist
// ---------------------------------------------------------------------------------------------
const helpCache = new Map<string, string>();
function helpOf(words: string[]): string {
  const key = words.join(" ");
  let help = helpCache.get(key);
  if (help === undefined) {
    const result = spawnSync(process.execPath, ["--import", "tsx", CLI, ...words, "--help"], {
      cwd: REPO_ROOT,
      encoding: "utf8",
    });
    help = result.status === 0 ? result.stdout : "";
    helpCache.set(key, help);
  }
  return help;
}

/** Checks `passerelle sub [sub2] --option …`: the subcommands and every option exist. */
function checkPasserelleCommand(words: string[], where: string): void {
  const subcommands: string[] = [];
  let index = 0;
  for (; index < words.length; index += 1) {
    const word = words[index] ?? "";
    if (word.startsWith("-") || !/^[a-z][a-z-]*$/.test(word)) break;
    const help = helpOf(subcommands);
    if (!new RegExp(`^  ${word}\\b`, "m").test(help)) break;
    subcommands.push(word);
  }
  const help = helpOf(subcommands);
  assert.notEqual(help, "", `${where}: passerelle ${subcommands.join(" ")} has no help`);
  for (const word of words.slice(index)) {
    const option = /^(--?[a-zA-Z][\w-]*)/.exec(word.replace(/^[[(]+/, ""))?.[1];
    if (!option || option === "--") continue;
    assert.ok(help.includes(option), `${where}: passerelle ${subcommands.join(" ")} has no option ${option}`);
  }
}

function repoPathExists(candidate: string): boolean {
  const clean = candidate.replace(/[),.:;]+$/, "").replace(/#.*$/, "");
  if (!clean.includes("*")) return existsSync(path.join(REPO_ROOT, clean));
  // A glob such as daemon/test/pcsc/*.test.ts: its folder exists and something in it matches.
  const dir = path.dirname(clean);
  const pattern = new RegExp(
    `^${path
      .basename(clean)
      .replace(/[.+?^${}()|[\]\\]/g, "\\$&")
      .replace(/\*/g, ".*")}$`,
  );
  return (
    existsSync(path.join(REPO_ROOT, dir)) &&
    readdirSync(path.join(REPO_ROOT, dir)).some((f) => pattern.test(f))
  );
}

function checkCommandLine(line: string, where: string): void {
  const words = line.replace(/#.*$/, "").trim().split(/\s+/).filter(Boolean);
  for (const word of words) {
    const token = word.replace(/^["']|["']$/g, "");
    if (REPO_PATH.test(token)) assert.ok(repoPathExists(token), `${where}: no such file ${token}`);
  }
  const at = words.indexOf("passerelle");
  const npm = words.indexOf("passerelle", words.indexOf("run") + 1);
  if (at === 0) checkPasserelleCommand(words.slice(1), where);
  else if (words[0] === "npm" && words.includes("run") && npm > 0 && words[npm + 1] === "--")
    checkPasserelleCommand(words.slice(npm + 2), where);
}

test("every shell block names files and passerelle options that exist", () => {
  assert.ok(shellBlocks.length > 0);
  for (const block of shellBlocks) {
    for (const [offset, line] of block.code.split("\n").entries()) {
      checkCommandLine(line, `${block.doc}:${block.line + 1 + offset}`);
    }
  }
});

test("inline `passerelle …` commands and repository paths in the docs exist", () => {
  for (const doc of docFiles()) {
    const text = readFileSync(path.join(REPO_ROOT, doc), "utf8").replace(/^```[\s\S]*?^```/gm, "");
    for (const [, span] of text.matchAll(/`([^`\n]+)`/g)) {
      if (!span) continue;
      if (/^passerelle [a-z]/.test(span))
        checkPasserelleCommand(span.split(/\s+/).slice(1), `${doc}: \`${span}\``);
      else if (REPO_PATH.test(span) && !span.includes("<"))
        assert.ok(repoPathExists(span), `${doc}: \`${span}\` does not exist`);
    }
  }
});

test("blocks exercised by a named test point to a test that reads this doc", () => {
  for (const block of shellBlocks) {
    const testFile = block.markers.get("test");
    if (testFile === undefined) continue;
    assert.ok(existsSync(path.join(REPO_ROOT, testFile)), `${block.doc}:${block.line}: no test ${testFile}`);
    const source = readFileSync(path.join(REPO_ROOT, testFile), "utf8");
    assert.ok(source.includes(path.basename(block.doc)), `${testFile} does not read ${block.doc}`);
  }
});

test("the integration guide tells the user something for every error reason", () => {
  const guide = readFileSync(path.join(REPO_ROOT, "docs/integration-guide.md"), "utf8");
  for (const reason of ERROR_REASON_NAMES) {
    assert.match(
      guide,
      new RegExp(`^\\| \`${reason}\` \\|`, "m"),
      `docs/integration-guide.md lacks ${reason}`,
    );
  }
});

// ---------------------------------------------------------------------------------------------
// Running the blocks
// ---------------------------------------------------------------------------------------------
const homes: string[] = [];
after(() => {
  for (const home of homes) rmSync(home, { recursive: true, force: true });
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}

function shouldRun(block: Block): boolean {
  if (!SHELL_FENCES.has(block.fence) || block.markers.has("test")) return false;
  if (NOT_RUN_LINE.test(block.code.split("\n")[0] ?? "")) return false;
  if (block.markers.has("not-run")) {
    assert.ok(block.markers.get("not-run"), `${block.doc}:${block.line}: not-run needs a reason`);
    return false;
  }
  return RUN_BY_DEFAULT.has(block.doc) || block.markers.has("run") || block.markers.has("run-until");
}

interface Outcome {
  code: number | null;
  output: string;
  urls: string[];
}

async function runBlock(block: Block, home: string): Promise<Outcome> {
  const script = [
    "set -eo pipefail",
    `passerelle() { node --import tsx ${JSON.stringify(CLI)} "$@"; }`,
    block.code,
  ].join("\n");
  const env: NodeJS.ProcessEnv = {
    PATH: process.env["PATH"],
    HOME: home,
    LANG: "C.UTF-8",
    TMPDIR: process.env["TMPDIR"] ?? tmpdir(),
    PASSERELLE_PORT: "0",
    PASSERELLE_EXAMPLE_PORT: String(await freePort()),
    CI: process.env["CI"],
  };
  const child = spawn("bash", ["-c", script], {
    cwd: REPO_ROOT,
    env,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  const until = block.markers.get("run-until");
  return new Promise<Outcome>((resolve, reject) => {
    const stopGroup = () => {
      try {
        process.kill(-(child.pid as number), "SIGTERM");
      } catch {
        // already gone
      }
    };
    const timer = setTimeout(
      () => {
        stopGroup();
        reject(
          new Error(`${block.doc}:${block.line}: no ${until ? `"${until}"` : "exit"} in time:\n${output}`),
        );
      },
      until ? READY_TIMEOUT_MS : BLOCK_TIMEOUT_MS,
    );
    let ready = false;
    const onData = (chunk: Buffer) => {
      output += chunk.toString("utf8");
      if (until && !ready && output.includes(until)) {
        ready = true;
        clearTimeout(timer);
        // Give the rest of the ready lines a moment to arrive, then check the URLs and stop it.
        setTimeout(() => {
          const urls = [...new Set(output.match(/http:\/\/localhost:\d+\/[^\s"']*/g) ?? [])];
          Promise.all(urls.map((url) => fetch(url).then((response) => ({ url, status: response.status }))))
            .then((answers) => {
              for (const { url, status } of answers)
                assert.equal(status, 200, `${block.doc}:${block.line}: ${url}`);
              child.once("exit", (code) => resolve({ code, output, urls }));
              stopGroup();
            })
            .catch((error: unknown) => {
              stopGroup();
              reject(error as Error);
            });
        }, 300);
      }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.once("exit", (code) => {
      if (ready) return;
      clearTimeout(timer);
      if (until)
        reject(new Error(`${block.doc}:${block.line}: exited (${code}) before "${until}":\n${output}`));
      else resolve({ code, output, urls: [] });
    });
  });
}

for (const doc of docFiles()) {
  const blocks = allBlocks.filter((block) => block.doc === doc && shouldRun(block));
  if (blocks.length === 0) continue;
  // Each block has its own bound (BLOCK_TIMEOUT_MS): the test's is their sum, not the runner's default.
  const timeout = blocks.length * BLOCK_TIMEOUT_MS;
  test(`the shell commands of ${doc} run`, { timeout }, async (t) => {
    const home = mkdtempSync(path.join(tmpdir(), "passerelle-docs-home-"));
    homes.push(home);
    for (const block of blocks) {
      const where = `${block.doc}:${block.line}`;
      const outcome = await runBlock(block, home);
      t.diagnostic(
        `${where}: ${block.code.split("\n")[0]}${outcome.urls.length ? ` → ${outcome.urls.join(" ")}` : ""}`,
      );
      if (!block.markers.has("run-until")) {
        const allowed = (block.markers.get("exit") ?? "0").split(",").map((code) => Number(code.trim()));
        assert.ok(allowed.includes(outcome.code ?? -1), `${where}: exit ${outcome.code}\n${outcome.output}`);
      }
      const expect = block.markers.get("expect");
      if (expect !== undefined) assert.match(outcome.output, new RegExp(expect, "m"), where);
    }
  });
}
