/**
 * Serves the example EHR page on its own origin (default http://localhost:9730), as a web EHR would
 * be served from its own server. For the demo and the end-to-end tests; not part of the daemon.
 *
 *   node --import tsx docs/examples/ehr-page/serve.ts [--port 9730]   (or PASSERELLE_EXAMPLE_PORT)
 *
 * Prints one line `serving <url>` when ready. Loopback only.
 */
import { readFile } from "node:fs/promises";
import http from "node:http";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const EXAMPLE_ROOT = path.dirname(fileURLToPath(import.meta.url));
/** Outside the daemon's port range (9712–9721, DEFAULT_PORT_RANGE), so that the two never compete. */
export const DEFAULT_EXAMPLE_PORT = 9730;

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
};
/** The files of the example; nothing else is served. */
const FILES = new Set(["index.html", "app.js", "i18n.js", "messages.js", "style.css", "favicon.svg"]);

/**
 * The page's Content-Security-Policy: scripts from itself and from the daemon (which serves the
 * SDK), connections to itself and to the daemon on localhost. A real EHR names its exact port.
 */
const CSP = [
  "default-src 'self'",
  "script-src 'self' http://localhost:* https://localhost:*",
  "connect-src 'self' ws://localhost:* wss://localhost:* http://localhost:* https://localhost:*",
  "style-src 'self'",
  "img-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join("; ");

export interface ExampleServer {
  readonly url: string;
  readonly origin: string;
  close(): Promise<void>;
}

export async function serveExample(options: { port?: number; host?: string } = {}): Promise<ExampleServer> {
  const host = options.host ?? "127.0.0.1";
  const server = http.createServer((request, response) => {
    const pathname = new URL(request.url ?? "/", "http://localhost").pathname;
    const name = pathname === "/" ? "index.html" : pathname.slice(1);
    if (request.method !== "GET" || !FILES.has(name)) {
      response.writeHead(404, { "Content-Type": "text/plain" }).end("not found\n");
      return;
    }
    readFile(path.join(EXAMPLE_ROOT, name)).then(
      (content) =>
        response
          .writeHead(200, {
            "Content-Type": TYPES[path.extname(name)] ?? "application/octet-stream",
            "Content-Security-Policy": CSP,
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "no-store",
          })
          .end(content),
      () => response.writeHead(404).end(),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen({ port: options.port ?? DEFAULT_EXAMPLE_PORT, host }, () => resolve());
  });
  const address = server.address();
  const port = address && typeof address === "object" ? address.port : 0;
  const origin = `http://localhost:${port}`;
  return {
    url: `${origin}/`,
    origin,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const index = process.argv.indexOf("--port");
  const fromEnvironment = process.env["PASSERELLE_EXAMPLE_PORT"];
  const port =
    index > 0
      ? Number(process.argv[index + 1])
      : fromEnvironment
        ? Number(fromEnvironment)
        : DEFAULT_EXAMPLE_PORT;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    process.stderr.write(
      `the example page's port must be a number from 0 to 65535 (${index > 0 ? "--port" : "PASSERELLE_EXAMPLE_PORT"})\n`,
    );
    process.exit(2);
  }
  const running = await serveExample({ port }).catch((error: NodeJS.ErrnoException) => {
    // One line a person can act on, not a stack trace.
    if (error.code !== "EADDRINUSE") throw error;
    process.stderr.write(
      `the example page cannot use port ${port}: another program listens there (choose another with --port, or PASSERELLE_EXAMPLE_PORT for the demo)\n`,
    );
    process.exit(1);
  });
  process.stdout.write(`serving ${running.url}\n`);
  const stop = () => void running.close().then(() => process.exit(0));
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}
