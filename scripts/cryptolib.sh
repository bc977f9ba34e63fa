#!/usr/bin/env bash
# The ANS Cryptolib CPS (the official PKCS#11 middleware for CPS cards) as a test judge: extracts its
# module from the RPM in ../shared/tools/cryptolib/ into a cache folder, once, and prints the module's
# path. Never a dependency of the product; the tests that use it are skipped when it is absent
# (unless PASSERELLE_REQUIRE_CRYPTOLIB=1, as in CI, which turns its absence into a failure).
# Usage: scripts/cryptolib.sh [path-of-the-rpm]   (exit 1 with a message when the RPM is not there)
set -euo pipefail
cd "$(dirname "$0")/.."

RPM=${1:-../shared/tools/cryptolib/CryptolibCPS-5.2.2-1.x86_64.rpm}
SHA256=f4d660f9be64c2562241d40eedfc7ca585eeed9e3e3d7df86328500b34e36920
CACHE=${PASSERELLE_CRYPTOLIB_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/passerelle/cryptolib-5.2.2}
MODULE_IN_RPM=opt/santesocial/CPS/lib/libcps3_pkcs11_lux.so

if [ -f "$CACHE/$MODULE_IN_RPM" ]; then
  echo "$CACHE/$MODULE_IN_RPM"
  exit 0
fi
if [ ! -f "$RPM" ]; then
  echo "Cryptolib RPM not found at $RPM (it comes with the project's shared/tools/cryptolib/)" >&2
  exit 1
fi
actual=$(sha256sum "$RPM" | cut -d' ' -f1)
if [ "$actual" != "$SHA256" ]; then
  echo "Cryptolib RPM $RPM has sha256 $actual, expected $SHA256" >&2
  exit 1
fi
for tool in rpm2cpio cpio; do
  command -v "$tool" >/dev/null || { echo "$tool is missing (apt-get install rpm2cpio cpio)" >&2; exit 1; }
done
rpm_abs=$(cd "$(dirname "$RPM")" && pwd)/$(basename "$RPM")
staging=$(mktemp -d)
trap 'rm -rf "$staging"' EXIT
(cd "$staging" && rpm2cpio "$rpm_abs" | cpio -idm --quiet)
mkdir -p "$(dirname "$CACHE")"
rm -rf "$CACHE"
mv "$staging" "$CACHE"
trap - EXIT
echo "$CACHE/$MODULE_IN_RPM"
