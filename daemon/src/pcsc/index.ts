/**
 * The PC/SC concern's public surface. Everything else in pcsc/ is internal.
 *
 *   const readers = await createReaders({ backend: createSystemBackend() });      // real PC/SC
 *   const readers = await createReaders({ backend: new VirtualPcsc(...) });       // the lab
 */
export { createReaders, PcscReaders, type PcscReadersOptions } from "./pcsc-readers.ts";
export type { Readers, ReaderEvent, ReaderState } from "./readers.ts";
export { NoReaders } from "./readers.ts";
export type { CardChannel, CommandApdu, ResponseApdu } from "./apdu.ts";
export { SW_OK } from "./apdu.ts";
export type {
  PcscBackend,
  PcscContext,
  PcscCard,
  ReaderStateQuery,
  ReaderStateChange,
  CardStatus,
} from "./backend.ts";
export { CONTROL_TIMEOUT_MS, DEFAULT_APDU_TIMEOUT_MS } from "./card-session.ts";
export { parseAtr, type AtrInfo } from "./apdu-codec.ts";
export { pcscError, describeReturnCode, RETURN_CODES } from "./return-codes.ts";
export { createSystemBackend, KoffiPcscBackend } from "./binding/koffi-backend.ts";
export {
  scardCtlCode,
  CM_IOCTL_GET_FEATURE_REQUEST_FUNCTION,
  layoutFor,
  type PcscLayout,
} from "./binding/layout.ts";
export { DEFAULT_TRANSACTION_TIMEOUT_MS, REMOVAL_GRACE_MS } from "./pcsc-readers.ts";
export type { ApduCapabilities } from "./apdu-transport.ts";
export { throttledDiagnostics, DIAGNOSTIC_REPEAT_INTERVAL_MS, type DiagnosticReport } from "./diagnostics.ts";
