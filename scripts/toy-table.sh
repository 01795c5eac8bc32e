#!/usr/bin/env bash
# Trains every objective on swiss roll, 8 gaussians and checkerboard with the default recipe,
# samples with the objective's sampler, evaluates against held-out data, and prints a markdown
# table (energy distance vs its noise floor). Usage: scripts/toy-table.sh [OUTDIR] [STEPS]
# Without STEPS every run uses its objective's default recipe, i.e. exactly what
# `scoregpu train --data D --loss L` does.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-runs/table}
steps=${2:-}
mkdir -p "$out"
for data in ${DATASETS:-swissroll 8gaussians checkerboard}; do
  for loss in ${LOSSES:-dsm deen ssm ssmvr esm ncsn}; do
    run="$out/$loss-$data"
    # a lock directory lets several copies of this script share the work
    if [ ! -f "$run/metrics.json" ] && mkdir "$run.lock" 2>/dev/null; then
      t0=$(date +%s)
      node bin/scoregpu.mjs train --data "$data" --loss "$loss" ${steps:+--steps "$steps"} --out "$run" > "$run.train.log" 2>&1 || { echo "train failed: $run" >&2; rmdir "$run.lock"; continue; }
      t1=$(date +%s)
      node bin/scoregpu.mjs sample --run "$run" --n 2000 > "$run.sample.log" 2>&1
      node bin/scoregpu.mjs eval --run "$run" --n 2000 --seeds 2,3 > "$run.eval.log" 2>&1
      t2=$(date +%s)
      echo "$((t1 - t0)) $((t2 - t1))" > "$run/times.txt"
      rmdir "$run.lock"
    fi
  done
done
# the table, in the README's format (rows by data set, then objective)
node -e '
const fs = require("fs"), path = require("path");
const out = process.argv[1];
const DATA = ["swissroll", "8gaussians", "checkerboard"], LOSS = ["dsm", "deen", "ssm", "ssmvr", "esm", "ncsn"];
const rank = (r) => (DATA.indexOf(r.data) + 1 || 99) * 100 + LOSS.indexOf(r.loss);
const rows = [];
for (const d of fs.readdirSync(out)) {
  const m = path.join(out, d, "metrics.json");
  if (!fs.existsSync(m)) continue;
  const r = JSON.parse(fs.readFileSync(m, "utf8"));
  const [tt, ts] = fs.readFileSync(path.join(out, d, "times.txt"), "utf8").trim().split(" ").map(Number);
  const log = fs.readFileSync(path.join(out, d + ".train.log"), "utf8");
  r.sps = (/([0-9.]+) steps\/s/.exec(log) || [])[1] || "";
  r.tt = tt; r.ts = ts;
  rows.push(r);
}
rows.sort((a, b) => rank(a) - rank(b));
console.log("| objective | data | steps | energy distance | noise floor | ratio | ratio, sampler seeds 1–3: mean (max) | sliced W2 (floor) | train s | steps/s | sample+eval s |");
console.log("| --- | --- | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: |");
for (const r of rows) {
  const all = [r.ratio.energyDistance, ...(r.seeds || []).map((s) => s.ratio)];
  const seeds = all.length > 1 ? `${(all.reduce((a, b) => a + b, 0) / all.length).toFixed(2)} (${Math.max(...all).toFixed(2)})` : "";
  console.log(`| ${r.loss} | ${r.data} | ${r.step} | ${r.energyDistance.toExponential(2)} | ${r.floor.energyDistance.toExponential(2)} | **${r.ratio.energyDistance.toFixed(2)}** | ${seeds} | ${r.sw2.toFixed(3)} (${r.floor.sw2.toFixed(3)}) | ${r.tt} | ${r.sps} | ${r.ts} |`);
}
' "$out"
