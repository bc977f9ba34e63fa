/**
 * Runs the macOS install.sh / uninstall.sh on Linux: a folder stands in for `/` (PASSERELLE_ROOT)
 * and the Mac's own tools are recording stubs first on PATH — `launchctl`, `codesign`, `xattr`,
 * `sysctl`, `ps`, and `stat` for `/dev/console` only (any other `stat` is the real one). Everything
 * else (install, mv, ln, file, grep…) is the real tool. Each stub appends one line to the record:
 * its name, then each argument in brackets. `codesign --sign` appends a marker line to the file it
 * signs, so a test can tell which file was signed and where it ended up.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, readFileSync, existsSync, writeFileSync } from "node:fs";
import path from "node:path";

export const SIGNED_MARK = "\n#stub: codesign --sign -\n";

export interface MacStubs {
  readonly bin: string;
  readonly record: string;
  /** The recorded lines, and empties the record. */
  take(): string[];
}

export interface MacState {
  /** Apple Silicon hardware (sysctl hw.optional.arm64 = 1). */
  arm64: boolean;
  /** The console user's uid (0: the login window, nobody logged in). */
  consoleUid: number;
  /** The uids with a loginwindow process (users logged in, fast user switching included). */
  loggedIn: number[];
}

// One write per line (O_APPEND): stubs running at once (uninstall's background steps) do not mix.
const STUB_HEAD = `#!/bin/sh
line=$(basename "$0"); for a in "$@"; do line="$line [$a]"; done; printf '%s\\n' "$line" >> "$MAC_STUB_RECORD"
`;

export function macStubs(dir: string): MacStubs {
  const bin = path.join(dir, "stub-bin");
  const record = path.join(dir, "stub-record");
  mkdirSync(bin, { recursive: true });
  const realStat = spawnSync("sh", ["-c", "command -v stat"], { encoding: "utf8" }).stdout.trim();
  const stubs: Record<string, string> = {
    launchctl: "exit 0\n",
    codesign: `case " $* " in *" --sign "*) for last; do :; done; printf '${SIGNED_MARK.replace(/\n/g, "\\n")}' >> "$last" ;; esac\nexit 0\n`,
    // No quarantine attribute on these files: xattr -d says so and fails.
    xattr: "exit 1\n",
    sysctl: `[ "$*" = "-n hw.optional.arm64" ] && [ "$MAC_ARM64" = 1 ] && { echo 1; exit 0; }\nexit 1\n`,
    ps: `for uid in $MAC_LOGGED_IN; do printf '%5s /System/Library/CoreServices/loginwindow.app/Contents/MacOS/loginwindow\\n' "$uid"; done\nprintf '%5s /usr/sbin/cfprefsd\\n' 0\n`,
  };
  for (const [name, body] of Object.entries(stubs)) {
    writeFileSync(path.join(bin, name), STUB_HEAD + body);
    chmodSync(path.join(bin, name), 0o755);
  }
  // stat: only `stat -f %u /dev/console` is the Mac's; nothing else is recorded.
  writeFileSync(
    path.join(bin, "stat"),
    `#!/bin/sh\nif [ "$*" = "-f %u /dev/console" ]; then\n${STUB_HEAD.split("\n")[1]}\n  echo "$MAC_CONSOLE_UID"; exit 0\nfi\nexec ${realStat} "$@"\n`,
  );
  chmodSync(path.join(bin, "stat"), 0o755);
  writeFileSync(record, "");
  return {
    bin,
    record,
    take() {
      const lines = existsSync(record) ? readFileSync(record, "utf8").split("\n").filter(Boolean) : [];
      writeFileSync(record, "");
      return lines;
    },
  };
}

/** The environment the stubs read, with them first on PATH and the root for the scripts. */
export function macEnv(stubs: MacStubs, root: string, state: MacState): NodeJS.ProcessEnv {
  return {
    PATH: `${stubs.bin}:${process.env["PATH"] ?? "/usr/bin:/bin"}`,
    PASSERELLE_ROOT: root,
    MAC_STUB_RECORD: stubs.record,
    MAC_ARM64: state.arm64 ? "1" : "0",
    MAC_CONSOLE_UID: String(state.consoleUid),
    MAC_LOGGED_IN: state.loggedIn.join(" "),
  };
}

/** Runs one script with `sh` (dash here; bash as /bin/sh on a Mac) against the stubs and the root. */
export function runMacScript(
  shell: string,
  script: string,
  stubs: MacStubs,
  root: string,
  state: MacState,
): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(shell, [script], {
    encoding: "utf8",
    timeout: 60_000,
    env: macEnv(stubs, root, state),
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/**
 * Adds stubs for an administrator's line typed in Terminal: `uname -m` says this Mac's CPU as a
 * native shell would (arm64 or x86_64), `sudo` runs its command as is (the test runs as root).
 */
export function addTerminalStubs(stubs: MacStubs): void {
  writeFileSync(
    path.join(stubs.bin, "uname"),
    `${STUB_HEAD}[ "$*" = "-m" ] || exit 1\nif [ "$MAC_ARM64" = 1 ]; then echo arm64; else echo x86_64; fi\n`,
  );
  writeFileSync(path.join(stubs.bin, "sudo"), `${STUB_HEAD}exec "$@"\n`);
  chmodSync(path.join(stubs.bin, "uname"), 0o755);
  chmodSync(path.join(stubs.bin, "sudo"), 0o755);
}
