// Windows installers built on Linux with wixl (Debian msitools), from artifacts/win-x64/:
//   artifacts/passerelle-<version>-x64-user.msi     per-user, no administrator rights:
//       %LOCALAPPDATA%\Programs\Passerelle\, started at logon (HKCU Run)
//   artifacts/passerelle-<version>-x64-machine.msi  per-machine, for managed deployment
//       (msiexec /i … /qn [CONFIGFILE=…]): %ProgramFiles%\Passerelle\, started at every user's
//       logon (HKLM Run) with the policy file CONFIGFILE (default
//       %ProgramData%\Passerelle\config.json, installed empty-policy and never overwritten)
// Both: MajorUpgrade (one UpgradeCode per variant; a newer version replaces the older one),
// clean uninstall (files, Run value; each user's data folder stays theirs).
// Every Run value starts passerelle-background.exe (GUI subsystem, build-launcher.mjs), which
// starts passerelle.exe without a console window: no window at logon, none to close by mistake.
// The trust custom actions run through it as well (no console flash during an install).
// Trust of the local CA (made per user by the daemon, so trusted per user; installers/README.md):
//   per-user: `passerelle trust install` once the files are in (the user's Root store: Windows
//       asks the user to confirm, once; idempotent, so an upgrade says "already installed"), and
//       `trust uninstall` at uninstall, not in an upgrade's removal of the older version (msiexec
//       sets UPGRADINGPRODUCTCODE there; wine's does not, so under wine an upgrade drops the trust);
//   per-machine: no user has a CA at install time: the HKLM Run value PasserelleTrust runs
//       `passerelle trust install --wait 60` at every user's logon (trusts the CA that user's
//       daemon made: Windows asks once, at the first logon; as the macOS LaunchAgent does); its
//       uninstall takes every Passerelle CA out of the machine's Root store (`trust uninstall --machine --every-ca`, elevated), where an
//       administrator may have put some with `passerelle trust install --machine`.
// wixl (0.101) places `Before=` custom actions at sequence 1, always puts RemoveExistingProducts
// last (after InstallFinalize, ignoring MajorUpgrade/@Schedule): the actions here are `After=`.
// Why a Run value and not a Windows service: a Node single executable never calls
// StartServiceCtrlDispatcher, and Passerelle belongs in the user's session anyway.
import { execFileSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { LAUNCHER } from "./build-launcher.mjs";

const here = fileURLToPath(new URL("./", import.meta.url));
const root = fileURLToPath(new URL("../../", import.meta.url));

/** Fixed forever: MajorUpgrade finds the installed version by these. */
export const UPGRADE_CODES = {
  user: "5E1B7C3A-2F4D-4C8E-9A61-7D0B3E5F1A21",
  machine: "9C4A2E61-8B3F-4D7A-B5E2-1F6C0D9A3B47",
};
/** Component GUIDs, fixed so that upgrades and repairs recognise them. */
const COMPONENTS = {
  user: { program: "0F3E6A21-5C7B-4E19-8D2A-6B1C9E4F7A30", run: "3B8D1F47-2A6C-4E5B-9F07-C1D2E3F4A5B6" },
  machine: {
    program: "7A2C4E61-9B3D-4F18-A5C7-E2D4F6B8A1C3",
    run: "C5E7A9B1-3D2F-4A6C-8E0B-F1A3C5E7D9B2",
    policy: "2D4F6A8C-1E3B-4C5D-9A7F-B3D5F7A9C1E4",
  },
};

/** MSI versions are major.minor.build, each ≤ 255.255.65535; a prerelease suffix is dropped. */
export function msiVersion(version) {
  const match = /^(\d+)\.(\d+)\.(\d+)/.exec(version);
  if (!match) throw new Error(`not a version: ${version}`);
  return `${match[1]}.${match[2]}.${match[3]}`;
}

function escape(text) {
  return text.replaceAll("&", "&amp;").replaceAll('"', "&quot;").replaceAll("<", "&lt;");
}

export function wxs(variant, { version, exe, koffi, launcher, policy }) {
  const perUser = variant === "user";
  const ids = COMPONENTS[variant];
  // The logon starts go through the GUI-subsystem launcher: no console window (build-launcher.mjs).
  const run = perUser
    ? `"[INSTALLDIR]${LAUNCHER}" start`
    : `"[INSTALLDIR]${LAUNCHER}" start --config "[CONFIGFILE]"`;
  return `<?xml version="1.0" encoding="utf-8"?>
<Wix xmlns="http://schemas.microsoft.com/wix/2006/wi">
  <Product Id="*" Name="Passerelle" Language="1033" Version="${msiVersion(version)}"
           Manufacturer="Passerelle" UpgradeCode="${UPGRADE_CODES[variant]}">
    <Package InstallerVersion="500" Compressed="yes" InstallScope="${perUser ? "perUser" : "perMachine"}"
             Description="Passerelle ${escape(version)}: card readers and INSi for web health software" />
    <MajorUpgrade DowngradeErrorMessage="A newer Passerelle is already installed." />
    <Media Id="1" Cabinet="passerelle.cab" EmbedCab="yes" />
${
  perUser
    ? `    <CustomAction Id="TrustInstall" FileKey="PasserelleBackground" ExeCommand="trust install" Execute="deferred" Return="ignore" />
    <CustomAction Id="TrustUninstall" FileKey="PasserelleBackground" ExeCommand="trust uninstall" Execute="deferred" Return="ignore" />
    <InstallExecuteSequence>
      <Custom Action="TrustUninstall" After="UnpublishFeatures">REMOVE="ALL" AND NOT UPGRADINGPRODUCTCODE</Custom>
      <Custom Action="TrustInstall" After="InstallFiles">NOT REMOVE</Custom>
    </InstallExecuteSequence>
`
    : `    <CustomAction Id="DefaultConfigFile" Property="CONFIGFILE" Value="[POLICYDIR]config.json" />
    <CustomAction Id="TrustUninstall" FileKey="PasserelleBackground" ExeCommand="trust uninstall --machine --every-ca" Execute="deferred" Impersonate="no" Return="ignore" />
    <InstallExecuteSequence>
      <Custom Action="DefaultConfigFile" After="CostFinalize">NOT CONFIGFILE</Custom>
      <Custom Action="TrustUninstall" After="UnpublishFeatures">REMOVE="ALL" AND NOT UPGRADINGPRODUCTCODE</Custom>
    </InstallExecuteSequence>
`
}
    <Directory Id="TARGETDIR" Name="SourceDir">
${
  perUser
    ? `      <Directory Id="LocalAppDataFolder">
        <Directory Id="ProgramsFolder" Name="Programs">
          <Directory Id="INSTALLDIR" Name="Passerelle" />
        </Directory>
      </Directory>`
    : `      <Directory Id="ProgramFiles64Folder">
        <Directory Id="INSTALLDIR" Name="Passerelle" />
      </Directory>
      <Directory Id="CommonAppDataFolder">
        <Directory Id="POLICYDIR" Name="Passerelle" />
      </Directory>`
}
    </Directory>
    <DirectoryRef Id="INSTALLDIR">
      <Component Id="Program" Guid="${ids.program}" Win64="yes">
        <File Id="PasserelleExe" Name="passerelle.exe" Source="${escape(exe)}" ${perUser ? "" : 'KeyPath="yes" '}/>
        <File Id="KoffiNode" Name="koffi.node" Source="${escape(koffi)}" />
        <File Id="PasserelleBackground" Name="${LAUNCHER}" Source="${escape(launcher)}" />
${
  perUser
    ? `        <RemoveFolder Id="RemoveInstallDir" On="uninstall" />
        <RegistryValue Root="HKCU" Key="Software\\Passerelle" Name="InstallDir" Type="string" Value="[INSTALLDIR]" KeyPath="yes" />`
    : ""
}
      </Component>
      <Component Id="RunAtLogon" Guid="${ids.run}" Win64="yes">
        <RegistryValue Root="${perUser ? "HKCU" : "HKLM"}" Key="Software\\Microsoft\\Windows\\CurrentVersion\\Run"
                       Name="Passerelle" Type="string" Value="${escape(run)}" KeyPath="yes" />
${
  perUser
    ? ""
    : `        <RegistryValue Root="HKLM" Key="Software\\Microsoft\\Windows\\CurrentVersion\\Run"
                       Name="PasserelleTrust" Type="string" Value="${escape(`"[INSTALLDIR]${LAUNCHER}" trust install --wait 60`)}" />
`
}      </Component>
    </DirectoryRef>
${
  perUser
    ? ""
    : `    <DirectoryRef Id="POLICYDIR">
      <Component Id="Policy" Guid="${ids.policy}" Win64="yes" NeverOverwrite="yes" Permanent="no">
        <File Id="PolicyFile" Name="config.json" Source="${escape(policy)}" KeyPath="yes" />
      </Component>
    </DirectoryRef>
`
}    <Feature Id="Main" Level="1" Title="Passerelle">
      <ComponentRef Id="Program" />
      <ComponentRef Id="RunAtLogon" />
${perUser ? "" : `      <ComponentRef Id="Policy" />\n`}    </Feature>
  </Product>
</Wix>
`;
}

/** Builds both MSIs from artifacts/win-x64/; returns their paths. */
export function buildMsis({ artifacts = path.join(root, "artifacts"), version, out = artifacts } = {}) {
  version ??= JSON.parse(readFileSync(path.join(root, "daemon/package.json"), "utf8")).version;
  const exe = path.join(artifacts, "win-x64", "passerelle.exe");
  const koffi = path.join(artifacts, "win-x64", "koffi.node");
  const launcher = path.join(artifacts, "win-x64", LAUNCHER);
  if (!existsSync(launcher)) throw new Error(`${launcher} missing: node installers/sea.mjs --target win-x64`);
  const policy = path.join(here, "..", "linux", "config.json");
  const work = mkdtempSync(path.join(tmpdir(), "passerelle-msi-"));
  const built = [];
  try {
    for (const variant of ["user", "machine"]) {
      const source = path.join(work, `${variant}.wxs`);
      // wixl looks files up relative to its working folder: give it copies there.
      for (const [name, from] of [
        ["passerelle.exe", exe],
        ["koffi.node", koffi],
        [LAUNCHER, launcher],
        ["config.json", policy],
      ]) {
        if (!existsSync(path.join(work, name))) symlinkSync(from, path.join(work, name));
      }
      writeFileSync(
        source,
        wxs(variant, {
          version,
          exe: "passerelle.exe",
          koffi: "koffi.node",
          launcher: LAUNCHER,
          policy: "config.json",
        }),
      );
      mkdirSync(out, { recursive: true });
      const msi = path.join(out, `passerelle-${version}-x64-${variant}.msi`);
      const temporary = `${msi}.${process.pid}.tmp`;
      try {
        execFileSync("wixl", ["-a", "x64", "-o", temporary, source], {
          cwd: work,
          stdio: ["ignore", "ignore", "pipe"],
        });
      } catch (error) {
        if (error.code === "ENOENT")
          throw new Error("wixl not found (Debian: apt-get install wixl)", { cause: error });
        throw new Error(`wixl failed for ${variant}:\n${String(error.stderr)}`, { cause: error });
      }
      renameSync(temporary, msi);
      built.push(msi);
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return built;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  for (const msi of buildMsis()) console.log(msi);
}
