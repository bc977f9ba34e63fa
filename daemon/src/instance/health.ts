/**
 * Is a Passerelle answering on this loopback port? GET /health over TLS, then over plain HTTP (a
 * daemon started with --plaintext), with the daemon's own page as Origin so that a Passerelle tells
 * its version. The certificate is not checked: nothing is sent but the request line, and the answer
 * only words a message (never a decision about trust).
 */
import http from "node:http";
import https from "node:https";

export interface HealthAnswer {
  /** It answered 200 `{"status":"ok"}` as a Passerelle does. */
  readonly passerelle: boolean;
  readonly version: string | null;
  readonly scheme: "https" | "http";
  /** HTTP status (403: a Passerelle of another user, or anything that refuses us). */
  readonly status: number;
}

function get(scheme: "https" | "http", port: number, timeoutMs: number): Promise<HealthAnswer | null> {
  return new Promise((resolve) => {
    const origin = `${scheme}://localhost:${port}`;
    const options = {
      host: "127.0.0.1",
      port,
      path: "/health",
      headers: { Host: `localhost:${port}`, Origin: origin },
      timeout: timeoutMs,
    };
    const onResponse = (response: http.IncomingMessage) => {
      let body = "";
      response.setEncoding("utf8");
      response.on("data", (chunk: string) => {
        if (body.length < 4096) body += chunk;
      });
      response.on("error", () => resolve(null));
      response.on("end", () => {
        let parsed: { status?: unknown; daemon?: { name?: unknown; version?: unknown } } = {};
        try {
          parsed = JSON.parse(body) as typeof parsed;
        } catch {
          // not JSON: not a Passerelle
        }
        const status = response.statusCode ?? 0;
        const passerelle = status === 200 && parsed.status === "ok";
        const version =
          parsed.daemon?.name === "passerelle" && typeof parsed.daemon.version === "string"
            ? parsed.daemon.version.slice(0, 40)
            : null;
        resolve({ passerelle, version, scheme, status });
      });
    };
    const request =
      scheme === "https"
        ? https.get({ ...options, rejectUnauthorized: false, servername: "localhost" }, onResponse)
        : http.get(options, onResponse);
    request.on("timeout", () => request.destroy(new Error("timed out")));
    request.on("error", () => resolve(null));
  });
}

/** The /health answer on 127.0.0.1:`port`, or null when nothing answers HTTP(S) in time. */
export async function askHealth(port: number, timeoutMs = 1500): Promise<HealthAnswer | null> {
  return (await get("https", port, timeoutMs)) ?? (await get("http", port, timeoutMs));
}
