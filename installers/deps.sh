#!/usr/bin/env bash
# The Debian packages that building and testing the installers needs (not the default suite's:
# those are in scripts/system-deps.sh): dpkg-deb and systemd-analyze (usually there), osslsigncode
# (remove the Windows binary's signature before injection), wixl + msitools (MSI), wine64 (smoke
# test of the Windows executable under Debian 12's wine, the fallback), debootstrap (a throwaway
# Debian trixie root with wine 10, which starts Node 24: installers/lib/debian-root.sh),
# libnss3-tools (certutil, the trust test), gcc-mingw-w64-x86-64 (the Windows no-window launcher
# passerelle-background.exe, installers/windows/background.c).
set -euo pipefail
PACKAGES=(dpkg-dev systemd osslsigncode wixl msitools wine64 debootstrap libnss3-tools gcc-mingw-w64-x86-64)
missing=()
for package in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "Packaging needs: ${missing[*]}" >&2
  echo "  sudo sh -c 'apt-get update && apt-get install -y --no-install-recommends ${missing[*]}'" >&2
  exit 1
fi
apt-get update -q >&2
DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
