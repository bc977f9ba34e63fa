/**
 * The composition root: builds every concern from the resolved configuration and starts the
 * server. The only file that knows all the concerns; each of them knows only its own interfaces.
 */
import path from "node:path";
import { fileURLToPath } from "node:url";
import { AllowlistPolicy } from "./access/access-policy.ts";
import { createLogger, type Logger } from "./audit/logger.ts";
import type { DaemonConfig } from "./config/config.ts";
import { NoReaders, type Readers } from "./pcsc/readers.ts";
import { handlers } from "./server/methods/index.ts";
import { startServer, type RunningServer } from "./server/server.ts";
import { ensureLocalTls } from "./tls/local-ca.ts";
import { DAEMON_VERSION } from "./version.ts";

export interface RunningDaemon {
  readonly url: string;
  readonly port: number;
  readonly logger: Logger;
  stop(): Promise<void>;
}

export const WEB_ROOT = fileURLToPath(new URL("../web/", import.meta.url));
export const SDK_BUNDLE = fileURLToPath(new URL("../../protocol/dist/passerelle-client.js", import.meta.url));

export async function startDaemon(
  config: DaemonConfig,
  logger = createLogger({ level: config.logLevel, logDir: config.logDir }),
): Promise<RunningDaemon> {
  if (config.simulate) {
    logger.warn("SIMULATION MODE: virtual cards and the INSi simulator, no real card or INSi is used");
  }
  const readers: Readers = new NoReaders();
  let server: RunningServer | null = null;
  const access = new AllowlistPolicy({
    allowedOrigins: config.allowedOrigins,
    pinFromPage: config.pinFromPage,
    selfOrigins: () => server?.selfOrigins ?? [],
  });
  const tls = config.plaintext ? undefined : ensureLocalTls(config.dataDir);
  if (tls?.generated) logger.info("generated the local CA and localhost certificate", { caFile: tls.caFile });
  try {
    server = await startServer({
      port: config.port,
      ...(tls ? { tls: { certPem: tls.certPem, keyPem: tls.keyPem } } : {}),
      services: { version: DAEMON_VERSION, simulation: config.simulate, readers, access, logger },
      handlers,
      limits: config.limits,
      webRoot: path.resolve(WEB_ROOT),
      sdkFile: SDK_BUNDLE,
    });
  } catch (error) {
    await readers.close();
    throw error;
  }
  const running = server;
  logger.info("listening", { url: running.url, simulation: config.simulate });
  return {
    url: running.url,
    port: running.port,
    logger,
    stop: async () => {
      await running.close();
      await readers.close();
    },
  };
}
