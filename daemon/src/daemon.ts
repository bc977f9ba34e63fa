/**
 * The composition root: builds every concern from the resolved configuration and starts the
 * server. The only file that knows all the concerns; each of them knows only its own interfaces.
 */
import { randomUUID } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import {
  AllowlistPolicy,
  DENIAL_COOLDOWN_MS,
  DenialStore,
  GrantStore,
  PairingPolicy,
  type AccessPolicy,
} from "./access/index.ts";
import { createLogger, type Logger } from "./audit/logger.ts";
import { configWarnings, type DaemonConfig } from "./config/config.ts";
import { createReaders, NoReaders, throttledDiagnostics, type Readers } from "./pcsc/index.ts";
import { recognizeCard } from "./cards/recognize.ts";
import { forgetCps } from "./cards/cpx/index.ts";
import { createPublicLayoutVitaleReader, createVitaleService } from "./cards/vitale/index.ts";
import { createSystemBackend } from "./pcsc/binding/koffi-backend.ts";
import { handlers } from "./server/methods/index.ts";
import { capabilitiesOf } from "./server/methods/system.ts";
import { AuditTrail, type AuditSink } from "./audit/audit-trail.ts";
import { createInsiClient, InsiConfig, type InsiClient } from "./insi/index.ts";
import {
  loadSimulation,
  type InsiFaultName,
  type InsiSimulator,
  type InsiSimulatorFault,
  type Lab,
  type Simulation,
} from "./simulator/index.ts";
import { PinPage } from "./server/pin-prompt.ts";
import { openInBrowser } from "./server/open-browser.ts";
import { startServer, type RunningServer } from "./server/server.ts";
import { ensureLocalTls } from "./tls/local-ca.ts";
import { webFiles } from "./runtime/index.ts";
import { removeInstanceRecord, writeInstanceRecord } from "./instance/index.ts";
import { DAEMON_VERSION } from "./version.ts";

/** The readers: the in-process lab under --simulate, otherwise the OS's PC/SC service. */
async function openReaders(
  config: DaemonConfig,
  simulation: Simulation | null,
  logger: Logger,
): Promise<{ readers: Readers; lab: Lab | null }> {
  const extendedLengthFor = (atr: Uint8Array) => recognizeCard(atr).extendedLength;
  const maxGetResponseFor = (atr: Uint8Array) => recognizeCard(atr).maxGetResponse;
  // Service lost and back, monitor and listener errors: in the log, throttled (pcsc/diagnostics.ts).
  const onDiagnostic = throttledDiagnostics(({ level, message, error, repeated }) =>
    logger[level](message, {
      ...(error === undefined ? {} : { error }),
      ...(repeated > 0 ? { repeatedSinceLastReport: repeated } : {}),
    }),
  );
  if (simulation) {
    const lab = new simulation.Lab();
    const readers = await createReaders({
      backend: lab.backend,
      extendedLengthFor,
      maxGetResponseFor,
      onDiagnostic,
    });
    const skipped = await lab.insertDefaults();
    if (skipped.length > 0) logger.warn("simulation: card profiles not in this build", { skipped });
    return { readers, lab };
  }
  let backend;
  try {
    backend = createSystemBackend();
  } catch (error) {
    // No PC/SC library on this machine (libpcsclite1 not installed), or a build without koffi's
    // native file beside it: run without readers and say why.
    const cause = error instanceof Error && error.cause instanceof Error ? error.cause.message : undefined;
    logger.error("PC/SC library not available: card methods will answer PCSC_UNAVAILABLE", {
      error,
      ...(cause ? { cause } : {}),
    });
    return { readers: new NoReaders(), lab: null };
  }
  return {
    readers: await createReaders({ backend, extendedLengthFor, maxGetResponseFor, onDiagnostic }),
    lab: null,
  };
}

/** The INSi client: the in-process simulator under --simulate, otherwise the configured service. */
async function openInsi(
  config: DaemonConfig,
  simulation: Simulation | null,
  lab: Lab | null,
  audit: AuditSink,
  logger: Logger,
  opened: Array<() => unknown>,
): Promise<{ insi: InsiClient | null; mode: InsiConfig["mode"] | null; simulator: InsiSimulator | null }> {
  if (simulation) {
    const { SIMULATED_ASSERTION_ATTRIBUTES, SIMULATOR_IDAM, simulatedVitaleAssertions } = simulation;
    const simulator = await simulation.startInsiSimulator({
      mode: "card",
      record: config.insiRecordDir ?? undefined,
    });
    opened.push(() => simulator.close());
    lab?.onInsiFault((fault) => simulator.setFault(...simulatorFaults(fault)));
    const insiConfig = InsiConfig.parse({
      mode: "card",
      endpoints: { card: simulator.url },
      attributes: { default: SIMULATED_ASSERTION_ATTRIBUTES },
      lps: {
        default: { idam: SIMULATOR_IDAM, softwareName: "Passerelle demo", softwareVersion: DAEMON_VERSION },
      },
    });
    const insi = await createInsiClient(insiConfig, {
      caPem: simulator.caPem,
      audit,
      vitaleAssertions: simulatedVitaleAssertions(),
    });
    opened.push(() => insi.close());
    logger.warn("SIMULATION: INSi calls go to the in-process INSi simulator", { url: simulator.url });
    return { insi, mode: "card", simulator };
  }
  if (!config.insi) return { insi: null, mode: null, simulator: null };
  const insi = await createInsiClient(config.insi, { audit, instance: installationInstance(config.dataDir) });
  opened.push(() => insi.close());
  for (const problem of insi.problems()) logger.warn("INSi configuration problem", { problem });
  return { insi, mode: config.insi.mode, simulator: null };
}

/**
 * ContexteLPS/LPS/Instance identifies this installation to INSi: generated once and kept in the
 * data folder, so it stays the same across restarts (`insi.instance` in the config overrides it).
 */
function installationInstance(dataDir: string): string {
  const file = path.join(dataDir, "insi-instance");
  try {
    const stored = readFileSync(file, "utf8").trim();
    if (/^[0-9a-f-]{36}$/.test(stored)) return stored;
  } catch {
    // first start: create it below
  }
  const instance = randomUUID();
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  writeFileSync(file, `${instance}\n`, { mode: 0o644 });
  return instance;
}

/** The lab panel's fault names, as the simulator's fault list. */
function simulatorFaults(fault: InsiFaultName): InsiSimulatorFault[] {
  switch (fault) {
    case "none":
      return [];
    case "delay":
      return [{ kind: "delay", ms: 3000 }];
    default:
      return [{ kind: fault }];
  }
}

export interface RunningDaemon {
  readonly url: string;
  readonly port: number;
  readonly logger: Logger;
  stop(): Promise<void>;
}

export async function startDaemon(
  config: DaemonConfig,
  logger = createLogger({ level: config.logLevel, logDir: config.logDir }),
): Promise<RunningDaemon> {
  if (config.simulate) {
    logger.warn("SIMULATION MODE: virtual cards and the INSi simulator, no real card or INSi is used");
  }
  for (const warning of configWarnings(config)) logger.warn("configuration", { warning });
  // What is open so far, closed in reverse order if a later step fails: a failed start leaves
  // nothing running (no reader monitor, audit file, INSi simulator or listening socket).
  const opened: Array<() => unknown> = [];
  try {
    return await start(config, logger, opened);
  } catch (error) {
    for (const close of opened.reverse()) {
      try {
        await close();
      } catch (closeError) {
        logger.warn("closing after a failed start failed", { error: closeError });
      }
    }
    throw error;
  }
}

async function start(
  config: DaemonConfig,
  logger: Logger,
  opened: Array<() => unknown>,
): Promise<RunningDaemon> {
  // The simulator's modules are loaded only under --simulate (simulator/index.ts).
  const simulation = config.simulate ? await loadSimulation() : null;
  const { readers, lab } = await openReaders(config, simulation, logger);
  opened.push(() => readers.close());
  // The lab's cards also carry the birth rank (a lab convention, tag 83): read it in simulation only.
  const vitale = createVitaleService({
    reader: createPublicLayoutVitaleReader(simulation ? { layout: simulation.LAB_BENEFICIARY_LAYOUT } : {}),
  });
  // Personal data read from a card leaves memory with the card.
  readers.subscribe((event) => {
    if (event.type === "card.removed" || event.type === "reader.removed") {
      vitale.forget(event.readerId);
      forgetCps(event.readerId);
    }
  });
  let server: RunningServer | null = null;
  const audit = await AuditTrail.open({
    dir: path.join(config.dataDir, "audit"),
    simulation: config.simulate,
  });
  opened.push(() => audit.close());
  const selfOrigins = () => server?.selfOrigins ?? [];
  const pairing = config.pairing.enabled
    ? new PairingPolicy({
        allowedOrigins: config.allowedOrigins,
        pinFromPage: config.pinFromPage,
        deniedOrigins: config.deniedOrigins,
        selfOrigins,
        enabled: true,
        localhostHttp: config.pairing.localhostHttp,
        store: new GrantStore(config.dataDir),
        denials: new DenialStore(config.dataDir, { cooldownMs: DENIAL_COOLDOWN_MS }),
        audit,
        logger,
        consentPageUrl: () => (server ? `${server.selfOrigins[0]}/consent.html` : null),
        open: (url) => openInBrowser(url, logger),
      })
    : null;
  const access: AccessPolicy =
    pairing ??
    new AllowlistPolicy({
      allowedOrigins: config.allowedOrigins.filter((origin) => !config.deniedOrigins.includes(origin)),
      pinFromPage: config.pinFromPage,
      selfOrigins,
    });
  const pinPage = new PinPage({
    url: () => (server ? `${server.selfOrigins[0]}/pin.html` : null),
    onChange: () => server?.notifyPinPages() ?? 0,
    isSelfOrigin: (origin) => server?.selfOrigins.includes(origin) ?? false,
    ...(config.openPinPage ? { open: (url: string) => openInBrowser(url, logger) } : {}),
  });
  if (pairing) {
    opened.push(() => pairing.close());
    // The daemon's page lists the grants: tell it when they may have changed. An origin without
    // access any more has no PIN request left on the PIN page.
    pairing.onChange((origin, access) => {
      if (access !== "granted" && access !== "pending") pinPage.cancelFor(origin);
      server?.notifySelf("access.grantsChanged", {});
    });
  }
  const { insi, mode: insiMode, simulator } = await openInsi(config, simulation, lab, audit, logger, opened);
  const tls = config.plaintext ? undefined : await ensureLocalTls(config.dataDir);
  if (tls?.generated) logger.info("generated the local CA and localhost certificate", { caFile: tls.caFile });
  server = await startServer({
    port: config.port,
    lastPort: config.lastPort,
    ...(tls ? { tls: { certPem: tls.certPem, keyPem: tls.keyPem } } : {}),
    services: {
      version: DAEMON_VERSION,
      simulation: config.simulate,
      capabilities: capabilitiesOf(handlers),
      readers,
      access,
      pairing,
      logger,
      vitale,
      audit,
      pinPage,
      insi,
      insiMode,
      lab,
      isSelfOrigin: (origin) => server?.selfOrigins.includes(origin) ?? false,
    },
    handlers,
    limits: config.limits,
    webFiles: webFiles(),
  });
  const running = server;
  logger.info("listening", { url: running.url, simulation: config.simulate });
  // For `passerelle status` and a second start: which port of the range this daemon took.
  try {
    writeInstanceRecord(config.dataDir, {
      pid: process.pid,
      port: running.port,
      url: running.url,
      version: DAEMON_VERSION,
    });
  } catch (error) {
    logger.warn("cannot write the instance record", { error });
  }
  return {
    url: running.url,
    port: running.port,
    logger,
    stop: async () => {
      removeInstanceRecord(config.dataDir);
      pairing?.close();
      await running.close();
      await readers.close();
      insi?.close();
      await simulator?.close();
      await audit.close();
    },
  };
}
