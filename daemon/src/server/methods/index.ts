import { accessHandlers } from "./access.ts";
import { cpsHandlers } from "./cps.ts";
import { insiHandlers } from "./insi.ts";
import { pinHandlers } from "./pin.ts";
import { labHandlers } from "./lab.ts";
import { vitaleHandlers } from "./vitale.ts";
import { readerHandlers } from "./readers.ts";
import { systemHandlers } from "./system.ts";
import type { Handlers } from "./types.ts";

export type { CallContext, ConnectionHandle, Handler, Handlers, LabControl, Services } from "./types.ts";

/** Every method this build answers. A contract method missing here answers -32601. */
export const handlers: Handlers = {
  ...systemHandlers,
  ...accessHandlers,
  ...readerHandlers,
  ...vitaleHandlers,
  ...cpsHandlers,
  ...insiHandlers,
  ...pinHandlers,
  ...labHandlers,
};
