import type { Device } from '../gpu/device.js';
import type { OptSpec } from './args.js';
import { toyConfig } from '../train/toy_recipes.js';
import type { ToyConfig } from '../train/toy_config.js';
import { defaultAdam } from '../train/optimizer.js';
import { trainToy } from '../train/toy_run.js';
import { describeFit, fitAdvice } from '../train/toy_fit.js';
import { Progress } from '../io/progress.js';
import { writeLossPng, runPaths } from './pictures.js';
import { loadDataset } from '../data/dataset.js';
import { isImageSpec } from '../data/images.js';
import { IMAGE_TRAIN_OPTS, trainImageCommand } from './images.js';
import { testWriteOptions } from './write_hooks.js';
import { keptCheckpoint, skippedNote } from './run_messages.js';

export const TRAIN_OPTS: OptSpec = {
  data: { type: 'string', help: 'toy set (swissroll, 8gaussians, moons, checkerboard, rings, pinwheel, 2spirals), FILE.npy [N, D]; images: fashion-mnist, idx:DIR (MNIST-format files), FILE.npy [N, H, W] or [N, C, H, W]', default: 'swissroll' },
  model: { type: 'string', help: 'mlp | energy (toy); unet (images)' },
  loss: { type: 'string', help: 'esm | dsm | ssm | ssmvr | deen | ncsn', default: 'dsm' },
  steps: { type: 'number', help: 'training steps' },
  batch: { type: 'number', help: 'batch size' },
  lr: { type: 'number', help: 'learning rate' },
  'lr-schedule': { type: 'string', help: 'constant | cosine (decay to 1% at the last step)' },
  'ema-decay': { type: 'number', help: 'EMA decay of the weights sampling uses' },
  hidden: { type: 'list', help: 'hidden widths, e.g. 128,128,128' },
  sigma: { type: 'number', help: 'noise level for dsm/deen, or the data\'s smoothing for ssm/ssmvr/esm (0: none); data units (default: 0.1 × the data\'s scale)' },
  antithetic: { type: 'boolean', help: 'dsm/deen: each row with noise z and −z, which cancels the loss\'s noisiest term (twice the rows per step; default on for deen, --no-antithetic turns it off)' },
  'sigma-max': { type: 'number', help: 'largest NCSN noise level, data units (default: the largest distance between two training points)' },
  'sigma-min': { type: 'number', help: 'smallest NCSN noise level, data units (default: half the median nearest-neighbour distance)' },
  levels: { type: 'number', help: 'NCSN noise levels (default: from σ_max/σ_min and NCSNv2\'s γ)' },
  seed: { type: 'number', help: 'random seed', default: 0 },
  out: { type: 'string', help: 'run directory', default: 'runs/toy' },
  resume: { type: 'boolean', help: 'continue from the run directory\'s checkpoint' },
  'checkpoint-every': { type: 'number', help: 'steps between checkpoints', default: 500 },
  'log-every': { type: 'number', help: 'steps between loss read-backs', default: 50 },
  'skip-nonfinite': { type: 'boolean', help: 'skip steps whose loss or gradients are NaN/Inf (not applied, counted in the log) instead of stopping' },
  ...IMAGE_TRAIN_OPTS,
};

export function configFromArgs(a: Record<string, any>): ToyConfig {
  const over: Partial<ToyConfig> = { data: a.data, loss: a.loss, seed: a.seed };
  if (a.model) over.model = a.model;
  if (a.steps !== undefined) over.steps = a.steps;
  if (a.batch !== undefined) over.batchSize = a.batch;
  if (a.hidden) over.hidden = a.hidden;
  if (a.sigma !== undefined) over.sigma = a.sigma;
  if (a.antithetic !== undefined) over.antithetic = a.antithetic;
  if (a['sigma-max'] !== undefined) over.sigmaMax = a['sigma-max'];
  if (a['sigma-min'] !== undefined) over.sigmaMin = a['sigma-min'];
  if (a.levels !== undefined) over.levels = a.levels;
  if (a['ema-decay'] !== undefined) over.emaDecay = a['ema-decay'];
  if (a.lr !== undefined || a['lr-schedule'] !== undefined) {
    const base = toyConfig({ loss: a.loss }).optim;
    over.optim = defaultAdam({ ...base, lr: a.lr ?? base.lr, schedule: a['lr-schedule'] ?? base.schedule, decaySteps: undefined });
  }
  const cfg = toyConfig(over as any);
  if (!(cfg.emaDecay >= 0 && cfg.emaDecay < 1)) throw new Error(`--ema-decay must be in [0, 1), got ${cfg.emaDecay}`);
  if (!(cfg.steps > 0 && Number.isInteger(cfg.steps))) throw new Error(`--steps must be a positive integer, got ${cfg.steps}`);
  if (!(cfg.batchSize > 0 && Number.isInteger(cfg.batchSize))) throw new Error(`--batch must be a positive integer, got ${cfg.batchSize}`);
  const single = cfg.loss === 'dsm' || cfg.loss === 'deen';
  if (a.sigma !== undefined) {
    if (cfg.loss === 'ncsn') throw new Error('--sigma is for single-σ objectives; ncsn takes --sigma-max, --sigma-min and --levels');
    if (!(Number.isFinite(a.sigma) && (single ? a.sigma > 0 : a.sigma >= 0))) throw new Error(`--sigma must be a ${single ? 'positive' : 'non-negative'} number (data units) for ${cfg.loss}, got ${a.sigma}`);
  }
  for (const k of ['sigma-max', 'sigma-min'] as const) if (a[k] !== undefined && !(Number.isFinite(a[k]) && a[k] > 0)) throw new Error(`--${k} must be a positive number (data units), got ${a[k]}`);
  if (a['sigma-max'] !== undefined && a['sigma-min'] !== undefined && !(a['sigma-min'] < a['sigma-max'])) throw new Error(`--sigma-min (${a['sigma-min']}) must be below --sigma-max (${a['sigma-max']})`);
  if (a.levels !== undefined && !(Number.isInteger(a.levels) && a.levels >= 2)) throw new Error(`--levels must be an integer ≥ 2, got ${a.levels}`);
  loadDataset(cfg.data, { nTrain: 1, nHeld: 1 }); // fail fast on an unknown data set
  return cfg;
}

export async function trainCommand(device: Device, a: Record<string, any>): Promise<number> {
  if (a.model === 'unet' || isImageSpec(a.data)) {
    if (a.model && a.model !== 'unet') throw new Error(`--model ${a.model} is a toy model; image data trains --model unet`);
    return trainImageCommand(device, a);
  }
  if (a.process !== 'ddpm' || a.preset !== 'small') throw new Error('--process and --preset are for image models (--model unet)');
  if (a['class-conditional'] || a['cond-drop'] !== undefined) throw new Error('--class-conditional and --cond-drop are for image models (--model unet on labelled images)');
  const cfg = configFromArgs(a);
  const out: string = a.out;
  const bar = new Progress({ total: cfg.steps, label: `train ${cfg.loss} on ${cfg.data}` });
  let last = 0;
  const r = await trainToy(device, cfg, {
    out,
    resume: !!a.resume,
    checkpointEvery: a['checkpoint-every'],
    logEvery: a['log-every'],
    skipNonFinite: !!a['skip-nonfinite'],
    // noise scales, step sizes and the chains' start from the data; the flags given win (data units)
    fit: { sigma: a.sigma, sigmaMax: a['sigma-max'], sigmaMin: a['sigma-min'], levels: a.levels },
    onConfig: (c) => {
      if (c.norm && !a.resume) {
        console.log(describeFit(c));
        const advice = fitAdvice(c);
        if (advice) console.log(advice);
      }
    },
    write: testWriteOptions(),
    onStart: (t) => {
      last = t.step;
      bar.resumeAt(t.step);
    },
    onLog: (step, loss, _sps, skipped) => {
      bar.tick(step - last, { loss: loss.toPrecision(4), ...(skipped ? { skipped } : {}) });
      last = step;
    },
  });
  bar.done();
  await writeLossPng(runPaths(out).lossPng, r.lossHistory, `training loss: ${cfg.loss} on ${cfg.data}`);
  console.log(`${r.trainer.step} steps, ${r.stepsPerSec.toFixed(1)} steps/s, ${r.trainer.dispatchesPerStep} dispatches per step${skippedNote(r.trainer.skippedSteps)}; run in ${out}`);
  if (r.diverged) {
    console.error(`stopped: ${r.diverged.message}; ${keptCheckpoint(r.checkpointStep, out)}`);
    return 1;
  }
  return 0;
}
