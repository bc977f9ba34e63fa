/**
 * INSi: the public surface of the client. The server wires `insi.*` methods to `createInsiClient`;
 * the CPS driver implements `AssertionSigner`.
 *
 * The client and its XML and crypto stack (xmldom, xml-crypto, xpath, node-forge) are loaded on
 * first use: `createInsiClient` and `probeInsiEndpoint` are `import()`s, which the bundle keeps in its
 * one file but does not run at start, so a daemon without INSi configured never initialises them.
 * What is exported here without a function around it is light (the config schema, types); the
 * heavier helpers are the modules' own (`response.ts`, `credentials.ts`, `transport.ts`, `xml.ts`),
 * for the CLI tools and the tests that need them.
 */
import type { InsiClient, InsiClientDeps } from "./client.ts";
import type { InsiConfig } from "./config.ts";
import type * as Probe from "./probe.ts";

export type {
  InsiClient,
  InsiClientDeps,
  InsiCallContext,
  InsiVerifyInput,
  InsiVerifyResult,
} from "./client.ts";

/** The INSi client for this configuration (the client's modules are loaded by the first call). */
export async function createInsiClient(config: InsiConfig, deps: InsiClientDeps = {}): Promise<InsiClient> {
  const client = await import("./client.ts");
  return client.createInsiClient(config, deps);
}

type ProbeInsiEndpoint = typeof Probe.probeInsiEndpoint;

/** The TLS handshake with the configured endpoint, no INSi call (`passerelle doctor`). */
export async function probeInsiEndpoint(
  ...args: Parameters<ProbeInsiEndpoint>
): ReturnType<ProbeInsiEndpoint> {
  const probe = await import("./probe.ts");
  return probe.probeInsiEndpoint(...args);
}
export {
  InsiConfig,
  LpsIdentityConfig,
  insiConfigProblems,
  insiEndpoint,
  lpsFor,
  type InsiConfigInput,
} from "./config.ts";
export type { AssertionSigner, VitaleAssertionProvider } from "./signer.ts";
export type { VitaleBeneficiary, LpsIdentity } from "./envelope.ts";
export type { InsiIdentity, ResponseMeta } from "./response.ts";
export type { OrganisationCredentials } from "./credentials.ts";
export type { InsiTransport, InsiHttpRequest, InsiHttpResponse } from "./transport.ts";
export type { EndpointProbe } from "./probe.ts";
export { InvalidTraitsError } from "../ins/traits.ts";
