/**
 * What the running program carries and where its files are: the web pages and SDK bundle
 * (embedded in a build, read from the source tree in development) and the folder the build's
 * native files sit in (koffi.node beside the executable).
 */
export { isBuilt, webFiles, type WebFiles } from "./web-files.ts";
