/**
 * The error table of protocol v1: one source for the JSON-RPC code, the stable `data.reason`
 * string, and whether a web app may simply retry. The daemon, the SDK and the generated docs
 * all read this table; nothing else may define an error code.
 *
 * Retriable means "the same call can succeed later without changing it" (card re-inserted,
 * service restarted, the user is done with the other dialog). See docs/protocol.md.
 */
export const RPC_PARSE_ERROR = -32700;
export const RPC_INVALID_REQUEST = -32600;
export const RPC_METHOD_NOT_FOUND = -32601;
export const RPC_INVALID_PARAMS = -32602;
export const RPC_INTERNAL_ERROR = -32603;

interface ReasonEntry {
  readonly code: number;
  readonly retriable: boolean;
  readonly message: string;
}

export const ERROR_REASONS = {
  ACCESS_DENIED: { code: -32001, retriable: false, message: "this origin is not (yet) granted access" },
  BUSY: {
    code: -32002,
    retriable: true,
    message: "another user interaction is already pending for this origin",
  },
  RATE_LIMITED: { code: -32003, retriable: true, message: "too many requests from this origin" },
  TIMEOUT: { code: -32004, retriable: true, message: "the operation or the user did not finish in time" },
  USER_CANCELLED: { code: -32005, retriable: false, message: "the user refused or cancelled" },
  CONSENT_UNAVAILABLE: {
    code: -32006,
    retriable: true,
    message: "the daemon could not show its consent page (no desktop session to open it in)",
  },
  PCSC_UNAVAILABLE: {
    code: -32010,
    retriable: true,
    message: "the PC/SC service is not running or not reachable",
  },
  NO_READER: { code: -32011, retriable: true, message: "no reader, or the requested reader does not exist" },
  NO_CARD: { code: -32012, retriable: true, message: "no card in the reader" },
  WRONG_CARD: { code: -32013, retriable: false, message: "the card is not of the type the method needs" },
  CARD_REMOVED: { code: -32014, retriable: true, message: "the card was removed during the operation" },
  CARD_ERROR: { code: -32015, retriable: false, message: "the card answered with an error status" },
  READER_BUSY: {
    code: -32016,
    retriable: true,
    message: "the reader is held exclusively by another application",
  },
  PIN_REQUIRED: { code: -32020, retriable: false, message: "the operation needs the CPS PIN first" },
  PIN_INCORRECT: { code: -32021, retriable: false, message: "wrong PIN" },
  PIN_BLOCKED: { code: -32022, retriable: false, message: "the PIN is blocked" },
  PIN_LAST_TRY: {
    code: -32023,
    retriable: false,
    message:
      "one try left: refused unless confirmLastTry is set, and then only on the PIN pad or the PIN page",
  },
  PIN_ENTRY_UNAVAILABLE: { code: -32024, retriable: false, message: "no allowed way to enter the PIN" },
  INSI_NOT_CONFIGURED: {
    code: -32030,
    retriable: false,
    message: "no INSi endpoint or credentials configured",
  },
  INSI_UNAVAILABLE: {
    code: -32031,
    retriable: true,
    message: "network error, TLS error or timeout talking to INSi",
  },
  INSI_FAULT: { code: -32032, retriable: false, message: "INSi returned a SOAP fault" },
  INSI_INVALID_RESPONSE: {
    code: -32033,
    retriable: false,
    message: "INSi answered something that is not a valid response",
  },
  VITALE_ASSERTION_UNAVAILABLE: {
    code: -32034,
    retriable: false,
    message: "no provider for the Vitale card assertion is configured",
  },
  AUDIT_UNAVAILABLE: {
    code: -32040,
    retriable: true,
    message: "the audit trail cannot be written (disk full?): the call was not answered",
  },
} as const satisfies Record<string, ReasonEntry>;

export type ErrorReason = keyof typeof ERROR_REASONS;

export const ERROR_REASON_NAMES = Object.keys(ERROR_REASONS) as ErrorReason[];

export function isErrorReason(value: unknown): value is ErrorReason {
  return typeof value === "string" && Object.hasOwn(ERROR_REASONS, value);
}

export function reasonForCode(code: number): ErrorReason | undefined {
  return ERROR_REASON_NAMES.find((reason) => ERROR_REASONS[reason].code === code);
}

/** The `error` member of a JSON-RPC response, as the daemon sends it. */
export interface RpcErrorObject {
  code: number;
  message: string;
  data?: Record<string, unknown>;
}
