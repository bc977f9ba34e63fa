#!/bin/sh
# Removes Passerelle from this Mac: sudo ./uninstall.sh (or "/Library/Application Support/Passerelle/uninstall.sh").
# - For each user logged in now: both LaunchAgents stopped, and `passerelle trust uninstall` run in
#   their session (their local CA out of their login keychain, with its trust settings; macOS may ask
#   them for their password: it runs in the background so that this script does not wait for them).
# - The LaunchAgents, the executable, /usr/local/bin/passerelle, and the per-user LaunchAgents that
#   `passerelle service install` wrote for this executable.
# - Kept: each user's data folder (~/Library/Application Support/passerelle: local CA, grants, audit
#   trail) — the clinic's record. A user not logged in now keeps the CA in their login keychain; it
#   cannot sign anything (its private key was never written down) and names only localhost. They
#   remove it in their session with:
#     security delete-certificate -t -c "Passerelle local CA" ~/Library/Keychains/login.keychain-db
# PASSERELLE_ROOT (tests only): a folder standing in for /.
set -eu
root=${PASSERELLE_ROOT:-}
dir="$root/Library/Application Support/Passerelle"
installed="/Library/Application Support/Passerelle/passerelle"
agents="$root/Library/LaunchAgents"
[ "$(id -u)" -eq 0 ] || { echo "run as root: sudo $0" >&2; exit 1; }

pids=""
for uid in $(ps -axo uid= -o comm= | awk '$2 ~ /loginwindow$/ {print $1}' | sort -u); do
  for label in fr.passerelle.trust fr.passerelle.daemon; do
    launchctl bootout "gui/$uid/$label" 2>/dev/null || true
  done
  if [ -x "$dir/passerelle" ]; then
    launchctl asuser "$uid" sudo -u "#$uid" -H "$installed" trust uninstall </dev/null >/dev/null 2>&1 &
    pids="$pids $!"
  fi
done
# At most 60 s for them (a prompt nobody answers must not hold the uninstall); by then each has
# started, and removing the file under a running process is safe.
waited=0
for pid in $pids; do
  while kill -0 "$pid" 2>/dev/null && [ "$waited" -lt 60 ]; do sleep 1; waited=$((waited + 1)); done
done

for plist in "$root"/Users/*/Library/LaunchAgents/fr.passerelle.daemon.plist; do
  if [ -f "$plist" ] && grep -qF "<string>$installed</string>" "$plist"; then rm -f "$plist"; fi
done
rm -f "$agents/fr.passerelle.daemon.plist" "$agents/fr.passerelle.trust.plist" "$root/usr/local/bin/passerelle"
rm -rf "$dir"
echo "Passerelle removed. Each user's data folder stays (~/Library/Application Support/passerelle)."
