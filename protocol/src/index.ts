export * from "./errors.ts";
export * from "./schemas.ts";
export { PasserelleClient, PasserelleError, rateLimitedWait } from "./client.ts";
export type {
  ClientOptions,
  ConnectionState,
  ProbeResult,
  UnreachableReason,
  WebSocketLike,
  WebSocketFactory,
} from "./client.ts";
export * from "./identity/index.ts";
