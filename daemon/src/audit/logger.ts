/**
 * The operational log: winston, JSON lines to the per-OS log folder with daily rotation, and a
 * human-readable console on stderr (stdout is reserved for the CLI's own output, e.g.
 * `listening <url>`). Every entry passes through `redact` before any transport sees it.
 * The audit trail (audit-trail.ts) is a separate, fsynced writer, not this log.
 */
import { mkdirSync } from "node:fs";
import winston from "winston";
import DailyRotateFile from "winston-daily-rotate-file";
import { redact, redactString } from "./redact.ts";

export type LogLevel = "error" | "warn" | "info" | "debug";

export interface Logger {
  error(message: string, meta?: Record<string, unknown>): void;
  warn(message: string, meta?: Record<string, unknown>): void;
  info(message: string, meta?: Record<string, unknown>): void;
  debug(message: string, meta?: Record<string, unknown>): void;
  /** Resolves once everything logged so far is written to the files. */
  close(): Promise<void>;
}

/** Log files are kept this long, and rotated at this size. */
export const LOG_RETENTION = "14d";
export const LOG_MAX_SIZE = "10m";

const redaction = winston.format((info) => {
  const { level, message, ...meta } = info;
  const clean = redact(meta) as Record<string, unknown>;
  const out = Object.assign(info, clean) as winston.Logform.TransformableInfo;
  for (const key of Object.keys(meta)) out[key] = clean[key];
  out.level = level;
  out.message = typeof message === "string" ? redactString(message) : redact(message);
  return out;
});

export interface LoggerOptions {
  level: LogLevel;
  /** Folder for the JSON-lines files; none: console only. */
  logDir?: string;
  /** Console output on stderr. Default: true. */
  console?: boolean;
}

export function createLogger(options: LoggerOptions): Logger {
  const transports: winston.transport[] = [];
  let file: DailyRotateFile | undefined;
  if (options.logDir) {
    mkdirSync(options.logDir, { recursive: true, mode: 0o700 });
    file = new DailyRotateFile({
      dirname: options.logDir,
      filename: "passerelle-%DATE%.log",
      datePattern: "YYYY-MM-DD",
      maxFiles: LOG_RETENTION,
      maxSize: LOG_MAX_SIZE,
      format: winston.format.combine(winston.format.timestamp(), winston.format.json()),
    });
    transports.push(file);
  }
  if (options.console !== false) {
    const human = process.stderr.isTTY
      ? winston.format.combine(winston.format.colorize(), winston.format.simple())
      : winston.format.combine(winston.format.timestamp(), winston.format.json());
    transports.push(
      new winston.transports.Console({
        format: human,
        stderrLevels: ["error", "warn", "info", "debug"],
      }),
    );
  }
  const logger = winston.createLogger({ level: options.level, format: redaction(), transports });
  return {
    error: (message, meta) => logger.error(message, meta),
    warn: (message, meta) => logger.warn(message, meta),
    info: (message, meta) => logger.info(message, meta),
    debug: (message, meta) => logger.debug(message, meta),
    close: async () => {
      // Let winston hand every pending entry to the transports, then end the file stream itself:
      // DailyRotateFile.close() emits "finish" only once its underlying file stream has ended.
      const drained = new Promise<void>((resolve) => logger.once("finish", () => resolve()));
      logger.end();
      await drained;
      if (file) {
        const transport = file;
        await new Promise<void>((resolve) => {
          transport.once("finish", () => resolve());
          transport.close?.();
        });
      }
    },
  };
}

/** A logger that drops everything (unit tests of other concerns). */
export const silentLogger: Logger = {
  error: () => undefined,
  warn: () => undefined,
  info: () => undefined,
  debug: () => undefined,
  close: async () => undefined,
};
