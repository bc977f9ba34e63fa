#!/usr/bin/env bash
# `npm run test:package`: builds every artefact (npm run package) and tests them: the .deb in a
# throwaway root against the real pcscd, the Windows executable and MSI under wine 10 (in a
# Debian trixie root built once with installers/lib/debian-root.sh: needs root), the macOS files
# as far as Linux can check them. Kept out of the default suite: it downloads four Node binaries
# (~250 MB) and the trixie root (~1.2 GB) on first run, both cached, and takes minutes (see
# installers/README.md).
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
