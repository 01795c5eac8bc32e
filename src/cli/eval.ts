import { existsSync } from 'node:fs';
import type { Device } from '../gpu/device.js';
import type { OptSpec } from './args.js';
import { loadRun } from './toyrun.js';
import { readNpy, writeFileAtomic } from '../io/fs.js';
import { loadDataset } from '../data/dataset.js';
import { evaluateSamples } from '../eval/metrics.js';
import { isToyName, sampleToy } from '../data/toy.js';
import { deriveSeed } from '../data/rng.js';
import { runPaths } from './pictures.js';
import { sampleRun } from './sample.js';

export const EVAL_OPTS: OptSpec = {
  run: { type: 'string', help: 'run directory', default: 'runs/toy' },
  samples: { type: 'string', help: 'samples .npy (default RUN/samples.npy; drawn if missing)' },
  n: { type: 'number', help: 'points compared per set', default: 2000 },
};

export async function evaluateRun(device: Device, a: Record<string, any>) {
  const run = loadRun(device, a.run);
  const paths = runPaths(a.run);
  const file = a.samples ?? paths.samplesNpy;
  let samples: Float32Array;
  if (existsSync(file)) {
    const npy = readNpy(file);
    samples = Float32Array.from(npy.data as ArrayLike<number>);
  } else {
    samples = (await sampleRun(device, { run: a.run, n: a.n, weights: 'ema' }, true)).samples;
  }
  const data = loadDataset(run.cfg.data, { seed: run.cfg.seed, nTrain: 1, nHeld: a.n });
  // Toy sets: the floor is the mean over five fresh independent draws (what an exact sampler
  // scores on average); files: the second held-out split.
  const refs = isToyName(run.cfg.data)
    ? [0, 1, 2, 3, 4].map((k) => sampleToy(run.cfg.data, a.n, deriveSeed(run.cfg.seed, 100 + k)))
    : [data.held2];
  const m = evaluateSamples(samples, data.held, refs, run.cfg.dim, { maxN: a.n });
  const report = {
    run: a.run, data: run.cfg.data, loss: run.cfg.loss, step: run.step, sampler: run.cfg.sampler,
    ...m,
    ratio: { energyDistance: m.energyDistance / m.floor.energyDistance, mmd: m.mmd / Math.max(m.floor.mmd, 1e-12), sw2: m.sw2 / m.floor.sw2 },
  };
  writeFileAtomic(paths.metrics, JSON.stringify(report, null, 2) + '\n');
  return report;
}

export async function evalCommand(device: Device, a: Record<string, any>): Promise<number> {
  console.log(JSON.stringify(await evaluateRun(device, a), null, 2));
  return 0;
}
