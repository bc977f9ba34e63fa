import daemonPackage from "../package.json" with { type: "json" };

/** The daemon's version, from daemon/package.json (inlined by the bundler in a build). */
export const DAEMON_VERSION: string = daemonPackage.version;
