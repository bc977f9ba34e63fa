#!/usr/bin/env bash
# The Debian/Ubuntu packages the test suite needs: the real PC/SC stack with virtual readers,
# independent judges (openssl, xmlsec1, OpenSC; rpm2cpio and cpio unpack the ANS Cryptolib; file, which the
# macOS install.sh asks for the executable's CPU), and a real browser. Installs them when run as root
# (CI, containers); otherwise stops at once and prints the exact command to run.
set -euo pipefail

PACKAGES=(pcscd libpcsclite1 vsmartcard-vpcd pcsc-tools opensc openssl xmlsec1 libxml2-utils chromium libnss3-tools ca-certificates rpm2cpio cpio cardpeek cardpeek-data file)

missing=()
for package in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

command="apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y ${missing[*]}"
if [ "$(id -u)" -eq 0 ]; then
  echo "installing system packages: ${missing[*]}" >&2
  apt-get update -q >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >&2
elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
  echo "installing system packages with sudo: ${missing[*]}" >&2
  sudo apt-get update -q >&2
  sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >&2
else
  echo "The tests need these system packages: ${missing[*]}" >&2
  echo "Install them with:" >&2
  echo "  sudo sh -c '$command'" >&2
  exit 1
fi
