#!/usr/bin/env bash
# `npm run test:package`: builds every artefact (npm run package) and tests them: the .deb in a
# throwaway root against the real pcscd, the Windows executable and MSI under wine, the macOS
# files as far as Linux can check them. Kept out of the default suite: it downloads four Node
# binaries (~250 MB, cached) on first run and takes minutes (see installers/README.md).
set -euo pipefail
cd "$(dirname "$0")/.."
bash installers/deps.sh
bash scripts/node-deps.sh
if ! bash scripts/pcscd.sh status >/dev/null 2>&1; then
  bash scripts/pcscd.sh start
  trap 'bash scripts/pcscd.sh stop >/dev/null || true' EXIT
fi
npm run --silent package
exec node --import tsx --test --test-concurrency=1 --test-reporter=spec installers/test/*.test.ts
