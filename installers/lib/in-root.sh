#!/usr/bin/env bash
# Runs one command chrooted in a root made by debian-root.sh, with /proc, /dev and the host
# folders it needs:
#
#   installers/lib/in-root.sh DIR [--timeout SECONDS] [--bind PATH]... -- COMMAND [ARG...]
#
# Each --bind PATH is mounted at the same path inside, so file names mean the same on both sides.
# The mounts are made in a private mount namespace (unshare --mount): nothing appears in the
# host's mount table and they go away with the last process of the namespace, even after a kill,
# so no unmount step can be forgotten. The environment is passed through as it is. The command is
# bounded by --timeout (default 600 s; then SIGTERM, SIGKILL 10 s later); a SIGTERM to this
# script reaches the command. Exit status: the command's (124 on timeout).
set -euo pipefail

if [ $# -lt 1 ]; then
  echo "usage: $0 DIR [--timeout SECONDS] [--bind PATH]... -- COMMAND [ARG...]" >&2
  exit 1
fi
root=$(realpath -- "$1")
shift
limit=600
binds=()
while [ $# -gt 0 ]; do
  case $1 in
    --timeout) limit=$2; shift 2 ;;
    --bind) binds+=("$(realpath -- "$2")"); shift 2 ;;
    --) shift; break ;;
    *) echo "in-root: unknown option $1" >&2; exit 1 ;;
  esac
done
if [ $# -eq 0 ] || [ ! -f "$root/.passerelle-root" ]; then
  echo "in-root: $root is not a root made by debian-root.sh, or no command given" >&2
  exit 1
fi
for bind in "${binds[@]}"; do mkdir -p -- "$root$bind"; done

exec timeout --kill-after=10 "$limit" unshare --mount --propagation private -- /bin/sh -c '
  root=$1; count=$2; shift 2
  mount -t proc proc "$root/proc" || exit 125
  mount --rbind /dev "$root/dev" || exit 125
  while [ "$count" -gt 0 ]; do
    mount --bind "$1" "$root$1" || exit 125
    shift; count=$((count - 1))
  done
  exec chroot "$root" "$@"' sh "$root" "${#binds[@]}" "${binds[@]}" "$@"
