/**
 * JSON-RPC 2.0 framing: turns one text frame into a validated request or the exact error response
 * the protocol demands, and turns results and errors into response objects. Pure: no sockets.
 *
 * Batches (a JSON array) are refused with -32600: every call here may touch a card or ask the user
 * something, and one-at-a-time keeps ordering, limits and audit simple (docs/protocol.md).
 */
import {
  ERROR_REASONS,
  METHODS,
  RPC_INTERNAL_ERROR,
  RPC_INVALID_PARAMS,
  RPC_INVALID_REQUEST,
  RPC_METHOD_NOT_FOUND,
  RPC_PARSE_ERROR,
  RpcRequest,
  isMethodName,
  type MethodName,
  type RequestId,
  type RpcErrorObject,
} from "@passerelle/protocol";
import type { z } from "zod";
import { InvalidParamsError, PasserelleError } from "../errors.ts";

export interface RpcResponse {
  jsonrpc: "2.0";
  id: RequestId | null;
  result?: unknown;
  error?: RpcErrorObject;
}

export type ParsedFrame =
  | { kind: "request"; id: RequestId | undefined; method: MethodName; params: Record<string, unknown> }
  | { kind: "error"; response: RpcResponse | null };

function errorResponse(id: RequestId | null, code: number, message: string, data?: Record<string, unknown>) {
  const error: RpcErrorObject = data ? { code, message, data } : { code, message };
  return { jsonrpc: "2.0" as const, id, error };
}

/** Best effort: the id of a request that failed validation, so the error can be correlated. */
function salvageId(value: unknown): RequestId | null {
  if (typeof value !== "object" || value === null || !("id" in value)) return null;
  const parsed = RpcRequest.shape.id.safeParse((value as { id: unknown }).id);
  return parsed.success && parsed.data !== undefined ? parsed.data : null;
}

export function parseFrame(text: string): ParsedFrame {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return {
      kind: "error",
      response: errorResponse(null, RPC_PARSE_ERROR, "parse error: the frame is not JSON"),
    };
  }
  if (Array.isArray(json)) {
    return {
      kind: "error",
      response: errorResponse(null, RPC_INVALID_REQUEST, "invalid request: batches are not supported"),
    };
  }
  const request = RpcRequest.safeParse(json);
  if (!request.success) {
    return {
      kind: "error",
      response: errorResponse(
        salvageId(json),
        RPC_INVALID_REQUEST,
        "invalid request: not a JSON-RPC 2.0 request",
      ),
    };
  }
  const { id, method, params } = request.data;
  if (!isMethodName(method)) {
    // A notification (no id) for an unknown method gets no answer, per JSON-RPC 2.0.
    return {
      kind: "error",
      response:
        id === undefined ? null : errorResponse(id, RPC_METHOD_NOT_FOUND, `method not found: ${method}`),
    };
  }
  return { kind: "request", id, method, params: params ?? {} };
}

export function validateParams<M extends MethodName>(
  method: M,
  params: Record<string, unknown>,
): { ok: true; value: z.output<(typeof METHODS)[M]["params"]> } | { ok: false; error: RpcErrorObject } {
  const parsed = METHODS[method].params.safeParse(params);
  if (parsed.success) return { ok: true, value: parsed.data as z.output<(typeof METHODS)[M]["params"]> };
  const issues = parsed.error.issues.map((issue) => ({
    path:
      issue.code === "unrecognized_keys" ? [...issue.path, ...issue.keys].join(".") : issue.path.join("."),
    message: issue.message,
  }));
  return {
    ok: false,
    error: { code: RPC_INVALID_PARAMS, message: `invalid params for ${method}`, data: { issues } },
  };
}

export function resultResponse(id: RequestId, result: unknown): RpcResponse {
  return { jsonrpc: "2.0", id, result };
}

/** The error object for anything a handler threw: typed errors keep their reason, others become -32603. */
export function errorFromThrown(thrown: unknown): { error: RpcErrorObject; internal: boolean } {
  if (thrown instanceof PasserelleError) {
    const data = { ...thrown.details, reason: thrown.reason, retriable: thrown.retriable };
    return { error: { code: thrown.code, message: thrown.message, data }, internal: false };
  }
  if (thrown instanceof InvalidParamsError) {
    return {
      error: { code: RPC_INVALID_PARAMS, message: "invalid params", data: { issues: [...thrown.issues] } },
      internal: false,
    };
  }
  // Never a stack trace or a message that could hold personal data.
  return { error: { code: RPC_INTERNAL_ERROR, message: "internal error" }, internal: true };
}

export function reasonError(
  id: RequestId,
  reason: keyof typeof ERROR_REASONS,
  message?: string,
  data?: Record<string, unknown>,
): RpcResponse {
  const entry = ERROR_REASONS[reason];
  return errorResponse(id, entry.code, message ?? entry.message, {
    ...data,
    reason,
    retriable: entry.retriable,
  });
}

export function errorResponseFor(id: RequestId, error: RpcErrorObject): RpcResponse {
  return { jsonrpc: "2.0", id, error };
}
