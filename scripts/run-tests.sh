#!/usr/bin/env bash
# Runs the node:test files under the given folders (default: every test folder), two at a time.
# Node 20's test runner does not expand globs itself, so bash does.
set -euo pipefail
cd "$(dirname "$0")/.."
shopt -s globstar nullglob
roots=("$@")
[ ${#roots[@]} -eq 0 ] && roots=(protocol/test daemon/test test)
files=()
for root in "${roots[@]}"; do
  if [ -f "$root" ]; then files+=("$root"); else files+=("$root"/**/*.test.ts); fi
done
if [ ${#files[@]} -eq 0 ]; then
  echo "no test files under: ${roots[*]}" >&2
  exit 1
fi
# test/helpers/test-guard.ts: a default per-test timeout (TEST_TIMEOUT_MS, 120 s) and unhandled
# rejections as failures.
exec node --import tsx --import ./test/helpers/test-guard.ts --test --test-concurrency="${TEST_CONCURRENCY:-2}" --test-reporter=spec "${files[@]}"
