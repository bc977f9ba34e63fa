/**
 * Fetches the manifest: https only (no redirect followed), bounded in time and size. The server is
 * authenticated by TLS as any https request is (system CAs, plus NODE_EXTRA_CA_CERTS where a site
 * needs its own); the manifest itself by its signature, whatever served it.
 */
import https from "node:https";
import { UpdateCheckError } from "./manifest.ts";

export const MAX_MANIFEST_BYTES = 64 * 1024;

const TLS_CODES = /CERT|SELF_SIGNED|UNABLE_TO|TLS|SSL|ERR_SSL|HOSTNAME|ALTNAME/i;

export function fetchManifest(url: string, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      return reject(new UpdateCheckError("not-configured", `not a URL: ${url.slice(0, 200)}`));
    }
    if (parsed.protocol !== "https:") {
      return reject(new UpdateCheckError("not-configured", "the update manifest URL must be https://"));
    }
    let settled = false;
    const fail = (error: UpdateCheckError) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      request.destroy();
      reject(error);
    };
    // One deadline for the whole exchange (connect, TLS, headers, body), not per socket event.
    const timer = setTimeout(
      () =>
        fail(new UpdateCheckError("timeout", `no complete answer from ${parsed.host} in ${timeoutMs} ms`)),
      timeoutMs,
    );
    const request = https.get(parsed, { headers: { Accept: "application/json" } }, (response) => {
      const status = response.statusCode ?? 0;
      if (status !== 200) {
        response.resume();
        return fail(new UpdateCheckError("http", `${parsed.host} answered HTTP ${status}`));
      }
      const chunks: Buffer[] = [];
      let size = 0;
      response.on("data", (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_MANIFEST_BYTES) {
          return fail(
            new UpdateCheckError("too-large", `the update manifest is over ${MAX_MANIFEST_BYTES} bytes`),
          );
        }
        chunks.push(chunk);
      });
      response.on("error", (error) => fail(new UpdateCheckError("network", error.message)));
      response.on("end", () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(Buffer.concat(chunks).toString("utf8"));
      });
    });
    request.on("error", (error: NodeJS.ErrnoException) => {
      const code = error.code ?? "";
      if (TLS_CODES.test(code) || TLS_CODES.test(error.message)) {
        return fail(new UpdateCheckError("tls", `TLS with ${parsed.host} failed (${code || error.message})`));
      }
      fail(new UpdateCheckError("network", `cannot reach ${parsed.host} (${code || error.message})`));
    });
  });
}
