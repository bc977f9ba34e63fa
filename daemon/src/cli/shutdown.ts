/**
 * `passerelle start` on SIGINT/SIGTERM: stop the daemon once (a second signal while stopping is
 * ignored), close the log, then exit — 0 when everything closed, 1 with one line on stderr when
 * closing failed (the exit codes of docs/admin-guide.md). Whatever happens, the process exits: a
 * failure while stopping is never left as an unhandled rejection or a process that hangs.
 */
import type { RunningDaemon } from "../daemon.ts";

export interface ShutdownIo {
  exit(code: number): void;
  writeError(line: string): void;
}

const processIo: ShutdownIo = {
  exit: (code) => process.exit(code),
  writeError: (line) => process.stderr.write(line),
};

/** The signal handler for a running daemon. */
export function shutdownOnSignal(
  running: Pick<RunningDaemon, "stop" | "logger">,
  io: ShutdownIo = processIo,
): (signal: string) => Promise<void> {
  let stopping: Promise<void> | undefined;
  return (signal) => {
    stopping ??= (async () => {
      running.logger.info("stopping", { signal });
      let code = 0;
      try {
        await running.stop();
      } catch (error) {
        code = 1;
        running.logger.error("stopping failed", { error });
        io.writeError(`passerelle: stopping failed: ${(error as Error)?.message ?? String(error)}\n`);
      }
      try {
        await running.logger.close();
      } catch {
        // the log is what failed: stderr already has the line above, if any
      }
      io.exit(code);
    })();
    return stopping;
  };
}
