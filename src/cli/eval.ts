import { existsSync } from 'node:fs';
import type { Device } from '../gpu/device.js';
import type { OptSpec } from './args.js';
import { loadToyRun } from '../train/toy_run.js';
import { readSamplesNpy, writeFileAtomic } from '../io/fs.js';
import { FileError } from '../gpu/errors.js';
import { loadDataset } from '../data/dataset.js';
import { evaluateSamples } from '../eval/metrics.js';
import { isToyName, sampleToy } from '../data/toy.js';
import { deriveSeed } from '../data/rng.js';
import { runPaths } from './pictures.js';
import { sampleRun, SAMPLE_OPTS } from './sample.js';
import { isImageRun } from '../train/image.js';
import { evalImageCommand } from './image_eval.js';
import { ODE_OPTS, BPD_OPTS } from './ode.js';

export const EVAL_OPTS: OptSpec = {
  run: { type: 'string', help: 'run directory', default: 'runs/toy' },
  samples: { type: 'string', help: 'samples .npy (default RUN/samples.npy; drawn if missing)' },
  n: { type: 'number', help: 'samples compared per set (default 2000 toy, 1000 images)' },
  seeds: { type: 'list', help: 'also draw fresh samples with each of these sampler seeds (e.g. 1,2,3) and report each and the mean: how much a figure owes to one chain' },
  // the sampler is chosen as in `scoregpu sample` (toy runs: these draw fresh samples, see TOY_DRAW_FLAGS)
  sampler: SAMPLE_OPTS.sampler,
  steps: SAMPLE_OPTS.steps,
  'step-size': SAMPLE_OPTS['step-size'],
  'step-size-end': SAMPLE_OPTS['step-size-end'],
  init: SAMPLE_OPTS.init,
  'init-scale': SAMPLE_OPTS['init-scale'],
  denoise: SAMPLE_OPTS.denoise,
  eta: SAMPLE_OPTS.eta,
  spacing: SAMPLE_OPTS.spacing,
  variance: SAMPLE_OPTS.variance,
  clip: SAMPLE_OPTS.clip,
  batch: SAMPLE_OPTS.batch,
  predictor: SAMPLE_OPTS.predictor,
  corrector: SAMPLE_OPTS.corrector,
  snr: SAMPLE_OPTS.snr,
  'corrector-steps': SAMPLE_OPTS['corrector-steps'],
  churn: SAMPLE_OPTS.churn,
  's-tmin': SAMPLE_OPTS['s-tmin'],
  's-tmax': SAMPLE_OPTS['s-tmax'],
  's-noise': SAMPLE_OPTS['s-noise'],
  seed: { type: 'number', help: 'sampler seed' },
  out: { type: 'string', help: 'images: folder for eval_*.json/.npy/.png (default the run directory; for a model folder such as models/NAME, which is not written into, runs/eval/NAME)' },
  weights: SAMPLE_OPTS.weights,
  references: { type: 'boolean', help: 'images: also score real test images blurred twice by a 3×3 box and with Gaussian noise of std 0.1', default: false },
  ...ODE_OPTS,
  ...BPD_OPTS,
};

/**
 * Toy runs: the flags that say how to draw samples, as `sample` takes them. Given any (or
 * --denoise=false, --weights params), eval draws fresh samples with them instead of reading
 * RUN/samples.npy; with --samples FILE they cannot apply, and eval says so.
 */
export const TOY_DRAW_FLAGS = ['sampler', 'steps', 'step-size', 'step-size-end', 'init', 'init-scale', 'seed'] as const;

function drawFlagsGiven(a: Record<string, any>): string[] {
  const given: string[] = TOY_DRAW_FLAGS.filter((k) => a[k] !== undefined).map((k) => '--' + k);
  if (a.denoise === false) given.push('--denoise=false');
  if (a.weights !== undefined && a.weights !== 'ema') given.push('--weights ' + a.weights);
  return given;
}

/** What `sample` gets to draw toy samples with these eval flags. */
function drawArgs(a: Record<string, any>, seed?: number): Record<string, any> {
  const d: Record<string, any> = { run: a.run, n: a.n, weights: a.weights ?? 'ema', denoise: a.denoise };
  for (const k of TOY_DRAW_FLAGS) if (a[k] !== undefined) d[k] = a[k];
  if (seed !== undefined) d.seed = seed;
  return d;
}

export async function evaluateRun(device: Device, a: Record<string, any>) {
  a = { ...a, n: a.n ?? 2000 };
  const run = loadToyRun(device, a.run);
  const paths = runPaths(a.run);
  const given = drawFlagsGiven(a);
  if (given.length && a.samples !== undefined) {
    throw new Error(`${given.join(', ')} say${given.length > 1 ? '' : 's'} how to draw samples, and --samples ${a.samples} is scored as it is: drop one`);
  }
  const file = a.samples ?? paths.samplesNpy;
  let samples: Float32Array;
  if (existsSync(file) && !given.length) {
    const read = readSamplesNpy(file);
    if (read.samples.length % run.cfg.dim !== 0 || (read.shape.length > 1 && read.shape[read.shape.length - 1] !== run.cfg.dim)) {
      throw new FileError(file, `shape [${read.shape.join(', ')}] does not hold rows of ${run.cfg.dim} values (this run's data dimension)`);
    }
    samples = read.samples;
  } else {
    // drawn with the sampler flags given (written to RUN/samples.npy only when none were: that file
    // is what a later plain `eval` scores)
    samples = (await sampleRun(device, drawArgs(a), true, !given.length)).samples;
  }
  const data = loadDataset(run.cfg.data, { seed: run.cfg.seed, nTrain: 1, nHeld: a.n });
  // Toy sets: the floor is the mean over five fresh independent draws (what an exact sampler
  // scores on average); files: the second held-out split.
  const refs = isToyName(run.cfg.data)
    ? [0, 1, 2, 3, 4].map((k) => sampleToy(run.cfg.data, a.n, deriveSeed(run.cfg.seed, 100 + k)))
    : [data.held2];
  const score = (x: Float32Array) => {
    const m = evaluateSamples(x, data.held, refs, run.cfg.dim, { maxN: a.n });
    return { ...m, ratio: { energyDistance: m.energyDistance / m.floor.energyDistance, mmd: m.mmd / Math.max(m.floor.mmd, 1e-12), sw2: m.sw2 / m.floor.sw2 } };
  };
  const m = score(samples);
  let seeds: { seed: number; energyDistance: number; ratio: number }[] | undefined;
  let seedMean: number | undefined;
  if (a.seeds) {
    seeds = [];
    for (const seed of a.seeds as number[]) {
      if (!Number.isInteger(seed)) throw new Error(`--seeds must be integers, got '${seed}'`);
      const x = (await sampleRun(device, drawArgs(a, seed), true, false)).samples;
      const r = score(x);
      seeds.push({ seed, energyDistance: r.energyDistance, ratio: r.ratio.energyDistance });
    }
    seedMean = seeds.reduce((t, r) => t + r.ratio, 0) / seeds.length;
  }
  const report = {
    run: a.run, data: run.cfg.data, loss: run.cfg.loss, step: run.step, sampler: a.sampler ?? run.cfg.sampler,
    samples: given.length ? `drawn (${given.join(' ')})` : file,
    ...m,
    ...(seeds ? { seeds, seedMeanRatio: seedMean } : {}),
  };
  writeFileAtomic(paths.metrics, JSON.stringify(report, null, 2) + '\n');
  return report;
}

export async function evalCommand(device: Device, a: Record<string, any>): Promise<number> {
  if (isImageRun(a.run)) return evalImageCommand(device, a);
  console.log(JSON.stringify(await evaluateRun(device, a), null, 2));
  return 0;
}
