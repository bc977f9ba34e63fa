/**
 * The files a built Passerelle carries inside itself. In the source tree this is empty (`null`):
 * the daemon reads its pages from daemon/web/ and the SDK from protocol/dist/. The build
 * (scripts/build.mjs) replaces this module with one holding every file, so the bundle and the
 * single executable start from any folder.
 */
export const EMBEDDED_FILES: ReadonlyMap<string, Uint8Array> | null = null;
