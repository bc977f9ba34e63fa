/**
 * The JSON Schema of protocol v1, generated from the zod schemas (never written by hand).
 * docs/protocol.schema.json is this function's output; a test keeps the two identical.
 */
import { z } from "zod";
import { ERROR_REASONS } from "./errors.ts";
import { ERROR_DATA, METHODS, NOTIFICATIONS, PROTOCOL_VERSION, RpcRequest } from "./schemas.ts";

export function protocolJsonSchema(): Record<string, unknown> {
  const methods: Record<string, unknown> = {};
  for (const [name, method] of Object.entries(METHODS)) {
    methods[name] = {
      preAccess: method.preAccess,
      params: z.toJSONSchema(method.params, { io: "input" }),
      result: z.toJSONSchema(method.result, { io: "output" }),
    };
  }
  const notifications: Record<string, unknown> = {};
  for (const [name, schema] of Object.entries(NOTIFICATIONS)) notifications[name] = z.toJSONSchema(schema);
  const errorData: Record<string, unknown> = {};
  for (const [reason, schema] of Object.entries(ERROR_DATA)) errorData[reason] = z.toJSONSchema(schema);
  return {
    $schema: "https://json-schema.org/draft/2020-12/schema",
    title: `Passerelle protocol ${PROTOCOL_VERSION}`,
    request: z.toJSONSchema(RpcRequest),
    methods,
    notifications,
    errors: ERROR_REASONS,
    errorData,
  };
}

export function protocolJsonSchemaText(): string {
  return `${JSON.stringify(protocolJsonSchema(), null, 2)}\n`;
}
