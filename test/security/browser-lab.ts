/**
 * The attacker's side of the browser attack suite: web sites on their own hostnames, served over
 * HTTPS from one local server (Chromium's --host-resolver-rules maps every lab hostname to
 * 127.0.0.1), a throwaway HOME whose NSS database trusts the daemon's local CA and the lab's own
 * web CA (as `passerelle trust install` would: no certificate flag), and the small script every lab
 * page carries (`/lab.js`) to drive WebSockets from inside the page.
 *
 * Nothing leaves the machine: every hostname resolves to 127.0.0.1, and the lab's certificates
 * are made here with openssl, valid two days, their keys in a temporary folder removed at the end.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import https from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";

/**
 * The lab's hostnames: two EHRs the administrator allows, an attacker the administrator denies, a
 * site nobody listed (it may only ask, through pairing), and a rebinding attacker.
 */
export const HOSTS = {
  ehr: "ehr.example.fr",
  otherEhr: "dossier.example.fr",
  attacker: "evil.example",
  unlisted: "curious.example",
  rebinding: "rebind.example",
} as const;

export interface WebPki {
  readonly caPem: string;
  readonly certPem: string;
  readonly keyPem: string;
}

/** A throwaway web CA and one leaf for every lab hostname (openssl, EC P-256: fast). */
export function makeWebPki(dir: string, names: readonly string[]): WebPki {
  const file = (name: string) => path.join(dir, name);
  const openssl = (args: string[]) => execFileSync("openssl", args, { stdio: ["ignore", "pipe", "pipe"] });
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
  openssl([
    "req",
    "-x509",
    ...ec,
    "-keyout",
    file("ca.key"),
    "-out",
    file("ca.pem"),
    "-days",
    "2",
    "-subj",
    "/CN=Passerelle attack lab web CA",
    "-addext",
    "basicConstraints=critical,CA:TRUE,pathlen:0",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign",
  ]);
  openssl(["req", "-new", ...ec, "-keyout", file("site.key"), "-out", file("site.csr"), "-subj", "/CN=lab"]);
  writeFileSync(
    file("site.ext"),
    [
      "basicConstraints=critical,CA:FALSE",
      "keyUsage=critical,digitalSignature",
      "extendedKeyUsage=serverAuth",
      `subjectAltName=${names.map((name) => `DNS:${name}`).join(",")}`,
      "",
    ].join("\n"),
  );
  openssl([
    "x509",
    "-req",
    "-in",
    file("site.csr"),
    "-CA",
    file("ca.pem"),
    "-CAkey",
    file("ca.key"),
    "-CAcreateserial",
    "-days",
    "2",
    "-extfile",
    file("site.ext"),
    "-out",
    file("site.pem"),
  ]);
  return {
    caPem: readFileSync(file("ca.pem"), "utf8"),
    certPem: readFileSync(file("site.pem"), "utf8"),
    keyPem: readFileSync(file("site.key"), "utf8"),
  };
}

/**
 * A HOME for Chromium whose NSS database (~/.pki/nssdb, where Chromium on Linux reads its trust
 * anchors) trusts the given CAs. Returns the folder; the caller removes it.
 */
export function browserHome(dir: string, cas: Record<string, string>): string {
  const db = path.join(dir, ".pki", "nssdb");
  mkdirSync(db, { recursive: true, mode: 0o700 });
  execFileSync("certutil", ["-d", `sql:${db}`, "-N", "--empty-password"], { stdio: "pipe" });
  for (const [nickname, pem] of Object.entries(cas)) {
    const file = path.join(dir, `${nickname.replace(/\W+/g, "-")}.pem`);
    writeFileSync(file, pem);
    execFileSync("certutil", ["-d", `sql:${db}`, "-A", "-t", "C,,", "-n", nickname, "-i", file], {
      stdio: "pipe",
    });
  }
  return dir;
}

/** The --host-resolver-rules value that sends every lab hostname to 127.0.0.1. */
export function hostResolverRules(names: readonly string[]): string {
  return `--host-resolver-rules=${names.map((name) => `MAP ${name} 127.0.0.1`).join(", ")}`;
}

/**
 * The script every lab page loads. It is what an attacker (or an EHR) would run: plain WebSockets
 * offering `passerelle.v1`, with everything it sees recorded, nothing interpreted.
 */
export const LAB_SCRIPT = String.raw`
"use strict";
const sockets = new Map();
let nextSocket = 1;
window.lab = {
  /**
   * Opens a WebSocket, sends frames once open, and reports all it saw: when it closes, when every
   * frame got its answer, or after ms.
   */
  session(url, frames, ms) {
    return new Promise((resolve) => {
      const seen = { opened: false, protocol: null, messages: [], closeCode: null, error: false };
      let ws;
      try {
        ws = new WebSocket(url, "passerelle.v1");
      } catch (thrown) {
        seen.thrown = String(thrown);
        resolve(seen);
        return;
      }
      const timer = setTimeout(() => { ws.close(); resolve(seen); }, ms);
      ws.onopen = () => { seen.opened = true; seen.protocol = ws.protocol; for (const f of frames) ws.send(f); };
      ws.onmessage = (event) => {
        seen.messages.push(String(event.data));
        if (frames.length > 0 && seen.messages.length >= frames.length) { clearTimeout(timer); ws.close(); resolve(seen); }
      };
      ws.onerror = () => { seen.error = true; };
      ws.onclose = (event) => { seen.closeCode = event.code; clearTimeout(timer); resolve(seen); };
    });
  },
  /** Opens a JSON-RPC connection; resolves with its handle (a number) or rejects with the close code. */
  connect(url) {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, "passerelle.v1");
      const entry = { ws, waiting: new Map(), nextId: 1, closeCode: null };
      const timer = setTimeout(() => reject(new Error("no answer to the upgrade in 10 s")), 10000);
      ws.onopen = () => { clearTimeout(timer); const id = nextSocket++; sockets.set(id, entry); resolve(id); };
      ws.onclose = (event) => {
        clearTimeout(timer);
        entry.closeCode = event.code;
        for (const done of entry.waiting.values()) done({ closed: event.code });
        entry.waiting.clear();
        reject(new Error("closed " + event.code));
      };
      ws.onmessage = (event) => {
        const message = JSON.parse(String(event.data));
        const done = entry.waiting.get(message.id);
        if (done) { entry.waiting.delete(message.id); done(message); }
      };
    });
  },
  /** One call; resolves with the whole response (result or error), or {closed: code}. */
  call(handle, method, params) {
    const entry = sockets.get(handle);
    if (!entry) return Promise.reject(new Error("no such connection"));
    const id = entry.nextId++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => { entry.waiting.delete(id); resolve({ timeout: true }); }, 15000);
      entry.waiting.set(id, (message) => { clearTimeout(timer); resolve(message); });
      entry.ws.send(JSON.stringify({ jsonrpc: "2.0", id, method, params }));
    });
  },
  close(handle) {
    sockets.get(handle)?.ws.close();
    sockets.delete(handle);
  },
  /**
   * The flood: for ms milliseconds, keep one connection open (open another when the daemon closes
   * it) and write bursts of system.ping on it, as fast as the page can. Counts what came back.
   */
  flood(url, ms, burst) {
    return new Promise((resolve) => {
      const stats = { sent: 0, results: 0, rateLimited: 0, otherErrors: 0, connections: 0, refused: 0, closeCodes: [], startedAt: Date.now(), endedAt: 0, firstRateLimitedAt: 0, sendMs: 0 };
      const end = stats.startedAt + ms;
      let id = 1;
      const open = () => {
        if (Date.now() >= end) { stats.endedAt = Date.now(); resolve(stats); return; }
        const ws = new WebSocket(url, "passerelle.v1");
        let opened = false;
        let replaced = false;
        // The daemon closing this one (its close frame read, or the socket gone): open the next at
        // once, without waiting for the closing handshake to end.
        const next = (delay) => { if (!replaced) { replaced = true; setTimeout(open, delay); } };
        const pump = () => {
          if (ws.readyState !== WebSocket.OPEN) { next(0); return; }
          if (Date.now() >= end) { ws.close(); next(0); return; }
          const t0 = performance.now();
          for (let i = 0; i < burst; i++) {
            ws.send('{"jsonrpc":"2.0","id":' + id++ + ',"method":"system.ping"}');
            stats.sent++;
          }
          stats.sendMs += performance.now() - t0;
          const channel = new MessageChannel(); // a yield that background-tab throttling does not slow
          channel.port1.onmessage = pump;
          channel.port2.postMessage(0);
        };
        ws.onopen = () => { opened = true; stats.connections++; pump(); };
        ws.onmessage = (event) => {
          const message = JSON.parse(String(event.data));
          if (message.result) stats.results++;
          else if (message.error && message.error.data && message.error.data.reason === "RATE_LIMITED") {
            stats.rateLimited++;
            if (!stats.firstRateLimitedAt) stats.firstRateLimitedAt = Date.now();
          } else stats.otherErrors++;
        };
        ws.onclose = (event) => {
          if (!opened) stats.refused++;
          stats.closeCodes.push(event.code);
          next(opened ? 0 : 50);
        };
      };
      open();
    });
  },
};
`;

export interface Site {
  /** What `https://<host>:<port>/<path>` serves; `/lab.js` is served on every host. */
  pages: Record<string, Record<string, string>>;
}

export interface SiteServer {
  readonly port: number;
  /** `https://<host>:<port>` */
  origin(host: string): string;
  /** Every request the server got, as `host path` (what an attacker's server would log). */
  readonly requests: string[];
  close(): Promise<void>;
}

/** One HTTPS server for every lab hostname; it answers by the Host header. */
export async function serveSites(pki: WebPki, site: Site): Promise<SiteServer> {
  const requests: string[] = [];
  const server = https.createServer({ cert: pki.certPem, key: pki.keyPem }, (request, response) => {
    const host = (request.headers.host ?? "").replace(/:\d+$/, "");
    const pathname = new URL(request.url ?? "/", "https://lab").pathname;
    requests.push(`${host} ${pathname}`);
    if (pathname === "/lab.js") {
      response.writeHead(200, { "Content-Type": "text/javascript; charset=utf-8" }).end(LAB_SCRIPT);
      return;
    }
    const body = site.pages[host]?.[pathname];
    if (body === undefined) {
      response.writeHead(404, { "Content-Type": "text/plain" }).end("not found\n");
      return;
    }
    const type = pathname.endsWith(".js") ? "text/javascript" : "text/html";
    response.writeHead(200, { "Content-Type": `${type}; charset=utf-8` }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    origin: (host) => `https://${host}:${port}`,
    requests,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A lab page: a title, the lab script, and whatever else it holds (an iframe…). */
export function labPage(title: string, body = ""): string {
  return `<!doctype html><html lang="en"><meta charset="utf-8"><title>${title}</title><script src="/lab.js"></script><body><h1>${title}</h1>${body}</body></html>`;
}

/** A temporary folder for one test file's lab (certificates, the browser's HOME). */
export function labDir(): { dir: string; remove(): void } {
  const dir = mkdtempSync(path.join(tmpdir(), "passerelle-attack-"));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
