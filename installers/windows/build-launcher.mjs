// passerelle-background.exe (background.c): the GUI-subsystem launcher the Windows logon Run values
// start, so that no console window opens at logon (installers/README.md, "No window at logon").
// Built with Debian's MinGW-w64 cross compiler (gcc-mingw-w64-x86-64, installers/deps.sh).
// Reproducible: fixed flags, no symbols, no PE timestamp (--no-insert-timestamp), the source
// compiled by its relative name from its own folder: two builds give the same bytes.
import { execFileSync } from "node:child_process";
import { mkdirSync, renameSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = fileURLToPath(new URL("./", import.meta.url));
export const LAUNCHER = "passerelle-background.exe";
export const COMPILER = "x86_64-w64-mingw32-gcc";
export const FLAGS = [
  "-std=c11",
  "-O2",
  "-Wall",
  "-Wextra",
  "-Werror",
  "-municode",
  "-mwindows",
  "-static-libgcc",
  "-s",
  "-Wl,--no-insert-timestamp",
];

/** Compiles background.c into dir/passerelle-background.exe; returns its path. */
export function buildLauncher(dir) {
  mkdirSync(dir, { recursive: true });
  const launcher = path.join(dir, LAUNCHER);
  const temporary = `${launcher}.${process.pid}.tmp`;
  try {
    execFileSync(COMPILER, [...FLAGS, "-o", temporary, "background.c"], {
      cwd: here,
      stdio: ["ignore", "ignore", "pipe"],
    });
  } catch (error) {
    if (error.code === "ENOENT")
      throw new Error(`${COMPILER} not found (Debian: apt-get install gcc-mingw-w64-x86-64)`, {
        cause: error,
      });
    throw new Error(`${COMPILER} failed on background.c:\n${String(error.stderr)}`, { cause: error });
  }
  renameSync(temporary, launcher);
  return launcher;
}

/** The PE optional header's Subsystem field (2: Windows GUI, 3: console). */
export function peSubsystem(bytes) {
  const pe = bytes.readUInt32LE(0x3c);
  if (bytes.toString("latin1", pe, pe + 4) !== "PE\0\0") throw new Error("not a PE file");
  return bytes.readUInt16LE(pe + 4 + 20 + 68);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  console.log(buildLauncher(path.resolve(process.argv[2] ?? ".")));
}
