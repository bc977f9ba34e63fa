#!/bin/sh
# Installs Passerelle on this Mac for every user: run from the unpacked tarball with
#   sudo ./install.sh
# Files go to /Library/Application Support/Passerelle/, the LaunchAgent to /Library/LaunchAgents/
# (each user's session starts it at login), `passerelle` to /usr/local/bin/. The executable is
# signed ad hoc here (`codesign --sign -`): enough for this Mac, not a Developer ID signature, and
# not notarised (see installers/README.md). Re-running it upgrades in place.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
dir="/Library/Application Support/Passerelle"
agent=/Library/LaunchAgents/fr.passerelle.daemon.plist
[ "$(id -u)" -eq 0 ] || { echo "run as root: sudo $0" >&2; exit 1; }

console_uid=$(stat -f %u /dev/console 2>/dev/null || echo 0)
if [ "$console_uid" -ne 0 ]; then launchctl bootout "gui/$console_uid" "$agent" 2>/dev/null || true; fi

mkdir -p "$dir"
install -m 0755 "$here/passerelle" "$dir/passerelle"
install -m 0644 "$here/koffi.node" "$dir/koffi.node"
[ -f "$dir/config.json" ] || install -m 0644 "$here/config.json" "$dir/config.json"
xattr -dr com.apple.quarantine "$dir" 2>/dev/null || true
# Injecting the application into Node's binary broke Node's signature: replace it by an ad hoc one.
codesign --remove-signature "$dir/passerelle" 2>/dev/null || true
codesign --force --sign - "$dir/passerelle"
codesign --force --sign - "$dir/koffi.node"
mkdir -p /usr/local/bin
ln -sf "$dir/passerelle" /usr/local/bin/passerelle
install -m 0644 -o root -g wheel "$here/fr.passerelle.daemon.plist" "$agent"

if [ "$console_uid" -ne 0 ]; then
  launchctl bootstrap "gui/$console_uid" "$agent"
  echo "Passerelle started for the user logged in now; others get it at their next login."
fi
echo "Trust its local CA in each user's session once it has started (asks for the user's password):"
echo "  security add-trusted-cert -r trustRoot -k ~/Library/Keychains/login.keychain-db \\"
echo "    ~/Library/Application\\ Support/passerelle/tls/passerelle-local-ca.pem"
