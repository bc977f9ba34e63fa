/**
 * The upgrade gate: decides, from the TCP peer and the request headers alone, whether an HTTP
 * request or a WebSocket upgrade may proceed. Pure, so every rule is unit-tested.
 *
 * - Peer: loopback only (we also bind to loopback; this is the second lock).
 * - Host: exactly one header, exactly localhost:<port>, 127.0.0.1:<port> or [::1]:<port>. Anything
 *   else means DNS rebinding (an attacker's name resolving to 127.0.0.1) and is refused (Jackson et
 *   al., Stanford). Node keeps only the first of several Host headers: a second one, which a proxy
 *   or another parser might read instead, is refused rather than ignored.
 * - Origin (WebSocket only): present, well formed, eligible under the access policy. WebSockets are
 *   not covered by the same-origin policy, so this is the CSWSH defence (CWE-1385).
 */
import { normalizeOrigin } from "../config/config.ts";

export type GateDecision = { ok: true; origin: string | null } | { ok: false; status: 403; why: string };

export function isLoopbackAddress(address: string | undefined): boolean {
  if (!address) return false;
  if (address === "::1") return true;
  const v4 = address.startsWith("::ffff:") ? address.slice(7) : address;
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(v4);
}

export function isAllowedHost(host: string | undefined, port: number): boolean {
  if (!host) return false;
  const lower = host.toLowerCase();
  return lower === `localhost:${port}` || lower === `127.0.0.1:${port}` || lower === `[::1]:${port}`;
}

export interface GateInput {
  remoteAddress: string | undefined;
  host: string | undefined;
  origin: string | undefined;
  port: number;
  /** How many Host headers the request carried (from rawHeaders); absent: one. */
  hostHeaders?: number;
}

/** How many times a header appears in Node's rawHeaders (name, value, name, value…). */
export function countHeader(rawHeaders: readonly string[], name: string): number {
  let count = 0;
  for (let i = 0; i < rawHeaders.length; i += 2) if (rawHeaders[i]?.toLowerCase() === name) count += 1;
  return count;
}

/**
 * The WebSocket subprotocols a client offered (Sec-WebSocket-Protocol, possibly repeated and
 * comma-separated), true when `wanted` is among them.
 */
export function offersSubprotocol(header: string | string[] | undefined, wanted: string): boolean {
  if (header === undefined) return false;
  const values = Array.isArray(header) ? header : [header];
  return values.some((value) => value.split(",").some((item) => item.trim() === wanted));
}

/** For plain HTTP requests (/health, the page): peer and Host only; Origin is optional. */
export function checkHttpRequest(input: GateInput): GateDecision {
  if (!isLoopbackAddress(input.remoteAddress)) return { ok: false, status: 403, why: "non-loopback peer" };
  if ((input.hostHeaders ?? 1) > 1) return { ok: false, status: 403, why: "duplicate Host header" };
  if (!isAllowedHost(input.host, input.port)) return { ok: false, status: 403, why: "foreign Host header" };
  const origin = input.origin === undefined ? null : normalizeOrigin(input.origin);
  return { ok: true, origin };
}

/** For the WebSocket upgrade: peer, Host, and an eligible Origin. */
export function checkUpgrade(input: GateInput, eligible: (origin: string) => boolean): GateDecision {
  const http = checkHttpRequest(input);
  if (!http.ok) return http;
  if (input.origin === undefined) return { ok: false, status: 403, why: "missing Origin" };
  if (http.origin === null) return { ok: false, status: 403, why: "malformed Origin" };
  if (!eligible(http.origin)) return { ok: false, status: 403, why: "origin not eligible" };
  return { ok: true, origin: http.origin };
}
