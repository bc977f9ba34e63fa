/**
 * Imported first by the CLI, before anything touches libuv's thread pool (created on first use):
 * the PC/SC reader monitor holds one pool thread for good (SCardGetStatusChange through koffi's
 * async call), and each reader with an APDU in flight holds another, next to file system work
 * (the fsynced audit trail). The default of 4 threads would make them wait on each other.
 */
export const THREADPOOL_SIZE = 8;
process.env["UV_THREADPOOL_SIZE"] ??= String(THREADPOOL_SIZE);
