#!/usr/bin/env bash
# Runs the product in demo mode: virtual CPS and Vitale cards, the INSi simulator, the daemon's page,
# and the example EHR page on its own origin (allowed for this run). Prints the URLs to open, then
# only warnings and errors (pass --log-level info for more).
#
# The demo keeps nothing: its data folder (audit trail, local CA, logs) is a fresh temporary folder,
# removed when it stops, and it reads no configuration file of this machine. Every audit record it
# writes says "simulation": true.
#
# Environment: PASSERELLE_EXAMPLE_PORT, the example EHR page's port (default: DEFAULT_EXAMPLE_PORT in
# docs/examples/ehr-page/serve.ts, 9730, outside the daemon's range 9712-9721).
# Extra arguments go to `passerelle start` (e.g. --port 9800, --log-level info). Stop with Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/node-deps.sh >/dev/null

DEMO_DIR=$(mktemp -d "${TMPDIR:-/tmp}/passerelle-demo.XXXXXX")
echo '{}' >"$DEMO_DIR/config.json"

example_pid=""
cleanup() {
  if [ -n "$example_pid" ]; then kill "$example_pid" 2>/dev/null || true; fi
  rm -rf "$DEMO_DIR"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The example page first: a taken port stops the demo with its one-line message. It reads
# PASSERELLE_EXAMPLE_PORT itself; its default port is its own.
node --import tsx docs/examples/ehr-page/serve.ts >"$DEMO_DIR/example.out" &
example_pid=$!
until grep -q "^serving" "$DEMO_DIR/example.out" 2>/dev/null; do
  # It said why on one line (a taken port: which one, and PASSERELLE_EXAMPLE_PORT): stop there.
  if ! kill -0 "$example_pid" 2>/dev/null; then exit 1; fi
  sleep 0.1
done
# The port it really took (PASSERELLE_EXAMPLE_PORT=0 picks a free one).
example_url=$(sed -n 's/^serving //p' "$DEMO_DIR/example.out")
EXAMPLE_ORIGIN=${example_url%/}

# `passerelle start` prints `listening ws://localhost:<port>/v1`: turn it into the pages to open. The
# log lines written before it wait until the pages are printed, so that they come first on screen.
print_pages() {
  local daemon=${1#listening ws://}
  daemon=${daemon%/v1}
  cat <<PAGES

  SIMULATION — virtual cards, INSi simulator. Open in a browser:
    the daemon's page:     http://${daemon}/
    the example EHR page:  ${EXAMPLE_ORIGIN}/?passerelle=ws://${daemon}/v1

  ws:// and http://: the demo runs without TLS, so no certificate has to be trusted first.
  An installed daemon serves wss://localhost:9712 (docs/admin-guide.md).
  Simulated CPS PIN: 1234. Data folder, removed on exit: ${DEMO_DIR}
  Stop with Ctrl-C.

PAGES
}

PASSERELLE_CONFIG="$DEMO_DIR/config.json" npm run --silent demo -- \
  --allow-origin "$EXAMPLE_ORIGIN" --data-dir "$DEMO_DIR" --log-level warn "$@" 2>&1 | {
  held=()
  listening=""
  while IFS= read -r line; do
    case "$line" in
      "listening ws://"*)
        print_pages "$line"
        listening=1
        for earlier in "${held[@]}"; do echo "$earlier"; done
        ;;
      "SIMULATION: virtual cards and INSi simulator. Open"*) ;; # the pages above say it
      *) if [ -n "$listening" ]; then echo "$line"; else held+=("$line"); fi ;;
    esac
  done
  # Stopped before listening (a taken port, a bad argument): its words, as they came.
  if [ -z "$listening" ]; then for earlier in "${held[@]}"; do echo "$earlier"; done; fi
}
