#!/usr/bin/env bash
# Runs the product in demo mode: virtual CPS and Vitale cards, the INSi simulator, the daemon's page.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/node-deps.sh
exec npm run --silent demo -- "$@"
