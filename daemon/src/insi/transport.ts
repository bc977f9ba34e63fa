/**
 * HTTPS transport to INSi: keep-alive, the configured CA bundle, mutual TLS in organisation mode,
 * connect and response timeouts, a bounded response, and ONE retry on connection errors only.
 *
 * "Never retry after the request was sent": INSi traces every call, so a duplicate is a second trace.
 * We retry only when the failure happened before the request was handed to the OS ('finish'), i.e.
 * the server cannot have received a complete request. A reset after that is INSI_UNAVAILABLE
 * (retriable by the web app, knowingly) — with one exception: a reset of a REUSED keep-alive socket
 * before any byte of a response. That is the server closing an idle connection just as we wrote on
 * it (its keep-alive timer and ours race, and lose more often when the event loop is busy); the
 * request met a closed connection and was not processed. Node documents this retry
 * (`request.reusedSocket`); a fresh connection is used for it.
 */
import https from "node:https";
import type { ClientRequest } from "node:http";
import { PasserelleError } from "../errors.ts";
import { SOAP12_CONTENT_TYPE } from "./namespaces.ts";
import { MAX_RESPONSE_BYTES } from "./xml.ts";

/** Failures that mean "no connection was usable", worth one more try if nothing was sent. */
const CONNECTION_ERRORS = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EAI_AGAIN",
  "CONNECT_TIMEOUT",
]);
/** What a stale keep-alive socket gives when it is written to after the server closed it. */
const STALE_SOCKET_ERRORS = new Set(["ECONNRESET", "EPIPE"]);
export const MAX_ATTEMPTS = 2;
/** Sockets per INSi host: calls are unitary and user-triggered; a handful covers bursts. */
export const MAX_SOCKETS = 8;

export interface InsiHttpRequest {
  readonly url: string;
  readonly body: string;
  readonly action: string;
  /** Extra HTTP headers (PSC mode: the bearer token). Never logged. */
  readonly headers?: Readonly<Record<string, string>>;
}

export interface InsiHttpResponse {
  readonly status: number;
  readonly body: string;
}

export interface InsiTransport {
  send(request: InsiHttpRequest): Promise<InsiHttpResponse>;
  close(): void;
}

export interface HttpsTransportOptions {
  readonly caPem?: string | undefined;
  /** Organisation mode: the client certificate chain and key. */
  readonly clientCertPem?: string | undefined;
  readonly clientKeyPem?: string | undefined;
  readonly connectTimeoutMs: number;
  readonly responseTimeoutMs: number;
  readonly keepAliveMs: number;
}

class AttemptError extends Error {
  readonly code: string;
  readonly sent: boolean;
  /** The request went out on a reused keep-alive socket and no response byte came back. */
  readonly staleSocket: boolean;
  constructor(code: string, sent: boolean, staleSocket: boolean, cause?: unknown) {
    super(code, cause === undefined ? undefined : { cause });
    this.code = code;
    this.sent = sent;
    this.staleSocket = staleSocket;
  }
}

export function createHttpsTransport(options: HttpsTransportOptions): InsiTransport {
  const agent = new https.Agent({
    keepAlive: options.keepAliveMs > 0,
    keepAliveMsecs: 1_000,
    // Idle sockets are dropped after keepAliveMs (the Agent's `timeout` applies to free sockets too).
    timeout: options.keepAliveMs > 0 ? options.keepAliveMs : undefined,
    maxSockets: MAX_SOCKETS,
    ca: options.caPem,
    cert: options.clientCertPem,
    key: options.clientKeyPem,
  });

  function attempt(request: InsiHttpRequest): Promise<InsiHttpResponse> {
    return new Promise((resolve, reject) => {
      let sent = false;
      let responded = false;
      let settled = false;
      const fail = (code: string, cause?: unknown) => {
        if (settled) return;
        settled = true;
        clearTimeout(responseTimer);
        clearTimeout(connectTimer);
        req.destroy();
        reject(new AttemptError(code, sent, req.reusedSocket && !responded, cause));
      };
      const req: ClientRequest = https.request(request.url, {
        method: "POST",
        agent,
        headers: {
          ...request.headers,
          "content-type": `${SOAP12_CONTENT_TYPE}; action="${request.action}"`,
          "content-length": Buffer.byteLength(request.body, "utf8"),
        },
      });
      const connectTimer = setTimeout(() => fail("CONNECT_TIMEOUT"), options.connectTimeoutMs);
      const responseTimer = setTimeout(() => fail("RESPONSE_TIMEOUT"), options.responseTimeoutMs);
      req.on("socket", (socket) => {
        // A reused keep-alive socket is already connected.
        if (!socket.connecting) clearTimeout(connectTimer);
        else socket.once("secureConnect", () => clearTimeout(connectTimer));
      });
      req.on("finish", () => {
        sent = true;
      });
      req.on("error", (error: NodeJS.ErrnoException) => fail(error.code ?? "ERROR", error));
      req.on("response", (res) => {
        responded = true;
        const chunks: Buffer[] = [];
        let size = 0;
        res.on("data", (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_RESPONSE_BYTES) fail("RESPONSE_TOO_LARGE");
          else chunks.push(chunk);
        });
        res.on("error", (error: NodeJS.ErrnoException) => fail(error.code ?? "ERROR", error));
        res.on("aborted", () => fail("ECONNRESET"));
        res.on("end", () => {
          if (settled) return;
          settled = true;
          clearTimeout(responseTimer);
          clearTimeout(connectTimer);
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") });
        });
      });
      // A string body (not a Buffer) lets Node send headers and body in one write, hence one TLS
      // record; a Buffer costs a second record and a writev (measured: ~0.3 ms per call on loopback).
      req.end(request.body, "utf8");
    });
  }

  return {
    async send(request) {
      for (let attemptNumber = 1; ; attemptNumber += 1) {
        try {
          return await attempt(request);
        } catch (error) {
          if (!(error instanceof AttemptError)) throw error;
          if (error.code === "RESPONSE_TOO_LARGE") {
            throw new PasserelleError("INSI_INVALID_RESPONSE", "INSi response larger than the limit", {
              limit: MAX_RESPONSE_BYTES,
            });
          }
          const unsent = !error.sent && CONNECTION_ERRORS.has(error.code);
          const stale = error.staleSocket && STALE_SOCKET_ERRORS.has(error.code);
          const retry = (unsent || stale) && attemptNumber < MAX_ATTEMPTS;
          if (!retry) {
            throw new PasserelleError(
              "INSI_UNAVAILABLE",
              `INSi unreachable: ${error.code}`,
              { cause: error.code, attempts: attemptNumber, requestSent: error.sent },
              error.cause ?? error,
            );
          }
        }
      }
    },
    close() {
      agent.destroy();
    },
  };
}
