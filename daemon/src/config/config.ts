/**
 * The daemon's configuration: one zod schema for the JSON config file, merged with the command
 * line and the environment (flags > environment > file > defaults). Unknown keys are refused with
 * their path, so a typo in a deployed policy file fails loudly instead of being ignored.
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import envPaths from "env-paths";
import { z } from "zod";
import { DEFAULT_MAX_FRAME_BYTES, DEFAULT_PORT_RANGE } from "@passerelle/protocol";
import { InsiConfig } from "../insi/config.ts";

export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

/** An origin as browsers send it: scheme://host[:port], nothing else. */
export function normalizeOrigin(value: string): string | null {
  if (value.length > 300) return null;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return null;
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") return null;
  if (url.username || url.password || url.search || url.hash) return null;
  if (url.pathname !== "/" && url.pathname !== "") return null;
  // A host name of letters, digits, dots and hyphens (punycode for the others), or an IP address:
  // `new URL` accepts `*`, so a wildcard would otherwise pass and then be matched literally.
  if (
    !/^(\[[0-9a-f:.]+\]|[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*)$/.test(
      url.hostname,
    )
  )
    return null;
  // `new URL` adds a trailing slash and drops default ports: rebuild the serialised origin.
  if (value.endsWith("/")) return null;
  return url.origin === value.toLowerCase() || url.origin === value ? url.origin : null;
}

const Origin = z.string().refine((v) => normalizeOrigin(v) !== null, {
  message:
    "an origin is scheme://host[:port] with no path and no wildcard (one entry per origin), e.g. https://ehr.example.fr",
});

function isLoopbackHost(hostname: string): boolean {
  return hostname === "localhost" || hostname === "[::1]" || /^127(\.\d{1,3}){3}$/.test(hostname);
}

/**
 * What is allowed but probably not meant, one sentence each naming the key: a plain-http origin on
 * another machine (not a secure context: browsers block its requests to localhost, and its pages
 * travel unencrypted), a `pinFromPage` origin that is not allowed at all (the entry does nothing).
 */
export function configWarnings(
  config: Pick<DaemonConfig, "allowedOrigins" | "pinFromPage"> & Partial<Pick<DaemonConfig, "deniedOrigins">>,
): string[] {
  const warnings: string[] = [];
  for (const origin of config.deniedOrigins ?? []) {
    if (config.allowedOrigins.includes(origin))
      warnings.push(`deniedOrigins: ${origin} is also in allowedOrigins: it is refused (a denial wins)`);
  }
  for (const [key, origins] of [
    ["allowedOrigins", config.allowedOrigins],
    ["pinFromPage", config.pinFromPage],
  ] as const) {
    for (const origin of origins) {
      const url = new URL(origin);
      if (url.protocol === "http:" && !isLoopbackHost(url.hostname)) {
        warnings.push(
          `${key}: ${origin} is plain http on another machine: not a secure context (browsers refuse its requests to localhost) and unencrypted; use https://`,
        );
      }
    }
  }
  for (const origin of config.pinFromPage) {
    if (!config.allowedOrigins.includes(origin)) {
      warnings.push(`pinFromPage: ${origin} is not in allowedOrigins: it cannot use Passerelle at all`);
    }
  }
  return warnings;
}

export const LIMIT_DEFAULTS = {
  /** Largest WebSocket frame accepted (protocol default 64 KiB); bigger closes with 1009. */
  maxFrameBytes: DEFAULT_MAX_FRAME_BYTES,
  /** Requests per second allowed per origin, sustained (token bucket refill rate). */
  requestsPerSecond: 50,
  /** Requests per origin allowed in one burst (token bucket size). */
  requestBurst: 200,
  /** Requests a connection may have in flight at once. */
  maxInFlightPerConnection: 32,
  /** WebSocket connections allowed per origin at once. */
  maxConnectionsPerOrigin: 16,
  /** Bytes of answers that may wait for one client; past it the client is closed (1013). */
  maxQueuedBytes: 1024 * 1024,
} as const;

export const ConfigFile = z.strictObject({
  /** One port, or a range "FIRST-LAST" whose first free port is taken (default 9712-9721). */
  port: z
    .union([
      z.number().int().min(1).max(65535),
      z.string().regex(/^\d{1,5}-\d{1,5}$/, 'a range is written "FIRST-LAST", e.g. "9712-9721"'),
    ])
    .optional(),
  plaintext: z.boolean().optional(),
  /** Origins granted access without pairing (the administrator's allowlist). */
  allowedOrigins: z.array(Origin).optional(),
  /** Origins allowed to send the CPS PIN typed in their own page (cps.verifyPin with `pin`). */
  pinFromPage: z.array(Origin).optional(),
  /** Origins always refused, even if allowed or paired: the upgrade answers 403 (deny wins). */
  deniedOrigins: z.array(Origin).optional(),
  /** Pairing: an origin that is not listed asks the user on the daemon's consent page (docs/security.md). */
  pairing: z
    .strictObject({
      /** Default true; false: only `allowedOrigins` (and `--allow-origin`) ever get access. */
      enabled: z.boolean().optional(),
      /**
       * Let `http://localhost:<port>` and `http://127.0.0.1:<port>` pages pair (a web app in
       * development). Default false, true under `--simulate`. Any https origin may always ask.
       */
      localhostHttp: z.boolean().optional(),
    })
    .optional(),
  logLevel: z.enum(["error", "warn", "info", "debug"]).optional(),
  /** Open the daemon's PIN page in the user's browser when a PIN is needed (default true). */
  openPinPage: z.boolean().optional(),
  dataDir: z.string().min(1).optional(),
  logDir: z.string().min(1).optional(),
  limits: z
    .strictObject({
      maxFrameBytes: z
        .number()
        .int()
        .min(1024)
        .max(1024 * 1024)
        .optional(),
      requestsPerSecond: z.number().positive().max(10_000).optional(),
      requestBurst: z.number().int().positive().max(100_000).optional(),
      maxInFlightPerConnection: z.number().int().positive().max(1024).optional(),
      maxConnectionsPerOrigin: z.number().int().positive().max(1024).optional(),
      maxQueuedBytes: z
        .number()
        .int()
        .min(64 * 1024)
        .max(64 * 1024 * 1024)
        .optional(),
    })
    .optional(),
  /** INSi endpoints, mode, credentials and LPS identities (the insi/ concern's own schema). */
  insi: InsiConfig.optional(),
  /** Where `passerelle version --check` reads the signed update manifest (https only). */
  updates: z
    .strictObject({
      manifestUrl: z
        .string()
        .max(2000)
        .refine((value) => {
          try {
            const url = new URL(value);
            return url.protocol === "https:" && !url.username && !url.password;
          } catch {
            return false;
          }
        }, "an https:// URL without credentials"),
      timeoutMs: z.number().int().min(500).max(120_000).optional(),
    })
    .optional(),
});
export type ConfigFile = z.infer<typeof ConfigFile>;

export interface CommandLineOptions {
  simulate?: boolean;
  port?: string | number;
  plaintext?: boolean;
  allowOrigin?: string[];
  config?: string;
  dataDir?: string;
  insiRecord?: string;
  logLevel?: string;
}

export interface DaemonConfig {
  /** The first port to try; `lastPort` the last (equal for one configured port). */
  port: number;
  lastPort: number;
  plaintext: boolean;
  simulate: boolean;
  allowedOrigins: string[];
  pinFromPage: string[];
  deniedOrigins: string[];
  pairing: { enabled: boolean; localhostHttp: boolean };
  logLevel: "error" | "warn" | "info" | "debug";
  openPinPage: boolean;
  dataDir: string;
  logDir: string;
  configFile: string | null;
  limits: { -readonly [K in keyof typeof LIMIT_DEFAULTS]: number };
  insi: InsiConfig | null;
  insiRecordDir: string | null;
  updates: { manifestUrl: string; timeoutMs: number } | null;
}

const paths = envPaths("passerelle", { suffix: "" });

/** Where the config file is looked for when --config is not given. */
export const DEFAULT_CONFIG_FILE = path.join(paths.config, "config.json");

function formatIssues(file: string, error: z.ZodError): string {
  return error.issues
    .map((issue) => {
      const where = issue.path.length > 0 ? issue.path.join(".") : "(root)";
      if (issue.code === "unrecognized_keys") {
        const keys = issue.keys.map((k) => (where === "(root)" ? k : `${where}.${k}`));
        return `${file}: unknown key ${keys.join(", ")}`;
      }
      return `${file}: ${where}: ${issue.message}`;
    })
    .join("; ");
}

export function parseConfigFile(text: string, file: string): ConfigFile {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    // V8's message quotes the text around the fault: never echo the file (it may hold a passphrase,
    // and its bytes may be control characters or line breaks in what must stay one line).
    const position = /position (\d+)/.exec((error as Error).message)?.[1];
    throw new ConfigError(
      `${file}: not valid JSON${position === undefined ? (text.trim() === "" ? " (empty)" : "") : ` (at character ${position})`}`,
    );
  }
  const parsed = ConfigFile.safeParse(json);
  if (!parsed.success) throw new ConfigError(formatIssues(file, parsed.error));
  return parsed.data;
}

function readConfigFile(file: string, required: boolean): ConfigFile {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    if (!required && (error as NodeJS.ErrnoException).code === "ENOENT") return {};
    throw new ConfigError(`${file}: cannot read (${(error as NodeJS.ErrnoException).code ?? "error"})`);
  }
  return parseConfigFile(text, file);
}

/** Longest port range accepted (each port is tried in turn, and the SDK tries each one). */
export const MAX_PORT_RANGE = 100;

/** "N" (one port; 0: any free port, tests) or "FIRST-LAST" (the first free one of the range). */
export function parsePorts(value: string | number, source: string): { first: number; last: number } {
  const text = String(value);
  const range = /^(\d{1,5})-(\d{1,5})$/.exec(text);
  if (range) {
    const first = Number(range[1]);
    const last = Number(range[2]);
    if (first < 1 || last > 65535 || last < first || last - first + 1 > MAX_PORT_RANGE) {
      throw new ConfigError(
        `${source}: a port range is FIRST-LAST with 1 <= FIRST <= LAST <= 65535 and at most ${MAX_PORT_RANGE} ports, got "${text}"`,
      );
    }
    return { first, last };
  }
  const port = typeof value === "number" ? value : /^\d{1,5}$/.test(text) ? Number(text) : NaN;
  // 0 asks the system for any free port (tests); the `listening` line tells which.
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new ConfigError(
      `${source}: port must be an integer from 0 to 65535 or a range FIRST-LAST, got "${text}"`,
    );
  }
  return { first: port, last: port };
}

/** The config file in force (--config > PASSERELLE_CONFIG > the default one), read and checked. */
function loadConfigFile(
  options: Pick<CommandLineOptions, "config">,
  env: NodeJS.ProcessEnv,
): { configFile: string; explicit: boolean; file: ConfigFile } {
  const configFile = options.config ?? env["PASSERELLE_CONFIG"] ?? DEFAULT_CONFIG_FILE;
  const explicit = options.config !== undefined || env["PASSERELLE_CONFIG"] !== undefined;
  return { configFile, explicit, file: readConfigFile(configFile, explicit) };
}

/**
 * The data folder as the daemon resolves it (--data-dir > the config file's `dataDir` > the
 * per-user default), for the commands that need only that (trust, access, audit). The config file
 * is read and checked even when --data-dir is given, as resolveConfig does: an invalid one throws
 * ConfigError.
 */
export function resolveDataDir(
  options: Pick<CommandLineOptions, "config" | "dataDir">,
  env: NodeJS.ProcessEnv = process.env,
): string {
  const { file } = loadConfigFile(options, env);
  return path.resolve(options.dataDir ?? file.dataDir ?? paths.data);
}

export function resolveConfig(
  options: CommandLineOptions,
  env: NodeJS.ProcessEnv = process.env,
): DaemonConfig {
  const { configFile, explicit, file } = loadConfigFile(options, env);

  const ports =
    options.port !== undefined
      ? parsePorts(options.port, "--port")
      : env["PASSERELLE_PORT"] !== undefined
        ? parsePorts(env["PASSERELLE_PORT"], "PASSERELLE_PORT")
        : file.port !== undefined
          ? parsePorts(file.port, `${configFile}: port`)
          : DEFAULT_PORT_RANGE;

  const cliOrigins = (options.allowOrigin ?? []).map((origin) => {
    const normalized = normalizeOrigin(origin);
    if (!normalized)
      throw new ConfigError(`--allow-origin: "${origin}" is not an origin (scheme://host[:port])`);
    return normalized;
  });
  const fileOrigins = (file.allowedOrigins ?? []).map((o) => normalizeOrigin(o) as string);
  const simulate = options.simulate ?? false;
  // In simulation only, origins given on the command line may send the PIN from their page
  // (protocol-v1.md, "--simulate").
  const pinFromPage = [...(file.pinFromPage ?? []).map((o) => normalizeOrigin(o) as string)];
  if (simulate) pinFromPage.push(...cliOrigins);

  const logLevelOption = options.logLevel;
  if (logLevelOption !== undefined && !["error", "warn", "info", "debug"].includes(logLevelOption)) {
    throw new ConfigError(`--log-level: expected error, warn, info or debug, got "${logLevelOption}"`);
  }
  const dataDir = path.resolve(options.dataDir ?? file.dataDir ?? paths.data);
  return {
    port: ports.first,
    lastPort: ports.last,
    plaintext: options.plaintext ?? file.plaintext ?? false,
    simulate,
    allowedOrigins: [...new Set([...fileOrigins, ...cliOrigins])],
    pinFromPage: [...new Set(pinFromPage)],
    deniedOrigins: [...new Set((file.deniedOrigins ?? []).map((o) => normalizeOrigin(o) as string))],
    pairing: {
      enabled: file.pairing?.enabled ?? true,
      localhostHttp: file.pairing?.localhostHttp ?? simulate,
    },
    logLevel: (logLevelOption as DaemonConfig["logLevel"] | undefined) ?? file.logLevel ?? "info",
    openPinPage: file.openPinPage ?? true,
    dataDir,
    logDir: path.resolve(file.logDir ?? (options.dataDir ? path.join(dataDir, "logs") : paths.log)),
    configFile: explicit || existsSync(configFile) ? configFile : null,
    limits: mergeLimits(file.limits),
    insi: file.insi ?? null,
    insiRecordDir: options.insiRecord ? path.resolve(options.insiRecord) : null,
    updates: file.updates
      ? { manifestUrl: file.updates.manifestUrl, timeoutMs: file.updates.timeoutMs ?? 10_000 }
      : null,
  };
}

function mergeLimits(limits: ConfigFile["limits"]): DaemonConfig["limits"] {
  const merged: DaemonConfig["limits"] = { ...LIMIT_DEFAULTS };
  for (const key of Object.keys(LIMIT_DEFAULTS) as Array<keyof typeof LIMIT_DEFAULTS>) {
    const value = limits?.[key];
    if (value !== undefined) merged[key] = value;
  }
  return merged;
}
