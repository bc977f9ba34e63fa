#!/bin/sh
# Removes Passerelle from this Mac: sudo ./uninstall.sh (or "/Library/Application Support/Passerelle/uninstall.sh").
# Each user's data folder (~/Library/Application Support/passerelle: local CA, grants, audit trail)
# stays theirs. Remove the CA from a user's keychain in their session:
#   security delete-certificate -c "Passerelle local CA" ~/Library/Keychains/login.keychain-db
set -eu
agent=/Library/LaunchAgents/fr.passerelle.daemon.plist
[ "$(id -u)" -eq 0 ] || { echo "run as root: sudo $0" >&2; exit 1; }
for uid in $(ps -axo uid= -o comm= | awk '$2 ~ /loginwindow$/ {print $1}' | sort -u); do
  launchctl bootout "gui/$uid" "$agent" 2>/dev/null || true
done
rm -f "$agent" /usr/local/bin/passerelle
rm -rf "/Library/Application Support/Passerelle"
echo "Passerelle removed."
