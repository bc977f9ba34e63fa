/**
 * INSi: the public surface of the client. The server wires `insi.*` methods to `createInsiClient`;
 * the CPS driver implements `AssertionSigner`; the CLI uses `parseInsiResponse`.
 */
export {
  createInsiClient,
  type InsiClient,
  type InsiClientDeps,
  type InsiCallContext,
  type InsiVerifyInput,
  type InsiVerifyResult,
} from "./client.ts";
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
export { parseInsiResponse, type InsiIdentity, type ResponseMeta } from "./response.ts";
export {
  loadOrganisationCredentials,
  ORGANISATION_CNS,
  type OrganisationCredentials,
} from "./credentials.ts";
export {
  createHttpsTransport,
  type InsiTransport,
  type InsiHttpRequest,
  type InsiHttpResponse,
} from "./transport.ts";
export { MAX_RESPONSE_BYTES } from "./xml.ts";
export { probeInsiEndpoint, type EndpointProbe } from "./probe.ts";
export { InvalidTraitsError } from "../ins/traits.ts";
