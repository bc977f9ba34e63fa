/**
 * `passerelle lab insi [--port N] [--mode cps|organisation] [--record DIR]`: runs the INSi simulator
 * alone, on 127.0.0.1, until SIGINT/SIGTERM. Prints one line `listening <url>` on stdout when ready.
 * `--write-credentials DIR` writes what a client needs to talk to it: the CA certificate (ca.pem)
 * and, for organisation mode, an INSI-AUTO PKCS#12 (insi-auto.p12) and its passphrase
 * (insi-auto.passphrase) — all from the simulator's run-time test PKI. `--trust-ca FILE` adds a CA
 * whose CPS signature certificates are accepted (e.g. the card lab's test root).
 */
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { InvalidArgumentError, Option, type Command } from "commander";
import { SIMULATOR_IDAM, startInsiSimulator, type InsiSimulatorMode } from "../simulator/insi/server.ts";
import { getInsiTestPki } from "../simulator/insi/test-pki.ts";

function labCommand(program: Command): Command {
  return (
    program.commands.find((command) => command.name() === "lab") ??
    program
      .command("lab")
      .description("the virtual card lab (virtual cards on the real pcscd, INSi simulator)")
  );
}

function parsePort(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65_535)
    throw new InvalidArgumentError("a TCP port (0: any free port)");
  return port;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

interface LabInsiOptions {
  port: number;
  mode: "cps" | "card" | "organisation";
  record?: string;
  writeCredentials?: string;
  idam: string[];
  trustCa: string[];
}

export function registerLabInsi(program: Command): Command {
  return labCommand(program)
    .command("insi")
    .description("run the INSi simulator alone (HTTPS SOAP 1.2 on 127.0.0.1)")
    .option("--port <n>", "TCP port (default: any free port)", parsePort, 0)
    .addOption(
      new Option("--mode <mode>", "cps: assertion PS signed by a CPS; organisation: mutual TLS")
        .choices(["cps", "card", "organisation"])
        .default("cps"),
    )
    .option("--record <dir>", "save every request received to this folder")
    .option(
      "--write-credentials <dir>",
      "write ca.pem (and an INSI-AUTO PKCS#12 for organisation mode) to this folder",
    )
    .option(
      "--idam <idam>",
      `an IDAM the simulator knows (repeatable; default ${SIMULATOR_IDAM})`,
      collect,
      [],
    )
    .option(
      "--trust-ca <file>",
      "also trust this CA (PEM) for assertion PS signatures and client certificates (repeatable)",
      collect,
      [],
    )
    .action(async (options: LabInsiOptions) => {
      const mode: InsiSimulatorMode = options.mode === "organisation" ? "organisation" : "card";
      const pki = getInsiTestPki();
      const extraCas = await Promise.all(options.trustCa.map((file) => readFile(file, "utf8")));
      const simulator = await startInsiSimulator({
        port: options.port,
        mode,
        pki,
        record: options.record,
        trustedCaPems: [pki.caPem, ...extraCas],
        ...(options.idam.length > 0 ? { idams: options.idam } : {}),
      });
      if (options.writeCredentials !== undefined) {
        const dir = options.writeCredentials;
        await mkdir(dir, { recursive: true, mode: 0o700 });
        await writeFile(join(dir, "ca.pem"), simulator.caPem);
        if (mode === "organisation") {
          const auto = simulator.pki.organisation("INSI-AUTO");
          await writeFile(join(dir, "insi-auto.p12"), auto.pkcs12, { mode: 0o600 });
          await writeFile(join(dir, "insi-auto.passphrase"), auto.passphrase, { mode: 0o600 });
        }
      }
      process.stdout.write(`listening ${simulator.url}\n`);
      await new Promise<void>((resolve) => {
        process.once("SIGINT", resolve);
        process.once("SIGTERM", resolve);
      });
      await simulator.close();
    });
}
