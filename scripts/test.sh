#!/usr/bin/env bash
# Runs every test: typecheck, lint, unit tests and system tests (real pcscd with virtual readers,
# real TLS, headless Chromium). The README's test command; .ci/run calls it too.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/system-deps.sh
bash scripts/node-deps.sh

# The official ANS Cryptolib, a test judge of the emulated CPS cards (scripts/cryptolib.sh). CI sets
# PASSERELLE_REQUIRE_CRYPTOLIB=1: there its absence fails the run; elsewhere its tests are skipped.
if module=$(bash scripts/cryptolib.sh); then
  export PASSERELLE_CRYPTOLIB_MODULE="$module"
elif [ "${PASSERELLE_REQUIRE_CRYPTOLIB:-}" = 1 ]; then
  echo "PASSERELLE_REQUIRE_CRYPTOLIB=1: the Cryptolib judge is required (see scripts/cryptolib.sh)" >&2
  exit 1
else
  echo "note: the Cryptolib judge tests will be skipped (see scripts/cryptolib.sh for how to get it)" >&2
fi

# The real PC/SC daemon for the system tests (no systemd needed); stopped again on exit if we started it.
if ! bash scripts/pcscd.sh status >/dev/null 2>&1; then
  bash scripts/pcscd.sh start
  trap 'bash scripts/pcscd.sh stop >/dev/null || true' EXIT
fi

npm run --silent typecheck
npm run --silent lint
bash scripts/run-tests.sh
