/**
 * `passerelle doctor`'s look at the INSi endpoint: one TLS handshake with the configured credentials
 * (the CA bundle; in organisation mode the INSI-AUTO/INSI-MANU certificate as the client
 * certificate) and, on that connection, one HTTP `HEAD` of the endpoint URL, whose answer proves the
 * server accepted the handshake (a TLS 1.3 server refuses a client certificate only after it) and
 * whose `Date` header gives the clock skew. No SOAP body is sent: no INSi operation is called,
 * nothing is traced by INSi as a call, nothing is written to the audit trail.
 */
import { readFileSync } from "node:fs";
import https from "node:https";
import type { TLSSocket } from "node:tls";
import type { InsiConfig } from "./config.ts";
import { insiEndpoint } from "./config.ts";
import { loadOrganisationCredentials } from "./credentials.ts";

export interface EndpointProbe {
  /** The endpoint URL probed. */
  readonly url: string;
  /** The handshake and the HEAD answer came through. */
  readonly ok: boolean;
  /** What went wrong, in one line (when !ok). */
  readonly problem?: string;
  /** The TLS version agreed (TLSv1.2, TLSv1.3). */
  readonly protocol?: string;
  /** The server certificate's subject CN and its end of validity. */
  readonly serverCertificate?: { readonly subject: string; readonly validTo: string };
  /** A client certificate was sent (organisation mode). */
  readonly clientCertificate: boolean;
  /** The HEAD answer's HTTP status (any status: the server answered). */
  readonly status?: number;
  /** Server clock minus this workstation's (ms), from the answer's Date header (1 s resolution). */
  readonly skewMs?: number;
}

/** The TLS material the INSi client would use for this configuration (client.ts does the same). */
function tlsMaterial(config: InsiConfig): { ca?: string; cert?: string; key?: string } {
  const material: { ca?: string; cert?: string; key?: string } = {};
  if (config.caBundlePath !== undefined) material.ca = readFileSync(config.caBundlePath, "utf8");
  if (config.mode === "organisation" && config.organisation !== undefined) {
    const passphrase =
      config.organisation.passphraseEnv !== undefined
        ? process.env[config.organisation.passphraseEnv]
        : config.organisation.passphrase;
    const credentials = loadOrganisationCredentials(readFileSync(config.organisation.pkcs12Path), passphrase);
    material.cert = credentials.certChainPem;
    material.key = credentials.keyPem;
  }
  return material;
}

/** One line for a connection failure, from Node's error codes. */
function describe(error: NodeJS.ErrnoException): string {
  const code = error.code ?? "";
  if (code === "ECONNREFUSED") return "connection refused (nothing listens there)";
  if (code === "ENOTFOUND" || code === "EAI_AGAIN") return "the host name does not resolve";
  if (code === "TIMEOUT") return error.message;
  // An alert is the server refusing us (our certificate, or the protocol); a verification code is
  // us refusing the server's certificate.
  if (/ALERT|EPROTO/.test(code) || /alert/i.test(error.message))
    return `the TLS handshake failed (${code || error.message}): the server refused this workstation's certificate or protocol`;
  if (/CERT|SIGNATURE|ISSUER|SELF_SIGNED/.test(code))
    return `the server's certificate is refused (${code}): check insi.caBundlePath`;
  if (code === "ECONNRESET") return "the server closed the connection during the handshake";
  return `${code || "error"}: ${error.message}`;
}

export async function probeInsiEndpoint(
  config: InsiConfig,
  options: { timeoutMs?: number; now?: () => number } = {},
): Promise<EndpointProbe | null> {
  const url = insiEndpoint(config);
  if (url === undefined) return null;
  const timeoutMs = options.timeoutMs ?? config.timeouts.connectMs + config.timeouts.responseMs;
  const now = options.now ?? Date.now;
  let material: ReturnType<typeof tlsMaterial>;
  try {
    material = tlsMaterial(config);
  } catch (error) {
    return {
      url,
      ok: false,
      clientCertificate: false,
      problem: `the credentials cannot be loaded: ${(error as Error).message}`,
    };
  }
  const clientCertificate = material.cert !== undefined;
  return new Promise((resolve) => {
    let settled = false;
    let protocol: string | undefined;
    let serverCertificate: EndpointProbe["serverCertificate"];
    const done = (result: Omit<EndpointProbe, "url" | "clientCertificate">) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      request.destroy();
      resolve({
        url,
        clientCertificate,
        ...(protocol === undefined ? {} : { protocol }),
        ...(serverCertificate === undefined ? {} : { serverCertificate }),
        ...result,
      });
    };
    const request = https.request(url, {
      method: "HEAD",
      agent: false,
      ...material,
      headers: { "user-agent": "passerelle-doctor" },
    });
    const timer = setTimeout(() => {
      const error: NodeJS.ErrnoException = new Error(
        `no answer from ${new URL(url).host} in ${timeoutMs} ms`,
      );
      error.code = "TIMEOUT";
      done({ ok: false, problem: describe(error) });
    }, timeoutMs);
    request.on("socket", (socket) => {
      socket.once("secureConnect", () => {
        const tls = socket as TLSSocket;
        protocol = tls.getProtocol() ?? undefined;
        const peer = tls.getPeerCertificate();
        if (peer && peer.subject)
          serverCertificate = { subject: String(peer.subject.CN ?? ""), validTo: peer.valid_to };
      });
    });
    request.on("error", (error: NodeJS.ErrnoException) => done({ ok: false, problem: describe(error) }));
    request.on("response", (response) => {
      const received = now();
      response.resume();
      const date = Date.parse(response.headers.date ?? "");
      done({
        ok: true,
        status: response.statusCode ?? 0,
        // Date is truncated to its second: its middle is the best estimate of the server's time.
        ...(Number.isNaN(date) ? {} : { skewMs: date + 500 - received }),
      });
    });
    request.end();
  });
}
