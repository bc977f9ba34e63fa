import { accessHandlers } from "./access.ts";
import { readerHandlers } from "./readers.ts";
import { systemHandlers } from "./system.ts";
import type { Handlers } from "./types.ts";

export type { CallContext, ConnectionHandle, Handler, Handlers, Services } from "./types.ts";

/** Every method this build answers. A contract method missing here answers -32601. */
export const handlers: Handlers = { ...systemHandlers, ...accessHandlers, ...readerHandlers };
