#!/bin/sh
# Installs Passerelle on this Mac for every user: run from the unpacked tarball with
#   sudo ./install.sh
# Files go to /Library/Application Support/Passerelle/, two LaunchAgents to /Library/LaunchAgents/
# (each user's GUI session starts them at login), `passerelle` to /usr/local/bin/:
# - fr.passerelle.daemon: the daemon (it makes the user's local CA at its first start);
# - fr.passerelle.trust: `passerelle trust install --wait 120`, which waits for that daemon and puts
#   its CA in the user's login keychain. macOS asks the user for their password then, once.
# The user logged in now gets both at once; others at their next login.
# The executable is signed ad hoc here (`codesign --sign -`): arm64 macOS runs no unsigned code, and
# injecting the application removed Node's signature. Enough for this Mac; not a Developer ID
# signature, not notarised (see installers/README.md). Re-running it upgrades in place.
# PASSERELLE_ROOT (tests only): a folder standing in for /.
set -eu
root=${PASSERELLE_ROOT:-}
here=$(cd "$(dirname "$0")" && pwd)
dir="$root/Library/Application Support/Passerelle"
agents="$root/Library/LaunchAgents"
[ "$(id -u)" -eq 0 ] || { echo "run as root: sudo $0" >&2; exit 1; }

# The right build for this Mac (a Rosetta shell says x86_64 in uname; the hardware does not lie).
if [ "$(sysctl -n hw.optional.arm64 2>/dev/null || echo 0)" = 1 ]; then mac=arm64; else mac=x86_64; fi
case "$(file -b "$here/passerelle")" in
  *arm64*)
    if [ "$mac" != arm64 ]; then
      echo "this is the Apple Silicon (arm64) build and this Mac is Intel: use passerelle-*-macos-x64.tar.gz" >&2
      exit 1
    fi ;;
  *x86_64*)
    if [ "$mac" = arm64 ]; then
      echo "note: the Intel (x64) build runs here under Rosetta 2; passerelle-*-macos-arm64.tar.gz is native"
    fi ;;
esac

console_uid=$(stat -f %u /dev/console 2>/dev/null || echo 0)
if [ "$console_uid" -ne 0 ]; then
  for label in fr.passerelle.trust fr.passerelle.daemon; do
    launchctl bootout "gui/$console_uid/$label" 2>/dev/null || true
  done
fi

mkdir -p "$dir" "$agents"
# Signed under a new name, then moved into place: the file that runs is never rewritten in place
# (macOS keeps a running file's signature; a changed file under it is killed on arm64).
for file in passerelle koffi.node; do
  staged="$dir/.$file.new"
  rm -f "$staged"
  install -m 0755 "$here/$file" "$staged"
  xattr -d com.apple.quarantine "$staged" 2>/dev/null || true
  codesign --force --sign - "$staged"
  mv -f "$staged" "$dir/$file"
done
chmod 0644 "$dir/koffi.node"
[ -f "$dir/config.json" ] || install -m 0644 "$here/config.json" "$dir/config.json"
install -m 0755 "$here/uninstall.sh" "$dir/uninstall.sh"
mkdir -p "$root/usr/local/bin"
ln -sf "/Library/Application Support/Passerelle/passerelle" "$root/usr/local/bin/passerelle"
for label in fr.passerelle.daemon fr.passerelle.trust; do
  install -m 0644 -o 0 -g 0 "$here/$label.plist" "$agents/$label.plist"
done

if [ "$console_uid" -ne 0 ]; then
  for label in fr.passerelle.daemon fr.passerelle.trust; do
    launchctl bootstrap "gui/$console_uid" "$agents/$label.plist"
  done
  echo "Passerelle started for the user logged in now; others get it at their next login."
fi
echo "At each user's first login with Passerelle, macOS asks for that user's password to trust its local CA."
