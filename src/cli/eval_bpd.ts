// `scoregpu eval --run DIR --bpd [--n 1000]`: bits/dim of the first n test images by the exact
// likelihood of the probability-flow ODE (src/score/likelihood.ts), mean ± standard error, in
// RUN/eval_bpd.json. Each batch of B images (--batch, default 64) is one augmented RK45 solve.
//
// A thousand images take hours on a CPU adapter, so the work is resumable: after every batch the
// per-image results are written (atomically) to RUN/eval_bpd.batches.json together with the settings
// they were computed under. A later call with the same settings takes the images already there and
// computes only the rest — whatever its --n or --batch, since an image's dequantisation noise and
// probe depend only on (seed, image index). A file made under other settings is refused (one line
// naming the setting) unless --fresh starts over.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Device } from '../gpu/device.js';
import { FileError } from '../gpu/errors.js';
import { loadImageRun } from '../train/image.js';
import { loadImageSet } from '../data/images.js';
import { bitsPerDimBatch, LIKELIHOOD_EPS, PROBES, rangeOffset, type Probe } from '../score/likelihood.js';
import { Progress } from '../io/progress.js';
import { writeFileAtomic } from '../io/fs.js';
import { sdeFor } from './ode.js';
import { makeRunOutputDir } from './output_dir.js';

/** What a batch's numbers depend on; a batches file is used only under equal settings. */
interface BpdSettings {
  data: string;
  step: number;
  weights: string;
  sde: unknown;
  probe: Probe;
  rtol: number;
  atol: number;
  eps: number;
  seed: number;
  solver: 'rk45';
  noise: 'per image: (seed, image index)';
}

interface BatchRecord {
  /** Images first … first + bpd.length − 1 of the test set. */
  first: number;
  bpd: number[];
  nfe: number;
  accepted: number;
  rejected: number;
  seconds: number;
  /** When it finished (ISO time). */
  at: string;
}

interface BatchesFile {
  version: 1;
  settings: BpdSettings;
  batches: BatchRecord[];
}

export const BATCHES_FILE = 'eval_bpd.batches.json';

function readBatches(path: string): BatchesFile | null {
  if (!existsSync(path)) return null;
  let f: BatchesFile;
  try {
    f = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new FileError(path, `not a bits/dim batches file (${(e as Error).message}); remove it or pass --fresh`);
  }
  if (f?.version !== 1 || typeof f.settings !== 'object' || !Array.isArray(f.batches)) throw new FileError(path, 'not a bits/dim batches file (version 1); remove it or pass --fresh');
  for (const b of f.batches) {
    if (!(Number.isInteger(b?.first) && b.first >= 0 && Array.isArray(b.bpd) && b.bpd.every(Number.isFinite) && Number.isFinite(b.nfe) && Number.isFinite(b.seconds))) {
      throw new FileError(path, 'a batch record is malformed; remove the file or pass --fresh');
    }
  }
  return f;
}

/** The first setting that differs, as "name: file vs now". */
function settingsDiff(a: BpdSettings, b: BpdSettings): string | null {
  for (const k of Object.keys(b) as (keyof BpdSettings)[]) {
    const x = JSON.stringify(a[k]), y = JSON.stringify(b[k]);
    if (x !== y) return `${k}: ${x} there, ${y} now`;
  }
  return null;
}

/** Runs of consecutive image indices, cut into pieces of at most B. */
function batchesOf(indices: number[], B: number): { first: number; m: number }[] {
  const out: { first: number; m: number }[] = [];
  for (const i of indices) {
    const last = out[out.length - 1];
    if (last && last.first + last.m === i && last.m < B) last.m++;
    else out.push({ first: i, m: 1 });
  }
  return out;
}

export async function evalBpdCommand(device: Device, a: Record<string, any>): Promise<number> {
  const n: number = a.n ?? 1000;
  if (!(Number.isInteger(n) && n >= 1)) throw new Error(`--n must be a positive integer, got ${a.n}`);
  const probe = String(a.probe ?? 'rademacher') as Probe;
  if (!PROBES.includes(probe)) throw new Error(`unknown --probe '${probe}'; valid: ${PROBES.join(', ')}`);
  const rtol = a.rtol ?? 1e-5, atol = a.atol ?? 1e-5;
  if (!(rtol > 0 && atol > 0)) throw new Error(`--rtol and --atol must be > 0, got ${rtol} and ${atol}`);
  const B: number = a.batch ?? 64;
  if (!(Number.isInteger(B) && B >= 1)) throw new Error(`--batch must be a positive integer, got ${a.batch}`);
  const seed: number = a.seed ?? 0;
  const run = loadImageRun(device, a.run, a.weights === 'params' ? 'params' : 'ema');
  const { sde, cond } = sdeFor(run.process, 'bits/dim (--bpd)');
  const set = loadImageSet(run.cfg.data, { seed: run.cfg.seed });
  if (!(set.test instanceof Uint8Array)) throw new Error(`bits/dim needs 8-bit images; ${run.cfg.data} holds floating-point pixels`);
  const D = set.shape[0] * set.shape[1] * set.shape[2];
  const avail = set.test.length / D;
  if (n > avail) throw new Error(`--n ${n}: ${run.cfg.data} has ${avail} test images`);

  const settings: BpdSettings = {
    data: run.cfg.data, step: run.step, weights: run.weights, sde: sde.describe(), probe, rtol, atol, eps: LIKELIHOOD_EPS, seed, solver: 'rk45', noise: 'per image: (seed, image index)',
  };
  const dir = makeRunOutputDir(a as { run: string; out?: string });
  const file = join(dir, BATCHES_FILE);
  const old = a.fresh ? null : readBatches(file);
  if (old) {
    const diff = settingsDiff(old.settings, settings);
    if (diff) throw new FileError(file, `holds bits/dim computed under other settings (${diff}); give the same settings to resume, or --fresh to start over`);
  }
  const store: BatchesFile = { version: 1, settings, batches: old?.batches ?? [] };
  const have = new Map<number, number>();
  for (const b of store.batches) b.bpd.forEach((v, i) => have.set(b.first + i, v));
  const todo = Array.from({ length: n }, (_, i) => i).filter((i) => !have.has(i));
  const batches = batchesOf(todo, B);
  const resumed = n - todo.length;
  if (resumed) console.error(`scoregpu: ${resumed} of ${n} images already in ${file}; ${todo.length} to go in ${batches.length} batch${batches.length === 1 ? '' : 'es'}`);

  // 100 units a batch; within a batch the solver's evaluations against what a batch has taken so far
  const bar = new Progress({ total: 100 * Math.max(1, batches.length), label: `bits/dim (${sde.name}, ${probe} probe), n=${n}` });
  const nfeSoFar = () => store.batches.map((b) => b.nfe);
  let shown = 0;
  const frozen = run.arena.params.map(([, p]) => p.value);
  for (let k = 0; k < batches.length; k++) {
    const { first, m } = batches[k];
    const past = nfeSoFar();
    const expected = past.length ? past.reduce((s, v) => s + v, 0) / past.length : 500;
    const r = await bitsPerDimBatch(device, run.net, sde, set.test, set.shape, first, m, {
      probe, rtol, atol, cond, seed, eps: LIKELIHOOD_EPS, frozen,
      onStep: (_t, nfe) => {
        const at = 100 * k + Math.min(99, Math.floor((100 * nfe) / expected));
        if (at > shown) bar.tick(at - shown, { batch: `${k + 1}/${batches.length}`, nfe });
        shown = Math.max(shown, at);
      },
    });
    store.batches.push({ first, bpd: Array.from(r.bpd), nfe: r.nfe, accepted: r.accepted, rejected: r.rejected, seconds: Number(r.seconds.toFixed(3)), at: new Date().toISOString() });
    store.batches.sort((x, y) => x.first - y.first);
    writeFileAtomic(file, JSON.stringify(store) + '\n');
    r.bpd.forEach((v, i) => have.set(first + i, v));
    const doneNow = Array.from({ length: n }, (_, i) => have.get(i)).filter((v): v is number => v !== undefined);
    bar.tick(100 * (k + 1) - shown, { images: `${doneNow.length}/${n}`, nfe: r.nfe, bpd: doneNow.reduce((s, v) => s + v, 0) / doneNow.length });
    shown = 100 * (k + 1);
  }
  bar.done();

  const bpd = Array.from({ length: n }, (_, i) => have.get(i)!);
  const mean = bpd.reduce((s, v) => s + v, 0) / n;
  const sd = n > 1 ? Math.sqrt(bpd.reduce((s, v) => s + (v - mean) ** 2, 0) / (n - 1)) : NaN;
  // the batches that hold these images (some perhaps from earlier calls): cost per image and per batch
  const used = store.batches.filter((b) => b.first < n);
  const seconds = used.reduce((s, b) => s + b.seconds, 0), imagesSolved = used.reduce((s, b) => s + b.bpd.length, 0);
  const report = {
    run: a.run, data: run.cfg.data, process: run.process.name, sde: sde.describe(), step: run.step, weights: run.weights,
    n, images: `the first ${n} test images`, bpd: mean, stderr: sd / Math.sqrt(n), sd,
    nfeMean: used.reduce((s, b) => s + b.nfe, 0) / used.length, nfePerBatch: used.map((b) => b.nfe), imagesPerBatch: used.map((b) => b.bpd.length), batch: B,
    seconds, secondsPerImage: seconds / imagesSolved, resumedImages: resumed, batchesFile: file,
    solver: 'rk45', rtol, atol, eps: LIKELIHOOD_EPS, probe, seed,
    dequantisation: 'uniform: (k + u)/256', noise: settings.noise, offset: rangeOffset(sde.dataRange), dataRange: sde.dataRange,
    perImage: bpd.map((v) => Number(v.toFixed(5))),
  };
  writeFileAtomic(join(dir, 'eval_bpd.json'), JSON.stringify(report, null, 2) + '\n');
  const { perImage, ...rest } = report;
  void perImage;
  console.log(JSON.stringify(rest, null, 2));
  return 0;
}
