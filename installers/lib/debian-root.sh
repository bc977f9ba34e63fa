#!/usr/bin/env bash
# Builds a throwaway Debian root with debootstrap, for tests that need another Debian release than
# the host's without touching the host's libc (a newer wine from trixie; a clean bookworm to
# `apt install ./passerelle_*.deb` into):
#
#   installers/lib/debian-root.sh SUITE DIR [PACKAGE...]
#
# Idempotent and cached: DIR/.passerelle-root records the suite and the packages; a second call
# with the same ones does nothing, one with more packages installs only those. The root is built
# in DIR.partial and renamed to DIR when complete, so an interrupted build leaves no half root
# behind as DIR. Concurrent calls for the same DIR wait for each other (flock on DIR.lock).
# Every step is bounded by a timeout and printed on stderr. Needs root and debootstrap.
#
# Exit status: 0 ready; 1 failed (a step's output says why); 3 the mirror cannot be reached (the
# message says so and names the command to retry), so callers can fall back and say why.
#
# Environment: DEBIAN_MIRROR (default http://deb.debian.org/debian), DEBIAN_ROOT_TIMEOUT (seconds
# per step, default 900).
#
# To run something inside, with /proc, /dev and chosen host folders, see in-root.sh beside this.
set -euo pipefail

if [ $# -lt 2 ]; then
  echo "usage: $0 SUITE DIR [PACKAGE...]" >&2
  exit 1
fi
suite=$1
dir=$(realpath -m -- "$2")
shift 2
packages=("$@")
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
step_timeout=${DEBIAN_ROOT_TIMEOUT:-900}

say() { echo "debian-root: $*" >&2; }

if [ "$(id -u)" -ne 0 ]; then
  say "needs root (debootstrap and chroot)"
  exit 1
fi
if ! command -v debootstrap >/dev/null; then
  say "debootstrap missing: apt-get install -y debootstrap (installers/deps.sh installs it)"
  exit 1
fi

# The stamp: suite, mirror-independent; packages sorted, one a line.
wanted=$(printf '%s\n' "suite=$suite" $(printf '%s\n' "${packages[@]}" | sort -u))
stamp="$dir/.passerelle-root"

mkdir -p "$(dirname "$dir")"
exec 9>"$dir.lock"
if ! timeout "$step_timeout" flock 9; then
  say "another build of $dir held $dir.lock for more than ${step_timeout}s"
  exit 1
fi

if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$wanted" ]; then
  say "$dir: $suite root ready (cached)"
  exit 0
fi

reachable() {
  timeout 30 debootstrap --version >/dev/null 2>&1 || return 1
  if command -v curl >/dev/null; then
    curl -fsS --max-time 20 -o /dev/null "$mirror/dists/$suite/Release"
  else
    timeout 20 wget -q -O /dev/null "$mirror/dists/$suite/Release"
  fi
}
if ! reachable 2>/dev/null; then
  say "cannot reach $mirror/dists/$suite/Release: no $suite root"
  say "  retry when the mirror is reachable: $0 $suite $dir ${packages[*]}"
  exit 3
fi

# Runs "$@" chrooted in $1 with /proc and /dev, in a private mount namespace: the mounts vanish
# with the namespace, whatever happens to this script.
in_root() {
  local root=$1
  shift
  timeout --kill-after=30 "$step_timeout" unshare --mount --propagation private -- \
    /bin/sh -c 'root=$1; shift
      mount -t proc proc "$root/proc" && mount --rbind /dev "$root/dev" &&
      exec chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
        DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8 "$@"' sh "$root" "$@"
}

if [ -f "$stamp" ] && [ "$(head -n1 "$stamp")" = "suite=$suite" ]; then
  # Same suite, other packages: install what is missing into the existing root.
  build=$dir
  say "$dir: $suite root exists; adding packages"
else
  build="$dir.partial"
  rm -rf -- "$build"
  mkdir -p "$build"
  say "debootstrap --variant=minbase $suite $build $mirror (timeout ${step_timeout}s)"
  started=$SECONDS
  if ! timeout --kill-after=30 "$step_timeout" debootstrap --variant=minbase "$suite" "$build" "$mirror" \
    >"$build.log" 2>&1; then
    say "debootstrap failed; last lines of $build.log:"
    tail -n 20 "$build.log" >&2
    exit 1
  fi
  say "debootstrap done in $((SECONDS - started))s"
  # Nothing installed here starts a service (there is no init in the root).
  printf '#!/bin/sh\nexit 101\n' >"$build/usr/sbin/policy-rc.d"
  chmod 755 "$build/usr/sbin/policy-rc.d"
fi

if [ ${#packages[@]} -gt 0 ]; then
  started=$SECONDS
  say "apt-get install --no-install-recommends ${packages[*]} (in $build, timeout ${step_timeout}s each)"
  in_root "$build" apt-get update -q >"$build.apt.log" 2>&1 &&
    in_root "$build" apt-get install -y -q --no-install-recommends "${packages[@]}" >>"$build.apt.log" 2>&1 || {
    say "apt-get failed; last lines of $build.apt.log:"
    tail -n 20 "$build.apt.log" >&2
    exit 1
  }
  in_root "$build" apt-get clean >/dev/null 2>&1 || true
  say "packages installed in $((SECONDS - started))s"
fi

printf '%s\n' "$wanted" >"$build/.passerelle-root"
if [ "$build" != "$dir" ]; then
  rm -rf -- "$dir"
  mv -- "$build" "$dir"
fi
rm -f -- "$dir.partial.log" "$dir.partial.apt.log" "$dir.apt.log"
say "$dir: $suite root ready ($(du -sh "$dir" 2>/dev/null | cut -f1))"
