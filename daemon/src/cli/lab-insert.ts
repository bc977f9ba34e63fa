/**
 * `passerelle lab insert --slot 0|1 --card <profile>`: plugs a lab card into the real pcscd through
 * vpcd (the vsmartcard virtual reader) and keeps it inserted until the process ends (SIGINT or
 * SIGTERM closes the socket: pcscd sees the card removed). Prints one line on stdout once vpcd
 * accepted the card: `inserted <profile> slot <n> port <port>`; on exit, the bridge's own APDU
 * handling time on stderr.
 */
import { InvalidArgumentError, type Command } from "commander";
import { createEmulator, profileNames } from "../simulator/profiles.ts";
import "../simulator/builtin-profiles.ts";
import { VpcdBridge } from "../simulator/vpcd-bridge.ts";

/** Debian's /etc/reader.conf.d/vpcd declares one vpcd device with two slots. */
export const LAB_SLOTS = [0, 1] as const;

function parseSlot(value: string): number {
  const slot = Number(value);
  if (!LAB_SLOTS.includes(slot as 0 | 1))
    throw new InvalidArgumentError(`slot must be ${LAB_SLOTS.join(" or ")}`);
  return slot;
}

/** The `lab` command group, shared with other lab subcommands (`lab insi`). */
function labCommand(program: Command): Command {
  return (
    program.commands.find((command) => command.name() === "lab") ??
    program
      .command("lab")
      .description("the virtual card lab (virtual cards on the real pcscd, INSi simulator)")
  );
}

export function registerLabInsert(program: Command): Command {
  return labCommand(program)
    .command("insert")
    .description("insert a virtual card into pcscd's virtual reader (vpcd) until this process ends")
    .requiredOption("--slot <n>", "vpcd slot: 0 (TCP 35963) or 1 (TCP 35964)", parseSlot)
    .requiredOption("--card <profile>", "card profile (listed below)")
    .action(async (options: { slot: number; card: string }) => {
      let emulator;
      try {
        emulator = await createEmulator(options.card);
      } catch (error) {
        process.stderr.write(`passerelle: ${(error as Error).message}\n`);
        process.exit(2);
      }
      let stopping = false;
      const bridge = new VpcdBridge({
        emulator,
        slot: options.slot,
        onStateChange: (state) => {
          if (!stopping) {
            process.stderr.write(
              `lab: slot ${options.slot} ${state === "connected" ? "inserted" : "vpcd closed, reconnecting"}\n`,
            );
          }
        },
      });
      await bridge.start();
      process.stdout.write(`inserted ${options.card} slot ${options.slot} port ${bridge.port}\n`);
      const stop = (): void => {
        stopping = true;
        const stats = bridge.stats();
        process.stderr.write(
          `lab: ${stats.apdus} APDUs, bridge handling mean ${stats.meanMicros.toFixed(0)} µs, max ${stats.maxMicros.toFixed(0)} µs, TCP_QUICKACK ${stats.quickAck ? "on" : "unavailable"}\n`,
        );
        void bridge.close().finally(() => process.exit(0));
      };
      process.once("SIGINT", stop);
      process.once("SIGTERM", stop);
    })
    .addHelpText("after", () => `\nProfiles: ${profileNames().join(", ")}`);
}
