/**
 * `passerelle service install|uninstall|status`: start Passerelle at this user's login, per OS, as a
 * list of steps (files to write or remove, commands to run, notes), so that what would run on
 * Windows or macOS is known and tested here. One step, one line of output.
 *
 * - Linux: a systemd user unit in ~/.config/systemd/user/, `systemctl --user enable --now`; where the
 *   package installed the unit for every user, that one is used; with no user manager (no systemd,
 *   a session without one), an XDG autostart entry in ~/.config/autostart/ instead.
 * - Windows: the value `Passerelle` under HKCU\Software\Microsoft\Windows\CurrentVersion\Run (what the
 *   per-user MSI writes; the per-machine MSI writes it under HKLM, and then install adds nothing:
 *   it is already started for everyone). It starts
 *   passerelle-background.exe, the launcher beside passerelle.exe that starts it with no console
 *   window (installers/windows/background.c).
 * - macOS: a LaunchAgent in ~/Library/LaunchAgents/, `launchctl bootstrap gui/<uid>`.
 */
import path from "node:path";

export type ServiceAction = "install" | "uninstall" | "status";
export type ServiceOs = "linux" | "win32" | "darwin";

export type Step =
  /** Writes `content` to `path` (done; already when it holds exactly that). */
  | { kind: "write"; what: string; path: string; content: string }
  /** Removes `path` (done; already when absent). */
  | { kind: "remove"; what: string; path: string }
  /** Runs `argv`; `ok`: exit codes that count as done; `already`: exit codes that mean nothing to do. */
  | { kind: "run"; what: string; argv: string[]; ok?: number[]; already?: number[] }
  /** Status: runs `argv`, the outcome is its first output line; exit 0 counts as "yes". */
  | { kind: "ask"; what: string; argv: string[]; needed: boolean }
  /** Status: whether `path` exists. */
  | { kind: "exists"; what: string; path: string; needed: boolean }
  | { kind: "note"; what: string; text: string };

export interface ServiceContext {
  os: ServiceOs;
  home: string;
  /** The user's id (macOS launchctl domain). */
  uid: number;
  /** How to run this `passerelle` (argv before `start`). */
  command: string[];
  /** A configuration file to pass to the daemon (PASSERELLE_CONFIG), if any. */
  configFile: string | null;
  /** Linux: a systemd user manager answers (`systemctl --user show-environment`). */
  userSystemd: boolean;
  /** The per-machine start the installers set up, if present (unit, LaunchAgent, HKLM Run value). */
  machineWide: string | null;
  /** XDG_CONFIG_HOME, when set. */
  xdgConfigHome?: string;
}

export const UNIT_NAME = "passerelle.service";
export const AGENT_LABEL = "fr.passerelle.daemon";
export const RUN_KEY = "HKCU\\Software\\Microsoft\\Windows\\CurrentVersion\\Run";
export const RUN_VALUE = "Passerelle";

/** One argument as systemd's ExecStart= reads it (quotes, backslashes, and % for specifiers). */
function systemdArg(arg: string): string {
  const escaped = arg.replace(/%/g, "%%");
  return /^[\w/.:=+@-]+$/.test(escaped) ? escaped : `"${escaped.replace(/(["\\])/g, "\\$1")}"`;
}

/** One argument for a desktop entry's Exec= key (freedesktop quoting). */
function desktopArg(arg: string): string {
  return /^[\w/.:=+@-]+$/.test(arg) ? arg : `"${arg.replace(/(["`$\\])/g, "\\$1")}"`;
}

/** One argument for a Windows command line (CommandLineToArgvW quoting). */
export function windowsArg(arg: string): string {
  if (arg !== "" && !/[\s"]/.test(arg)) return arg;
  return `"${arg.replace(/(\\*)"/g, '$1$1\\"').replace(/(\\+)$/, "$1$1")}"`;
}

function xmlText(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

export function systemdUnit(context: ServiceContext): string {
  const exec = [...context.command, "start"].map(systemdArg).join(" ");
  return [
    "# Written by `passerelle service install` (removed by `passerelle service uninstall`).",
    "[Unit]",
    "Description=Passerelle: Vitale and CPS card readers and INSi for web health software",
    "After=pcscd.socket",
    "",
    "[Service]",
    "Type=exec",
    ...(context.configFile ? [`Environment=${systemdArg(`PASSERELLE_CONFIG=${context.configFile}`)}`] : []),
    `ExecStart=${exec}`,
    "Restart=on-failure",
    "RestartSec=5",
    "# 3: the port is held by another program, 4: invalid configuration, 5: already running.",
    "RestartPreventExitStatus=3 4 5",
    "",
    "[Install]",
    "WantedBy=default.target",
    "",
  ].join("\n");
}

export function autostartEntry(context: ServiceContext): string {
  const exec = [...context.command, "start"].map(desktopArg).join(" ");
  const env = context.configFile ? `env ${desktopArg(`PASSERELLE_CONFIG=${context.configFile}`)} ` : "";
  return [
    "[Desktop Entry]",
    "Type=Application",
    "Name=Passerelle",
    "Comment=Card readers and INSi for web health software",
    `Exec=${env}${exec}`,
    "Terminal=false",
    "NoDisplay=true",
    "X-GNOME-Autostart-enabled=true",
    "",
  ].join("\n");
}

export function launchAgent(context: ServiceContext): string {
  const args = [...context.command, "start"].map((arg) => `    <string>${xmlText(arg)}</string>`);
  const env = context.configFile
    ? [
        "  <key>EnvironmentVariables</key>",
        "  <dict>",
        "    <key>PASSERELLE_CONFIG</key>",
        `    <string>${xmlText(context.configFile)}</string>`,
        "  </dict>",
      ]
    : [];
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">',
    "<!-- Written by `passerelle service install` (removed by `passerelle service uninstall`). -->",
    '<plist version="1.0">',
    "<dict>",
    "  <key>Label</key>",
    `  <string>${AGENT_LABEL}</string>`,
    "  <key>ProgramArguments</key>",
    "  <array>",
    ...args,
    "  </array>",
    ...env,
    "  <key>RunAtLoad</key>",
    "  <true/>",
    "  <key>KeepAlive</key>",
    "  <dict>",
    "    <key>SuccessfulExit</key>",
    "    <false/>",
    "  </dict>",
    "  <key>LimitLoadToSessionType</key>",
    "  <string>Aqua</string>",
    "  <key>ProcessType</key>",
    "  <string>Interactive</string>",
    "</dict>",
    "</plist>",
    "",
  ].join("\n");
}

export function servicePaths(context: ServiceContext) {
  const config = context.xdgConfigHome ?? path.join(context.home, ".config");
  return {
    unit: path.join(config, "systemd", "user", UNIT_NAME),
    autostart: path.join(config, "autostart", "passerelle.desktop"),
    agent: path.join(context.home, "Library", "LaunchAgents", `${AGENT_LABEL}.plist`),
  };
}

function linuxPlan(action: ServiceAction, context: ServiceContext): Step[] {
  const paths = servicePaths(context);
  const systemctl = (...args: string[]) => ["systemctl", "--user", ...args];
  if (action === "status") {
    return [
      ...(context.machineWide
        ? [{ kind: "note", what: "package unit", text: `${context.machineWide} (for every user)` } as const]
        : []),
      { kind: "exists", what: "user unit", path: paths.unit, needed: false },
      ...(context.userSystemd
        ? [
            { kind: "ask", what: "enabled", argv: systemctl("is-enabled", UNIT_NAME), needed: true } as const,
            { kind: "ask", what: "running", argv: systemctl("is-active", UNIT_NAME), needed: false } as const,
          ]
        : [
            { kind: "note", what: "systemd", text: "no user manager in this session" } as const,
            { kind: "exists", what: "autostart", path: paths.autostart, needed: true } as const,
          ]),
    ];
  }
  if (action === "install") {
    if (!context.userSystemd) {
      return [
        {
          kind: "note",
          what: "systemd",
          text: "no user manager in this session: the desktop's autostart starts Passerelle at login instead (run `passerelle start` now)",
        },
        { kind: "write", what: "autostart", path: paths.autostart, content: autostartEntry(context) },
      ];
    }
    if (context.machineWide) {
      return [
        {
          kind: "note",
          what: "package unit",
          text: `${context.machineWide} is installed for every user: using it`,
        },
        { kind: "run", what: "enable --now", argv: systemctl("enable", "--now", UNIT_NAME) },
      ];
    }
    return [
      { kind: "write", what: "user unit", path: paths.unit, content: systemdUnit(context) },
      { kind: "run", what: "daemon-reload", argv: systemctl("daemon-reload") },
      { kind: "run", what: "enable --now", argv: systemctl("enable", "--now", UNIT_NAME) },
    ];
  }
  const steps: Step[] = [];
  if (context.userSystemd) {
    steps.push({
      kind: "run",
      what: "disable --now",
      argv: systemctl("disable", "--now", UNIT_NAME),
      ok: [0, 1],
    });
  }
  steps.push({ kind: "remove", what: "user unit", path: paths.unit });
  if (context.userSystemd)
    steps.push({ kind: "run", what: "daemon-reload", argv: systemctl("daemon-reload") });
  steps.push({ kind: "remove", what: "autostart", path: paths.autostart });
  if (context.machineWide) {
    steps.push({
      kind: "note",
      what: "package unit",
      text: `${context.machineWide} is enabled for every user by the package; to keep it off for this user: systemctl --user mask ${UNIT_NAME}`,
    });
  }
  return steps;
}

/** The installed launcher beside passerelle.exe that starts it without a console window. */
export const WINDOWS_LAUNCHER = "passerelle-background.exe";

/**
 * What the Run value starts: passerelle.exe is a console program, so started as is at logon it
 * opens a console window (closing it ends the daemon); the single executable is started through
 * the GUI-subsystem launcher installed beside it instead. Run through node (development), as is.
 */
export function windowsLogonCommand(command: string[]): string[] {
  const [program, ...rest] = command;
  if (program === undefined || rest.length > 0) return command;
  if (path.win32.basename(program).toLowerCase() !== "passerelle.exe") return command;
  return [path.win32.join(path.win32.dirname(program), WINDOWS_LAUNCHER)];
}

function windowsPlan(action: ServiceAction, context: ServiceContext): Step[] {
  const value = [...windowsLogonCommand(context.command), "start"].map(windowsArg).join(" ");
  const machine = context.machineWide
    ? [
        {
          kind: "note",
          what: "machine-wide",
          text: `${context.machineWide} starts it for every user`,
        } as const,
      ]
    : [];
  switch (action) {
    case "status":
      return [
        ...machine,
        { kind: "ask", what: "Run value", argv: ["reg", "query", RUN_KEY, "/v", RUN_VALUE], needed: true },
      ];
    case "install":
      // The per-machine MSI's HKLM value already starts it at every logon: a value of this user's
      // too would start a second daemon, which exits 5 (already running) and is logged as failed.
      if (context.machineWide)
        return [
          {
            kind: "note",
            what: "machine-wide",
            text: `already started for everyone at logon by ${context.machineWide}: no Run value added for this user`,
          },
        ];
      // reg add /f replaces the value: running it again changes nothing.
      return [
        ...machine,
        {
          kind: "run",
          what: "Run value",
          argv: ["reg", "add", RUN_KEY, "/v", RUN_VALUE, "/t", "REG_SZ", "/d", value, "/f"],
        },
        { kind: "note", what: "start", text: "at the next logon (run `passerelle start` to start it now)" },
      ];
    case "uninstall":
      // reg delete exits 1 when the value is not there.
      return [
        {
          kind: "run",
          what: "Run value",
          argv: ["reg", "delete", RUN_KEY, "/v", RUN_VALUE, "/f"],
          already: [1],
        },
        ...machine,
      ];
  }
}

function macosPlan(action: ServiceAction, context: ServiceContext): Step[] {
  const { agent } = servicePaths(context);
  const domain = `gui/${context.uid}`;
  const machine = context.machineWide
    ? [
        {
          kind: "note",
          what: "machine-wide",
          text: `${context.machineWide} starts it for every user`,
        } as const,
      ]
    : [];
  switch (action) {
    case "status":
      return [
        ...machine,
        { kind: "exists", what: "LaunchAgent", path: agent, needed: true },
        {
          kind: "ask",
          what: "loaded",
          argv: ["launchctl", "print", `${domain}/${AGENT_LABEL}`],
          needed: false,
        },
      ];
    case "install":
      return [
        ...machine,
        { kind: "write", what: "LaunchAgent", path: agent, content: launchAgent(context) },
        // Unloaded first so that a changed plist is read again (not loaded: exit 3 or 113).
        {
          kind: "run",
          what: "bootout",
          argv: ["launchctl", "bootout", `${domain}/${AGENT_LABEL}`],
          already: [3, 36, 113],
        },
        { kind: "run", what: "bootstrap", argv: ["launchctl", "bootstrap", domain, agent] },
      ];
    case "uninstall":
      return [
        {
          kind: "run",
          what: "bootout",
          argv: ["launchctl", "bootout", `${domain}/${AGENT_LABEL}`],
          already: [3, 36, 113],
        },
        { kind: "remove", what: "LaunchAgent", path: agent },
        ...machine,
      ];
  }
}

export function planService(action: ServiceAction, context: ServiceContext): Step[] {
  switch (context.os) {
    case "linux":
      return linuxPlan(action, context);
    case "win32":
      return windowsPlan(action, context);
    case "darwin":
      return macosPlan(action, context);
  }
}
