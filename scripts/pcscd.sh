#!/usr/bin/env bash
# Runs the real PC/SC daemon without systemd (CI, containers): pcscd in the foreground, in the
# background, with its log in $PCSCD_LOG. Usage: scripts/pcscd.sh start|stop|stop-if-ours|status
#   start         start pcscd unless it already runs; wait for its socket and the vpcd readers
#   stop          stop the running pcscd (by the pid in its pid file)
#   stop-if-ours  stop it only if `start` started it (used by scripts/test.sh on exit)
#   status        exit 0 when pcscd runs
set -euo pipefail

SOCKET=/run/pcscd/pcscd.comm
PIDFILE=/run/pcscd/pcscd.pid
OURS=${TMPDIR:-/tmp}/passerelle-pcscd.ours
PCSCD_LOG=${PCSCD_LOG:-${TMPDIR:-/tmp}/passerelle-pcscd.log}
VPCD_PORT_HEX=8C7B   # slot 0 of /etc/reader.conf.d/vpcd (35963)
WAIT_STEPS=100       # × 0.1 s

running_pid() {
  [ -f "$PIDFILE" ] || return 1
  local pid
  pid=$(tr -dc '0-9' < "$PIDFILE")
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && echo "$pid"
}

# vpcd is listening once pcscd has loaded /etc/reader.conf.d/vpcd (LISTEN = state 0A).
vpcd_listening() {
  [ -f /etc/reader.conf.d/vpcd ] || return 0
  grep -qiE "^ *[0-9]+: [0-9A-F]+:${VPCD_PORT_HEX} [0-9A-F]+:0000 0A" /proc/net/tcp /proc/net/tcp6 2>/dev/null
}

start() {
  if pid=$(running_pid); then
    echo "pcscd already running (pid $pid)"
    return 0
  fi
  command -v pcscd >/dev/null || { echo "pcscd is not installed (apt-get install pcscd)" >&2; exit 1; }
  mkdir -p /run/pcscd
  rm -f "$SOCKET" "$PIDFILE"
  pcscd --foreground >"$PCSCD_LOG" 2>&1 &
  echo $! >"$OURS"
  for _ in $(seq "$WAIT_STEPS"); do
    if [ -S "$SOCKET" ] && vpcd_listening; then
      echo "pcscd started (pid $(cat "$OURS"), log $PCSCD_LOG)"
      return 0
    fi
    sleep 0.1
  done
  echo "pcscd did not come up; see $PCSCD_LOG" >&2
  exit 1
}

stop_pid() {
  local pid=$1
  kill -TERM "$pid" 2>/dev/null || return 0
  for _ in $(seq "$WAIT_STEPS"); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
}

case "${1:-}" in
  start) start ;;
  stop)
    if pid=$(running_pid); then stop_pid "$pid"; echo "pcscd stopped"; else echo "pcscd not running"; fi
    rm -f "$OURS"
    ;;
  stop-if-ours)
    if [ -f "$OURS" ]; then
      pid=$(cat "$OURS")
      if kill -0 "$pid" 2>/dev/null; then stop_pid "$pid"; echo "pcscd stopped"; fi
      rm -f "$OURS"
    fi
    ;;
  status)
    if pid=$(running_pid); then echo "pcscd running (pid $pid)"; else echo "pcscd not running"; exit 1; fi
    ;;
  *) echo "usage: $0 start|stop|stop-if-ours|status" >&2; exit 2 ;;
esac
