#!/usr/bin/env node
// The Fréchet distance against the number of model evaluations (issue 12's table): for one run, each
// sampler at each NFE budget it allows, one `scoregpu eval` (classifier features, with its real-vs-real
// floor at the same n), collected into RUN/fd_vs_nfe.json and a markdown table RUN/fd_vs_nfe.md.
//
//   node scripts/fd-vs-nfe.mjs --run runs/fmnist-vp-small [--n 1000] [--nfe 10,20,50,1000]
//        [--samplers pc,pc-em,em,ode-euler,ode-heun,ode-rk45,ddim,dpmpp2m,heun] [--tols 1e-2,1e-3,1e-4,1e-5]
//        [--seed 0] [--batch 64] [--out PREFIX] [--cli bin/scoregpu.mjs] [--retry-errors] [--dry-run]
//
// How a budget maps to each sampler's setting (NFE = network evaluations per image):
//   pc        reverse diffusion + Langevin (snr 0.16, one corrector step): 2 NFE per step, --steps NFE/2
//   pc-em     the same with the Euler–Maruyama predictor (on VP-type processes both still need N > β_max:
//             the Langevin corrector's α comes from the DDPM discretisation too)
//   em        Euler–Maruyama on the reverse SDE: --steps NFE
//   ode-euler probability-flow ODE, Euler: --steps NFE − 1, plus the final denoising evaluation
//   ode-heun  probability-flow ODE, Heun: --steps ⌊(NFE − 1)/2⌋ → 2·steps + 1 NFE
//   ode-rk45  adaptive: one row per tolerance (rtol = atol = --tols), reporting the NFE it took
//   ddim      --steps NFE          dpmpp2m  --steps NFE
//   heun      EDM's Heun on Karras σ: --steps n = ⌊(NFE + 1)/2⌋ levels → 2n − 1 NFE
// A setting a sampler refuses for this model (e.g. PC's reverse-diffusion predictor on VP needs more
// than β_max = 20 steps) is recorded with its one-line error and shown as n/a.
//
// Resumable: rows already in the JSON (same n, seed) are skipped, so a long table can be filled across
// sessions; the JSON and the table are rewritten atomically after every row. Each row runs its own
// `scoregpu eval` process (its progress bar on stderr); --cli names another entry point (e.g. a frozen
// bundle, so source edits elsewhere don't rebuild the CLI between rows).
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { importBundled } from './run-bundled.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const SAMPLERS = ['pc', 'pc-em', 'em', 'ode-euler', 'ode-heun', 'ode-rk45', 'ddim', 'dpmpp2m', 'heun'];
// one atomic write for the project (temp file, fsync, rename): src/io/fs.ts
const L = await importBundled('fd-vs-nfe', ['src/io/fs.ts'], { device: false });

function parse(argv) {
  const o = { n: 1000, nfe: [10, 20, 50, 1000], samplers: SAMPLERS, tols: [1e-2, 1e-3, 1e-4, 1e-5], seed: 0, batch: 64, cli: join(ROOT, 'bin/scoregpu.mjs'), retryErrors: false, dryRun: false };
  const nums = (k, v) => v.split(',').map((x) => {
    const y = Number(x);
    if (!Number.isFinite(y) || y <= 0) fail(`--${k} takes positive numbers separated by commas, got '${v}'`);
    return y;
  });
  for (let i = 0; i < argv.length; i++) {
    const [k, inline] = argv[i].replace(/^--/, '').split(/=(.*)/s, 2);
    const val = () => inline ?? argv[++i] ?? fail(`--${k} needs a value`);
    switch (k) {
      case 'run': o.run = val(); break;
      case 'out': o.out = val(); break;
      case 'cli': o.cli = val(); break;
      case 'n': o.n = Number(val()); break;
      case 'seed': o.seed = Number(val()); break;
      case 'batch': o.batch = Number(val()); break;
      case 'nfe': o.nfe = nums(k, val()); break;
      case 'tols': o.tols = nums(k, val()); break;
      case 'samplers': o.samplers = val().split(','); break;
      case 'retry-errors': o.retryErrors = true; break;
      case 'dry-run': o.dryRun = true; break;
      case 'help': case 'h':
        console.log(readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n').slice(1).filter((l) => l.startsWith('//')).map((l) => l.slice(3)).join('\n'));
        process.exit(0);
      // falls through
      default: fail(`unknown option --${k}; valid: --run --n --nfe --samplers --tols --seed --batch --out --cli --retry-errors --dry-run`);
    }
  }
  if (!o.run) fail('--run DIR is required');
  if (!existsSync(join(o.run, 'config.json'))) fail(`${o.run}: no config.json (not a run or model folder)`);
  if (!(Number.isInteger(o.n) && o.n >= 2)) fail(`--n must be an integer ≥ 2, got ${o.n}`);
  if (!(Number.isInteger(o.batch) && o.batch >= 1)) fail(`--batch must be a positive integer, got ${o.batch}`);
  if (!Number.isInteger(o.seed)) fail(`--seed must be an integer, got ${o.seed}`);
  for (const s of o.samplers) if (!SAMPLERS.includes(s)) fail(`unknown sampler '${s}'; valid: ${SAMPLERS.join(', ')}`);
  if (o.nfe.some((v) => !Number.isInteger(v))) fail(`--nfe takes whole numbers, got ${o.nfe.join(',')}`);
  o.out ??= join(o.run, 'fd_vs_nfe');
  return o;
}

function fail(msg) {
  console.error(`fd-vs-nfe: ${msg}`);
  process.exit(1);
}

/** The rows of the table: id, sampler, the budget, the setting in words and the eval flags (or why not). */
function plan(o) {
  const rows = [];
  const add = (sampler, budget, setting, args, nfe, why) => rows.push({ id: `${sampler}@${setting}`, sampler, budget, setting, args, plannedNfe: nfe, why });
  for (const s of o.samplers) {
    if (s === 'ode-rk45') {
      for (const t of o.tols) add(s, null, `tol ${t}`, ['--sampler', 'ode', '--method', 'rk45', '--rtol', String(t), '--atol', String(t)], null);
      continue;
    }
    for (const b of o.nfe) {
      switch (s) {
        case 'pc':
          if (b % 2 || b < 4) add(s, b, `${b / 2} steps`, null, null, 'PC takes 2 evaluations a step (an even budget ≥ 4)');
          else add(s, b, `${b / 2} steps`, ['--sampler', 'pc', '--steps', String(b / 2)], b);
          break;
        case 'pc-em':
          if (b % 2 || b < 4) add(s, b, `${b / 2} steps`, null, null, 'PC takes 2 evaluations a step (an even budget ≥ 4)');
          else add(s, b, `${b / 2} steps`, ['--sampler', 'pc', '--predictor', 'euler_maruyama', '--steps', String(b / 2)], b);
          break;
        case 'em':
          add(s, b, `${b} steps`, ['--sampler', 'em', '--steps', String(b)], b);
          break;
        case 'ode-euler':
          add(s, b, `${b - 1} steps + denoise`, ['--sampler', 'ode', '--method', 'euler', '--steps', String(b - 1)], b);
          break;
        case 'ode-heun': {
          const k = Math.floor((b - 1) / 2);
          if (k < 1) add(s, b, '—', null, null, 'Heun needs ≥ 3 evaluations');
          else add(s, b, `${k} steps + denoise`, ['--sampler', 'ode', '--method', 'heun', '--steps', String(k)], 2 * k + 1);
          break;
        }
        case 'ddim':
          add(s, b, `${b} steps`, ['--sampler', 'ddim', '--steps', String(b)], b);
          break;
        case 'dpmpp2m':
          add(s, b, `${b} steps`, ['--sampler', 'dpmpp2m', '--steps', String(b)], b);
          break;
        case 'heun': {
          const k = Math.floor((b + 1) / 2);
          add(s, b, `${k} levels`, ['--sampler', 'heun', '--steps', String(k)], 2 * k - 1);
          break;
        }
      }
    }
  }
  return rows;
}

const fmt = (v, d = 2) => (typeof v === 'number' && Number.isFinite(v) ? v.toFixed(d) : '—');

function markdown(store, rows) {
  const byId = new Map(store.rows.map((r) => [r.id, r]));
  const done = store.rows.filter((r) => !r.error);
  const steps = [...new Set(done.map((r) => r.step))];
  const lines = [
    `# FD vs NFE: ${store.run}`,
    '',
    `Fréchet distance in the Fashion-MNIST classifier's features between n = ${store.n} samples (sampler seed ${store.seed}) and real test images; ` +
      `floor: the same distance between two disjoint real sets of n. Checkpoint step${steps.length > 1 ? 's' : ''} ${steps.join(', ') || '—'}. ` +
      'NFE: network evaluations per image. TV: the samples\' mean total variation over real images\' (1 ≈ real; above: grain or texture, below: blur — ' +
      'Fréchet distance in these features forgives texture more than the eye does). Seconds: sampling wall time for all n (shared machine).',
    '',
    '| sampler | setting | NFE | FD | floor | FD / floor | TV | n | seconds |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  // every row measured so far (from any --nfe/--samplers) and the planned ones not yet run, in sampler order
  const planned = new Map(rows.map((p) => [p.id, p]));
  const all = [...store.rows.map((r) => ({ ...planned.get(r.id), ...r })), ...rows.filter((p) => !byId.has(p.id))];
  const order = (p) => [SAMPLERS.indexOf(p.sampler), p.budget ?? -Number(String(p.setting).replace('tol ', ''))];
  all.sort((a, b) => {
    const [x, y] = [order(a), order(b)];
    return x[0] - y[0] || x[1] - y[1];
  });
  for (const p of all) {
    const r = byId.get(p.id);
    if (!r) lines.push(`| ${p.sampler} | ${p.setting} | ${p.plannedNfe ?? '?'} | (not run) | | | | | |`);
    else if (r.error) lines.push(`| ${p.sampler} | ${p.setting} | ${p.plannedNfe ?? '—'} | n/a: ${r.error.replace(/\|/g, '\\|')} | | | | | |`);
    else lines.push(`| ${p.sampler} | ${p.setting} | ${fmt(r.nfe, Number.isInteger(r.nfe) ? 0 : 1)} | ${fmt(r.fd)} | ${fmt(r.floor)} | ${fmt(r.fd / r.floor)} | ${fmt(r.tvRatio)} | ${r.n} | ${fmt(r.seconds, 0)} |`);
  }
  return lines.join('\n') + '\n';
}

/** One `scoregpu eval`: stdout collected (its JSON report), stderr shown as it comes and its tail kept. */
function runEval(args) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp' } });
    let stdout = '', stderrTail = '';
    child.stdout.setEncoding('utf8').on('data', (c) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c) => {
      process.stderr.write(c);
      stderrTail = (stderrTail + c).slice(-4000);
    });
    child.on('error', (e) => resolve({ status: null, signal: e.message, stdout, stderrTail }));
    child.on('close', (status, signal) => resolve({ status, signal, stdout, stderrTail }));
  });
}

const o = parse(process.argv.slice(2));
const rows = plan(o);
const jsonPath = `${o.out}.json`, mdPath = `${o.out}.md`;
let store = { run: o.run, n: o.n, seed: o.seed, rows: [] };
if (existsSync(jsonPath)) {
  let old;
  try {
    old = JSON.parse(readFileSync(jsonPath, 'utf8'));
  } catch (e) {
    fail(`${jsonPath}: not a table file (${e.message}); remove it or give another --out`);
  }
  if (old.n !== o.n || old.seed !== o.seed) fail(`${jsonPath} holds rows for n = ${old.n}, seed ${old.seed}; give the same --n/--seed to resume, or another --out`);
  store = { ...old, rows: Array.isArray(old.rows) ? old.rows : [] };
  if (o.retryErrors) store.rows = store.rows.filter((r) => !r.error);
}
// rows measured before the TV column: take it from the eval report still on disk when it is that row's
for (const r of store.rows) {
  if (r.error || r.tvRatio !== undefined || !r.samplerTag) continue;
  for (const dir of [o.run, join(ROOT, 'runs/eval', basename(o.run))]) {
    try {
      const rep = JSON.parse(readFileSync(join(dir, `eval_${r.samplerTag}.json`), 'utf8'));
      if (rep.fd === r.fd && rep.n === r.n) Object.assign(r, { tvRatio: rep.tvRatio, meanConfidence: rep.meanConfidence });
    } catch { /* not there */ }
  }
}
const have = new Set(store.rows.map((r) => r.id));
const todo = rows.filter((r) => !have.has(r.id));
console.error(`fd-vs-nfe: ${rows.length} rows for ${o.run} (n = ${o.n}); ${rows.length - todo.length} already in ${jsonPath}, ${todo.length} to run`);
if (o.dryRun) {
  for (const r of rows) console.log(`${have.has(r.id) ? 'done' : 'todo'}  ${r.id.padEnd(28)} ${r.args ? r.args.join(' ') : `(n/a: ${r.why})`}`);
  process.exit(0);
}
const save = () => {
  L.writeFileAtomic(jsonPath, JSON.stringify(store, null, 2) + '\n');
  L.writeFileAtomic(mdPath, markdown(store, rows));
};
const t0 = Date.now();
for (let k = 0; k < todo.length; k++) {
  const r = todo[k];
  const base = { id: r.id, sampler: r.sampler, budget: r.budget, setting: r.setting, plannedNfe: r.plannedNfe, at: new Date().toISOString() };
  if (!r.args) {
    store.rows.push({ ...base, error: r.why });
    save();
    continue;
  }
  const args = [o.cli, 'eval', '--run', o.run, '--n', String(o.n), '--seed', String(o.seed), '--batch', String(o.batch), ...r.args];
  console.error(`[${k + 1}/${todo.length}, ${((Date.now() - t0) / 60000).toFixed(1)} min so far] ${r.id}: scoregpu ${args.slice(1).join(' ')}`);
  const started = Date.now();
  const p = await runEval(args);
  if (p.status === null) fail(`${r.id}: eval ended by ${p.signal ?? 'an error'}; rows so far are in ${jsonPath}`);
  if (p.status !== 0) {
    // a setting the sampler refuses: the CLI's one-line error (its last stderr line) goes into the table;
    // an internal error's stack frames are skipped, so that its message does
    const line = p.stderrTail.split('\n').filter((l) => l.trim() && !/^\s+at /.test(l)).pop()?.trim() ?? '';
    store.rows.push({ ...base, error: line.replace(/^scoregpu eval: /, '') || `eval exited with ${p.status}` });
    save();
    continue;
  }
  let rep;
  try {
    rep = JSON.parse(p.stdout);
  } catch {
    fail(`${r.id}: could not read eval's JSON report from its output`);
  }
  store.rows.push({
    ...base, nfe: rep.nfe, fd: rep.fd, floor: rep.floor, n: rep.n, seconds: rep.sampleSeconds, imgPerSec: rep.imgPerSec, wallSeconds: (Date.now() - started) / 1000,
    step: rep.step, samplerTag: rep.sampler, samples: rep.samples, classesPresent: rep.classesPresent, meanConfidence: rep.meanConfidence, tvRatio: rep.tvRatio, args: r.args,
  });
  save();
  console.error(`  → NFE ${fmt(rep.nfe, 1)}, FD ${fmt(rep.fd)} (floor ${fmt(rep.floor)}), ${fmt(rep.sampleSeconds, 0)} s`);
}
if (todo.length) save();
else if (!existsSync(mdPath)) save();
console.log(readFileSync(mdPath, 'utf8'));
