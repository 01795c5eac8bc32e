#!/usr/bin/env bash
# Run a TypeScript file of the project (scripts, experiments) through an esbuild bundle with the
# WGSL inlined, as the CLI runs: bash scripts/tsrun.sh FILE.ts [args...]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
f=$1; shift
out="$root/dist/tsrun/$(basename "${f%.ts}").mjs"
"$root/node_modules/.bin/esbuild" "$f" --bundle --platform=node --format=esm --target=node20 --loader:.wgsl=text --packages=external --outfile="$out" --log-level=warning
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-/tmp}
exec node "$out" "$@"
