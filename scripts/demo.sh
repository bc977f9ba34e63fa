#!/usr/bin/env bash
# Runs the product in demo mode: virtual CPS and Vitale cards, the INSi simulator, the daemon's page,
# and the example EHR page on its own origin (allowed for this run). Prints the URLs to open.
# Extra arguments go to `passerelle start` (e.g. --port 9800). Stop with Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/node-deps.sh

EXAMPLE_PORT=${PASSERELLE_EXAMPLE_PORT:-9713}
EXAMPLE_ORIGIN="http://localhost:${EXAMPLE_PORT}"

node --import tsx docs/examples/ehr-page/serve.ts --port "$EXAMPLE_PORT" >/dev/null &
example_pid=$!
trap 'kill "$example_pid" 2>/dev/null || true' EXIT

# `passerelle start` prints one line, `listening ws://localhost:<port>/v1`: turn it into the pages to open.
npm run --silent demo -- --allow-origin "$EXAMPLE_ORIGIN" "$@" | while IFS= read -r line; do
  echo "$line"
  case "$line" in
    "listening ws://"*)
      daemon=${line#listening ws://}
      daemon=${daemon%/v1}
      echo ""
      echo "  SIMULATION — virtual cards, INSi simulator. Open in a browser:"
      echo "    the daemon's page:     http://${daemon}/"
      echo "    the example EHR page:  ${EXAMPLE_ORIGIN}/?passerelle=ws://${daemon}/v1"
      echo ""
      ;;
  esac
done
