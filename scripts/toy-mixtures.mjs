#!/usr/bin/env node
// Do the toy defaults fit data they were not tuned for? (issue 15, item 4; README "Your own data").
//
// For each data set and objective: train with the DEFAULT recipe through the CLI (plus any
// --train-args of an experiment), draw --n samples with each sampler seed through `scoregpu sample`
// (plus --sample-args), and score them against the TRUE distribution:
//   ratio   energy distance to --n fresh draws of the true distribution, over its floor: the mean
//           energy distance of five more independent --n-point true draws to the same reference
//           (what an exact sampler scores on average; `eval` has only held-out rows for a .npy);
//   tv      mode-weight error ½ Σ_k |p̂_k − w_k|, each sample assigned to its most likely component
//           (largest w_k N(x; μ_k, Σ_k)); sampling alone gives ≈ 0.02–0.04 at n = 1000.
// The target is ratio ≤ 3 with every mode about its weight.
//
// Data sets (the made-up ones and the scaled built-ins are written as .npy, 50 000 rows, seeded, so
// every run of this script trains on the same bytes; the built-in names train as `--data NAME`):
//   unequal4        masses 0.6 / 0.25 / 0.1 / 0.05: a broad round mode (sd 1), a thin one beside it
//                   (sd 0.08 × 0.8, its centre 3.5 from the broad one's), and two small tight modes
//                   (sd 0.15, 0.12) 0.9 apart, 3.5 above — see MIXTURES below;
//   distant3        masses 0.7 / 0.2 / 0.1, sd 1 / 0.7 / 0.5, centres about 40 widths apart around
//                   (110, 55);
//   8gaussians-x0.01, swissroll-x100   the built-in sets times 0.01 and 100 (.npy);
//   8gaussians, swissroll, checkerboard  the built-in sets themselves (mode weights for 8gaussians).
//
// Usage (resumable: a finished training run is kept, a measured cell is not measured again):
//   nice -n 10 node scripts/toy-mixtures.mjs --sets unequal4,distant3 --losses ncsn --seeds 1,2
//   node scripts/toy-mixtures.mjs --tag steps6000 --train-args "--steps 6000" --sets unequal4
//   node scripts/toy-mixtures.mjs --tag T300 --from default --sample-args "--steps 300"   # sampler only
//   node scripts/toy-mixtures.mjs --table          # only rewrite the table from the JSON
//   … --cli dist/frozen/scoregpu.mjs               # a frozen bundle instead of bin/scoregpu.mjs (which rebuilds when src/ changes)
//   node scripts/toy-mixtures.mjs --results docs/results/toy-mixtures --losses ssm   # results kept in git
// Writes OUT/data/*.npy, OUT/runs/TAG/SET-LOSS/ (the run), RES/results.json and RES/results.md
// (OUT = --out, default runs/toy-mixtures; RES = --results, default OUT: runs/ is not kept, so put
// results meant to outlive the session in a tracked folder).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { importBundled, cliArgs, root } from './run-bundled.mjs';

const { opt, flag } = cliArgs();
// --cli: another entry point (a frozen bundle, so that source edits elsewhere don't rebuild the CLI between runs)
const CLI = opt('cli', join(root, 'bin/scoregpu.mjs'));
const OUT = opt('out', 'runs/toy-mixtures');
const RES = opt('results', OUT);
const TAG = opt('tag', 'default');
const SETS = opt('sets', 'unequal4,distant3,8gaussians,8gaussians-x0.01,swissroll-x100').split(',');
const LOSSES = opt('losses', 'ncsn').split(',');
const SEEDS = opt('seeds', '1,2').split(',').map(Number);
const N = Number(opt('n', 1000));
const ROWS = 50000;
const split = (s) => (s ? s.trim().split(/\s+/) : []);
const TRAIN_ARGS = split(opt('train-args', ''));
const SAMPLE_ARGS = split(opt('sample-args', ''));
// sampler-only experiments: sample the runs trained under another tag (--from TAG) with --sample-args
const FROM = opt('from', TAG);
// what an experiment changed that the arguments do not show (e.g. a run folder whose config was edited)
const NOTE = opt('note', '');

const L = await importBundled('toy-mixtures', ['src/eval/metrics.ts', 'src/data/toy.ts', 'src/data/rng.ts', 'src/io/npy.ts', 'src/io/fs.ts'], { device: false });

/** Made-up 2-D mixtures: weight, centre, and the standard deviations along x and y. */
const MIXTURES = {
  unequal4: [
    { w: 0.6, c: [0, 0], sd: [1, 1] }, // broad
    { w: 0.25, c: [3.5, 0.5], sd: [0.08, 0.8] }, // thin, beside the broad one
    { w: 0.1, c: [0, 3.5], sd: [0.15, 0.15] }, // small and tight
    { w: 0.05, c: [0.9, 3.5], sd: [0.12, 0.12] }, // smaller, 6–7 widths from the last
  ],
  distant3: [
    { w: 0.7, c: [90, 45], sd: [1, 1] },
    { w: 0.2, c: [130, 45], sd: [0.7, 0.7] },
    { w: 0.1, c: [110, 80], sd: [0.5, 0.5] },
  ],
};
/** A data set: how to draw n true points with a seed, its mixture (for mode weights, or null), and what `--data` gets. */
function dataSet(name) {
  if (MIXTURES[name]) {
    const modes = MIXTURES[name];
    return { modes, draw: (n, seed) => drawMixture(modes, n, seed), file: true };
  }
  const m = /^(\w+)-x([\d.e+-]+)$/.exec(name);
  const base = m ? m[1] : name;
  const k = m ? Number(m[2]) : 1;
  if (!L.isToyName(base)) throw new Error(`unknown set '${name}': ${Object.keys(MIXTURES).join(', ')}, a built-in set (${L.TOY_SETS.join(', ')}) or one ×k (e.g. swissroll-x100)`);
  const modes = base === '8gaussians' ? L.eightGaussiansModes().map((c) => ({ w: c.w, c: c.c.map((v) => k * v), sd: c.sd.map((v) => k * v) })) : null;
  const draw = (n, seed) => {
    const x = L.sampleToy(base, n, seed);
    if (k !== 1) for (let i = 0; i < x.length; i++) x[i] *= k;
    return x;
  };
  return { modes, draw, file: k !== 1 };
}

function drawMixture(modes, n, seed) {
  const r = new L.Rng(seed);
  const x = new Float32Array(2 * n);
  for (let i = 0; i < n; i++) {
    let u = r.uniform(), j = 0;
    while (j < modes.length - 1 && u >= modes[j].w) u -= modes[j++].w;
    const m = modes[j];
    x[2 * i] = m.c[0] + m.sd[0] * r.normal();
    x[2 * i + 1] = m.c[1] + m.sd[1] * r.normal();
  }
  return x;
}

/** Share of the samples each component is the most likely for (w_k N(x; μ_k, diag sd_k²)). */
function modeShares(modes, x) {
  const c = new Array(modes.length).fill(0);
  for (let i = 0; i < x.length; i += 2) {
    let best = 0, bl = -Infinity;
    modes.forEach((m, k) => {
      const a = (x[i] - m.c[0]) / m.sd[0], b = (x[i + 1] - m.c[1]) / m.sd[1];
      const l = Math.log(m.w) - Math.log(m.sd[0] * m.sd[1]) - 0.5 * (a * a + b * b);
      if (l > bl) [bl, best] = [l, k];
    });
    c[best]++;
  }
  return c.map((v) => v / (x.length / 2));
}

// the true-distribution reference and the five floor draws, per set (seeds fixed: 1000 + k)
function truth(set) {
  const ds = dataSet(set);
  const ref = ds.draw(N, 1000);
  const floors = [1, 2, 3, 4, 5].map((k) => ds.draw(N, 1000 + k));
  return { ds, ref, floors };
}

function cli(args, what) {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd: root, encoding: 'utf8', env: { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp' } });
  if (r.status !== 0) throw new Error(`${what}: scoregpu ${args.join(' ')} exited ${r.status}: ${(r.stderr || r.stdout).trim().split('\n').pop()}`);
  return r.stdout;
}

mkdirSync(RES, { recursive: true });
const resultsPath = join(RES, 'results.json');
const results = existsSync(resultsPath) ? JSON.parse(readFileSync(resultsPath, 'utf8')) : {};

function table() {
  const tags = [...new Set(Object.values(results).map((r) => `${r.tag} | ${r.loss}`))];
  const sets = [...new Set(Object.values(results).map((r) => r.set))];
  const lines = [
    `Energy distance over its floor per sampler seed → mean / mode-weight error (n = ${N}; scripts/toy-mixtures.mjs)`,
    '',
    `| tag | loss | ${sets.join(' | ')} |`,
    `| --- | --- | ${sets.map(() => '---:').join(' | ')} |`,
  ];
  for (const t of tags) {
    const cells = sets.map((s) => {
      const r = Object.values(results).find((v) => `${v.tag} | ${v.loss}` === t && v.set === s);
      if (!r) return '—';
      const ratios = r.seeds.map((q) => q.ratio.toFixed(2)).join(', ');
      return `${ratios} → **${r.meanRatio.toFixed(2)}**${r.meanTv !== null ? ` / ${r.meanTv.toFixed(3)}` : ''}`;
    });
    lines.push(`| ${t} | ${cells.join(' | ')} |`);
  }
  const meta = [...new Set(Object.values(results).map((r) => `- ${r.tag}: train ${r.trainArgs.join(' ') || '(defaults)'}${r.from && r.from !== r.tag ? ` (the runs of ${r.from})` : ''}; sample ${r.sampleArgs.join(' ') || '(defaults)'}${r.note ? `; ${r.note}` : ''}`))];
  L.writeFileAtomic(join(RES, 'results.md'), [...lines, '', ...meta, ''].join('\n'));
  return lines.join('\n');
}

if (flag('table')) {
  console.log(table());
  process.exit(0);
}

mkdirSync(join(OUT, 'data'), { recursive: true });
for (const set of SETS) {
  const { ds, ref, floors } = truth(set);
  let data = set;
  if (ds.file) {
    data = join(OUT, 'data', `${set}.npy`);
    if (!existsSync(data)) L.writeFileAtomic(data, L.encodeNpy(ds.draw(ROWS, 7), [ROWS, 2]));
  }
  for (const loss of LOSSES) {
    const key = `${TAG}/${set}/${loss}`;
    if (results[key]) {
      console.log(`${key}: measured (ratio ${results[key].meanRatio.toFixed(2)})`);
      continue;
    }
    const run = join(OUT, 'runs', FROM, `${set}-${loss}`);
    const trained = join(run, 'trained.json');
    if (!existsSync(trained)) {
      if (FROM !== TAG) throw new Error(`${key}: --from ${FROM} has no trained run ${run}`);
      const t0 = Date.now();
      const resume = existsSync(join(run, 'checkpoint.safetensors')) ? ['--resume'] : [];
      const out = cli(['train', '--data', data, '--loss', loss, ...(loss === 'deen' ? ['--model', 'energy'] : []), '--out', run, ...TRAIN_ARGS, ...resume], key);
      const fit = out.split('\n').find((l) => l.startsWith('fit to the data')) ?? '';
      L.writeFileAtomic(trained, JSON.stringify({ secs: (Date.now() - t0) / 1000, fit }, null, 2) + '\n');
      console.log(`${key}: trained in ${((Date.now() - t0) / 1000).toFixed(0)} s; ${fit}`);
    }
    const seeds = [];
    for (const seed of SEEDS) {
      const file = join(run, `samples_${TAG}_seed${seed}.npy`);
      cli(['sample', '--run', run, '--n', String(N), '--seed', String(seed), '--out', file, ...SAMPLE_ARGS], key);
      const npy = L.decodeNpy(new Uint8Array(readFileSync(file)), file);
      const x = Float32Array.from(npy.data);
      const m = L.evaluateSamples(x, ref, floors, 2, { maxN: N });
      const p = ds.modes ? modeShares(ds.modes, x) : null;
      const tv = p ? 0.5 * p.reduce((t, v, k) => t + Math.abs(v - ds.modes[k].w), 0) : null;
      seeds.push({ seed, ratio: m.energyDistance / m.floor.energyDistance, energyDistance: m.energyDistance, floor: m.floor.energyDistance, tv, shares: p });
      console.log(`${key} seed ${seed}: ED/floor ${(m.energyDistance / m.floor.energyDistance).toFixed(2)}${p ? `, weights ${p.map((v) => v.toFixed(3)).join('/')} (tv ${tv.toFixed(3)})` : ''}`);
    }
    const mean = (f) => seeds.reduce((t, q) => t + f(q), 0) / seeds.length;
    results[key] = {
      tag: TAG, set, loss, from: FROM, ...(NOTE ? { note: NOTE } : {}), trainArgs: TRAIN_ARGS, sampleArgs: SAMPLE_ARGS, n: N, seeds,
      meanRatio: mean((q) => q.ratio), meanTv: ds.modes ? mean((q) => q.tv) : null,
      weights: ds.modes ? ds.modes.map((m) => m.w) : null,
      fit: JSON.parse(readFileSync(trained, 'utf8')).fit,
      trainSecs: JSON.parse(readFileSync(trained, 'utf8')).secs,
    };
    // another instance (another tag, run alongside) may have written cells since: merge, then write
    if (existsSync(resultsPath)) for (const [k, v] of Object.entries(JSON.parse(readFileSync(resultsPath, 'utf8')))) if (k !== key) results[k] = v;
    L.writeFileAtomic(resultsPath, JSON.stringify(results, null, 2) + '\n');
    table();
  }
}
console.log(table());
