#!/usr/bin/env bash
# Everything a fresh clone needs before it runs: npm dependencies (when missing or stale) and the
# system pieces WebGPU needs (scripts/setup-system.sh). Pass --browser to also get Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "scoregpu: installing npm dependencies" >&2
  npm ci --no-audit --no-fund --loglevel=error >&2
fi
bash scripts/setup-system.sh "$@" >&2
