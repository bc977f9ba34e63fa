/**
 * The composition root: builds every concern from the resolved configuration and starts the
 * server. The only file that knows all the concerns; each of them knows only its own interfaces.
 */
import path from "node:path";
import { fileURLToPath } from "node:url";
import { AllowlistPolicy } from "./access/access-policy.ts";
import { createLogger, type Logger } from "./audit/logger.ts";
import type { DaemonConfig } from "./config/config.ts";
import { createReaders, NoReaders, type Readers } from "./pcsc/index.ts";
import { recognizeCard } from "./cards/recognize.ts";
import { createPublicLayoutVitaleReader, createVitaleService } from "./cards/vitale/index.ts";
import { createSystemBackend } from "./pcsc/binding/koffi-backend.ts";
import { handlers } from "./server/methods/index.ts";
import { capabilitiesOf } from "./server/methods/system.ts";
import { Lab } from "./simulator/lab.ts";
import { AuditTrail } from "./audit/audit-trail.ts";
import { PinPage } from "./server/pin-prompt.ts";
import { openInBrowser } from "./server/open-browser.ts";
import { startServer, type RunningServer } from "./server/server.ts";
import { ensureLocalTls } from "./tls/local-ca.ts";
import { DAEMON_VERSION } from "./version.ts";

/** The readers: the in-process lab under --simulate, otherwise the OS's PC/SC service. */
async function openReaders(
  config: DaemonConfig,
  logger: Logger,
): Promise<{ readers: Readers; lab: Lab | null }> {
  const extendedLengthFor = (atr: Uint8Array) => recognizeCard(atr).extendedLength;
  if (config.simulate) {
    const lab = new Lab();
    const readers = await createReaders({ backend: lab.backend, extendedLengthFor });
    const skipped = await lab.insertDefaults();
    if (skipped.length > 0) logger.warn("simulation: card profiles not in this build", { skipped });
    return { readers, lab };
  }
  let backend;
  try {
    backend = createSystemBackend();
  } catch (error) {
    // No PC/SC library on this machine (libpcsclite1 not installed): run without readers and say so.
    logger.error("PC/SC library not available: card methods will answer PCSC_UNAVAILABLE", { error });
    return { readers: new NoReaders(), lab: null };
  }
  return { readers: await createReaders({ backend, extendedLengthFor }), lab: null };
}

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
  const { readers, lab } = await openReaders(config, logger);
  const vitale = createVitaleService({ reader: createPublicLayoutVitaleReader() });
  // Personal data read from a card leaves memory with the card.
  readers.subscribe((event) => {
    if (event.type === "card.removed" || event.type === "reader.removed") vitale.forget(event.readerId);
  });
  let server: RunningServer | null = null;
  const access = new AllowlistPolicy({
    allowedOrigins: config.allowedOrigins,
    pinFromPage: config.pinFromPage,
    selfOrigins: () => server?.selfOrigins ?? [],
  });
  const audit = await AuditTrail.open({ dir: path.join(config.dataDir, "audit") });
  const pinPage = new PinPage({
    url: () => (server ? `${server.selfOrigins[0]}/pin.html` : null),
    onChange: () => server?.notifySelf("pin.requested", {}),
    ...(config.openPinPage ? { open: (url: string) => openInBrowser(url, logger) } : {}),
  });
  const tls = config.plaintext ? undefined : ensureLocalTls(config.dataDir);
  if (tls?.generated) logger.info("generated the local CA and localhost certificate", { caFile: tls.caFile });
  try {
    server = await startServer({
      port: config.port,
      ...(tls ? { tls: { certPem: tls.certPem, keyPem: tls.keyPem } } : {}),
      services: {
        version: DAEMON_VERSION,
        simulation: config.simulate,
        capabilities: capabilitiesOf(handlers),
        readers,
        access,
        logger,
        vitale,
        audit,
        pinPage,
        lab,
        isSelfOrigin: (origin) => server?.selfOrigins.includes(origin) ?? false,
      },
      handlers,
      limits: config.limits,
      webRoot: path.resolve(WEB_ROOT),
      sdkFile: SDK_BUNDLE,
    });
  } catch (error) {
    await readers.close();
    await audit.close();
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
      await audit.close();
    },
  };
}
