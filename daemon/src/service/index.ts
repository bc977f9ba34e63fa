/**
 * Start at login, per user: builds the plan for this OS (plan.ts) from what the machine has, and
 * carries it out one step per line. Exit codes (docs/admin-guide.md): install/uninstall 0, or 1 when
 * a step failed; status 0 when Passerelle starts at this user's login, 1 when it does not.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import sea from "node:sea";
import { RUN_VALUE, type ServiceAction, type ServiceContext, type ServiceOs, type Step } from "./plan.ts";

export {
  autostartEntry,
  launchAgent,
  planService,
  servicePaths,
  systemdUnit,
  windowsArg,
  windowsLogonCommand,
  WINDOWS_LAUNCHER,
  type ServiceAction,
  type ServiceContext,
  type ServiceOs,
  type Step,
} from "./plan.ts";

export interface RunResult {
  status: number | null;
  stdout: string;
  stderr: string;
  /** Set when the command could not be run at all (not installed: ENOENT). */
  error?: string;
}
export type Runner = (argv: string[]) => RunResult;

const COMMAND_TIMEOUT_MS = 20_000;

export const systemRunner: Runner = (argv) => {
  const result = spawnSync(argv[0]!, argv.slice(1), { encoding: "utf8", timeout: COMMAND_TIMEOUT_MS });
  return {
    status: result.status,
    stdout: result.stdout ?? "",
    stderr: result.stderr ?? "",
    ...(result.error ? { error: (result.error as NodeJS.ErrnoException).code ?? result.error.message } : {}),
  };
};

/** How this very `passerelle` is started: the single executable, or node with its script. */
export function currentCommand(): string[] {
  if (sea.isSea()) return [realpathSync(process.execPath)];
  const script = process.argv[1] ? realpathSync(process.argv[1]) : "";
  return [process.execPath, ...process.execArgv, script];
}

const MACHINE_UNITS = ["/etc/systemd/user/passerelle.service", "/usr/lib/systemd/user/passerelle.service"];
const MACHINE_AGENT = "/Library/LaunchAgents/fr.passerelle.daemon.plist";
const HKLM_RUN = "HKLM\\Software\\Microsoft\\Windows\\CurrentVersion\\Run";

/** What this machine has, asked of it (only for the OS it runs on). */
export function detectContext(
  options: { configFile: string | null; os?: ServiceOs },
  run: Runner = systemRunner,
  env: NodeJS.ProcessEnv = process.env,
): ServiceContext {
  const here = process.platform as ServiceOs;
  const target = options.os ?? here;
  const foreign = target !== here;
  let userSystemd = true;
  let machineWide: string | null = null;
  if (!foreign && target === "linux") {
    userSystemd = run(["systemctl", "--user", "show-environment"]).status === 0;
    machineWide = MACHINE_UNITS.find((unit) => existsSync(unit)) ?? null;
  } else if (!foreign && target === "darwin") {
    machineWide = existsSync(MACHINE_AGENT) ? MACHINE_AGENT : null;
  } else if (!foreign && target === "win32") {
    machineWide =
      run(["reg", "query", HKLM_RUN, "/v", RUN_VALUE]).status === 0 ? `${HKLM_RUN}\\${RUN_VALUE}` : null;
  }
  return {
    os: target,
    // Only an absolute HOME: an empty or relative one would put the files under the current folder.
    home: env["HOME"] && path.isAbsolute(env["HOME"]) ? env["HOME"] : os.homedir(),
    uid: typeof process.getuid === "function" ? process.getuid() : 0,
    command: currentCommand(),
    configFile: options.configFile ? path.resolve(options.configFile) : null,
    userSystemd,
    machineWide,
    ...(env["XDG_CONFIG_HOME"] && path.isAbsolute(env["XDG_CONFIG_HOME"])
      ? { xdgConfigHome: env["XDG_CONFIG_HOME"] }
      : {}),
  };
}

function firstLine(text: string): string {
  return (text.trim().split("\n")[0] ?? "").trim().slice(0, 200);
}

/** What a step would do, for --dry-run. */
export function describeStep(step: Step): string {
  switch (step.kind) {
    case "write":
      return `${step.what}: would write ${step.path}`;
    case "remove":
      return `${step.what}: would remove ${step.path}`;
    case "run":
    case "ask":
      return `${step.what}: would run ${step.argv.join(" ")}`;
    case "exists":
      return `${step.what}: would look for ${step.path}`;
    case "note":
      return `${step.what}: ${step.text}`;
  }
}

/** Carries out the steps; one line each. `ok`: no step failed (install/uninstall), or it is set (status). */
export function carryOut(
  action: ServiceAction,
  steps: Step[],
  context: Pick<ServiceContext, "machineWide" | "os">,
  run: Runner = systemRunner,
): { lines: string[]; ok: boolean } {
  const lines: string[] = [];
  let failed = false;
  let missing = false;
  for (const step of steps) {
    switch (step.kind) {
      case "note":
        lines.push(`${step.what}: ${step.text}`);
        break;
      case "write": {
        let current: string | null;
        try {
          current = readFileSync(step.path, "utf8");
        } catch {
          current = null;
        }
        if (current === step.content) {
          lines.push(`${step.what}: already ${step.path}`);
          break;
        }
        try {
          mkdirSync(path.dirname(step.path), { recursive: true });
          writeFileSync(step.path, step.content, { mode: 0o644 });
          lines.push(`${step.what}: ${current === null ? "written" : "updated"} ${step.path}`);
        } catch (error) {
          failed = true;
          lines.push(
            `${step.what}: failed (${(error as NodeJS.ErrnoException).code ?? "error"} ${step.path})`,
          );
        }
        break;
      }
      case "remove":
        if (!existsSync(step.path)) {
          lines.push(`${step.what}: already absent`);
          break;
        }
        try {
          rmSync(step.path, { force: true });
          lines.push(`${step.what}: removed ${step.path}`);
        } catch (error) {
          failed = true;
          lines.push(
            `${step.what}: failed (${(error as NodeJS.ErrnoException).code ?? "error"} ${step.path})`,
          );
        }
        break;
      case "run": {
        const result = run(step.argv);
        const detail = firstLine(result.stderr) || firstLine(result.stdout);
        if (result.error) {
          failed = true;
          lines.push(`${step.what}: failed (${step.argv[0]}: ${result.error})`);
        } else if (result.status !== null && (step.already ?? []).includes(result.status)) {
          lines.push(`${step.what}: already`);
        } else if (result.status !== null && (step.ok ?? [0]).includes(result.status)) {
          lines.push(`${step.what}: done`);
        } else {
          failed = true;
          lines.push(
            `${step.what}: failed (${step.argv.join(" ")}: exit ${result.status}${detail ? `, ${detail}` : ""})`,
          );
        }
        break;
      }
      case "ask": {
        const result = run(step.argv);
        const yes = !result.error && result.status === 0;
        if (step.needed && !yes) missing = true;
        const answer = result.error
          ? `unknown (${step.argv[0]}: ${result.error})`
          : firstLine(result.stdout) || firstLine(result.stderr) || (yes ? "yes" : "no");
        lines.push(`${step.what}: ${answer}`);
        break;
      }
      case "exists": {
        const yes = existsSync(step.path);
        if (step.needed && !yes) missing = true;
        lines.push(`${step.what}: ${yes ? step.path : "absent"}`);
        break;
      }
    }
  }
  // Linux asks systemd, which counts the package's global enablement; elsewhere the per-machine
  // start (HKLM Run value, /Library/LaunchAgents) starts it whatever the user's own entry says.
  if (action === "status")
    return { lines, ok: !missing || (context.os !== "linux" && context.machineWide !== null) };
  return { lines, ok: !failed };
}
