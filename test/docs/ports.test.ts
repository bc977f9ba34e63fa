/**
 * The example EHR page's default port sits outside the daemon's port range, and the docs and scripts
 * name only the ports the code uses: the daemon's first port, the example page's default, and the
 * integration guide's development server. A stale port (the example page once listened on 9713,
 * inside the range, and worked only because it bound before the daemon) fails here.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { DEFAULT_PORT, DEFAULT_PORT_RANGE } from "@passerelle/protocol";
import { DEFAULT_EXAMPLE_PORT } from "../../docs/examples/ehr-page/serve.ts";
import { REPO_ROOT } from "../helpers/daemon.ts";

const FILES = [
  "README.md",
  "docs/integration-guide.md",
  "docs/admin-guide.md",
  "docs/architecture.md",
  "docs/examples/ehr-page/serve.ts",
  "scripts/demo.sh",
  "installers/README.md",
];
/** The integration guide's "your own development server". */
const DEV_SERVER_PORT = 3000;

test("the example page's default port is outside the daemon's range", () => {
  assert.ok(
    DEFAULT_EXAMPLE_PORT < DEFAULT_PORT_RANGE.first || DEFAULT_EXAMPLE_PORT > DEFAULT_PORT_RANGE.last,
    `${DEFAULT_EXAMPLE_PORT} is inside ${DEFAULT_PORT_RANGE.first}-${DEFAULT_PORT_RANGE.last}`,
  );
});

test("docs and scripts name only the daemon's first port, the example page's and the dev server's", () => {
  const allowed = new Set([DEFAULT_PORT, DEFAULT_EXAMPLE_PORT, DEV_SERVER_PORT]);
  const stray: string[] = [];
  let exampleMentions = 0;
  for (const file of FILES) {
    const text = readFileSync(path.join(REPO_ROOT, file), "utf8");
    for (const match of text.matchAll(/localhost:(\d{2,5})\b/g)) {
      const port = Number(match[1]);
      if (port === DEFAULT_EXAMPLE_PORT) exampleMentions++;
      if (!allowed.has(port)) stray.push(`${file}: ${match[0]}`);
    }
  }
  assert.deepEqual(stray, []);
  assert.ok(exampleMentions > 0, `no doc names the example page's http://localhost:${DEFAULT_EXAMPLE_PORT}`);
  const readme = readFileSync(path.join(REPO_ROOT, "README.md"), "utf8");
  assert.match(readme, new RegExp(`example EHR page listens on port ${DEFAULT_EXAMPLE_PORT}\\b`));
});
