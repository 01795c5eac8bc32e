// The image side of `scoregpu train` / `sample`: U-Net models on image data with the NCSN or DDPM
// process or a score SDE (VE, VP, sub-VP; sampled through their time grid by DDIM or ancestral
// sampling by default; em, pc, ode, dpmpp2m and heun too); sample grids from the EMA weights while training; loss curve; sampling to a PNG grid or
// an .npy array.
import { join, resolve } from 'node:path';
import { existsSync, readFileSync } from 'node:fs';
import type { Device } from '../gpu/device.js';
import type { OptSpec } from './args.js';
import { trainImage, loadImageRun, type ImageRunContext } from '../train/image.js';
import { imageConfig, type ImageConfig } from '../train/image_recipes.js';
import { makePlan, IMAGE_SAMPLERS, SPACINGS, PREDICTORS, CORRECTORS } from '../score/sampling/index.js';
import { samplerDefaults, sampleImages, defaultSampler, type SampleImagesOptions } from '../score/sampling/draw.js';
import { PROCESSES, type DiscreteProcess, type ProcessName, type ProcessSpec } from '../score/processes/index.js';
import { sdeOf, defaultSdeSpec } from '../score/sde/index.js';
import { UNET_PRESETS } from '../nn/unet.js';
import { defaultAdam } from '../train/optimizer.js';
import type { NoiseConditionalNet } from '../score/losses.js';
import { Progress } from '../io/progress.js';
import { imageGrid } from '../io/render_node.js';
import { writeFileAtomic, writeNpy, mkdirp } from '../io/fs.js';
import { saveWeights } from '../train/checkpoint.js';
import { RUN_FILES } from '../train/run_dir.js';
import { runOutputDir } from './output_dir.js';
import { loadClassifierRun, isClassifierRun, ACCURACY_FILE } from '../train/classifier.js';
import { writeLossPng } from './pictures.js';
import { drawOdeImages, ODE_OPTS } from './ode.js';
import { testWriteOptions } from './write_hooks.js';
import { keptCheckpoint, skippedNote } from './run_messages.js';
import { CLASSIFIER_GUIDANCE_OPTS, classifierGuidance, classNames } from './guidance.js';
import { ClassifierFreeGuidance, type LabelledNet } from '../score/guidance/cfg.js';
import { classIndex, FASHION_MNIST_CLASSES } from '../data/idx.js';
import type { LoadedImageRun } from '../train/image_model.js';
import type { Tensor } from '../tensor/tensor.js';

const lines = (o: Record<string, string>) => Object.entries(o).map(([k, v]) => `${k}: ${v}`).join('; ');

/**
 * The classifier-free guidance scale `--class K` uses on a class-conditional run without `--cfg`:
 * on models/fmnist-ddpm-cfg-small (DDIM-50, n = 32 a class) w = 3 has the evaluation classifier
 * label 95.6 % of the samples K averaged over the classes (shirt 69 %), w = 1 half the shirts (README).
 */
export const DEFAULT_CFG_SCALE = 3;

export const IMAGE_TRAIN_OPTS: OptSpec = {
  process: { type: 'string', help: `images: noise process — ${lines(PROCESSES)}`, default: 'ddpm' },
  preset: { type: 'string', help: `images: U-Net preset (${UNET_PRESETS.join(', ')})`, default: 'small' },
  schedule: { type: 'string', help: 'images, ddpm: β schedule linear | cosine', default: 'linear' },
  weighting: { type: 'string', help: 'images, ve/vp/subvp: continuous-time DSM weighting λ(t) — std2 (s(t)², default) | likelihood (g(t)²)' },
  'warmup': { type: 'number', help: 'learning-rate warm-up steps' },
  'sample-every': { type: 'number', help: 'images: steps between sample grids (EMA weights) written to the run, and one at the end (0: none)', default: 500 },
  'n-train': { type: 'number', help: 'images: use only the first N training images' },
  'class-conditional': { type: 'boolean', help: 'images: a class-conditional U-Net (label embedding, for classifier-free guidance: sample --class K --cfg W); needs labelled data' },
  'cond-drop': { type: 'number', help: 'images, class-conditional: probability a training label is replaced by the null class ∅ (default 0.1)' },
};

export function imageConfigFromArgs(a: Record<string, any>): ImageConfig {
  const process = (a.process ?? 'ddpm') as ProcessName;
  const base = imageConfig({ process });
  let over: Parameters<typeof imageConfig>[0] = { data: a.data === 'swissroll' ? 'fashion-mnist' : a.data, process, seed: a.seed ?? 0 };
  if (process === 'ddpm' && a.schedule) over.process = { kind: 'ddpm', schedule: a.schedule === 'cosine' ? 'cosine' : a.schedule === 'linear' ? 'linear' : badSchedule(a.schedule), T: 1000, betaStart: 1e-4, betaEnd: 0.02 };
  if (process === 'ncsn' && (a['sigma-max'] !== undefined || a['sigma-min'] !== undefined || a.levels !== undefined)) {
    over.process = { kind: 'ncsn', sigmaMax: a['sigma-max'] ?? 0, sigmaMin: a['sigma-min'] ?? 0.01, levels: a.levels ?? 0 };
  }
  if (process === 've' && (a['sigma-max'] !== undefined || a['sigma-min'] !== undefined)) {
    over.process = { ...defaultSdeSpec('ve'), sigmaMax: a['sigma-max'] ?? 0, sigmaMin: a['sigma-min'] ?? 0.01 } as ProcessSpec;
  }
  if (a.weighting !== undefined) over.sdeLoss = { weighting: a.weighting };
  if (a.preset) over.preset = a.preset;
  if (a.steps !== undefined) over.steps = a.steps;
  if (a.batch !== undefined) over.batchSize = a.batch;
  if (a['ema-decay'] !== undefined) over.emaDecay = a['ema-decay'];
  if (a['n-train'] !== undefined) over.nTrain = a['n-train'];
  if (a['class-conditional']) over = { ...over, classes: 0 }; // the number of classes comes from the data
  if (a['cond-drop'] !== undefined) over = { ...over, condDrop: a['cond-drop'] };
  const steps = over.steps ?? base.steps;
  if (a.lr !== undefined || a['lr-schedule'] !== undefined || a.warmup !== undefined) {
    over.optim = defaultAdam({ ...base.optim, lr: a.lr ?? base.optim.lr, warmup: a.warmup ?? base.optim.warmup, schedule: a['lr-schedule'] ?? base.optim.schedule, decaySteps: steps });
  } else over.optim = { ...base.optim, decaySteps: steps };
  return imageConfig(over);
}

function badSchedule(s: string): never {
  throw new Error(`unknown β schedule '${s}'; valid: linear, cosine`);
}

/** Samples to `out`: an .npy (the arrays) with its grid beside it as .png, or just the grid. */
function writeSamples(out: string, samples: Float32Array, shape: readonly number[], range: '[0,1]' | '[-1,1]', title: string): void {
  if (/\.npy$/i.test(out)) {
    writeNpy(out, samples, [samples.length / shape.reduce((a, b) => a * b, 1), ...shape]);
    writeGrid(out.replace(/\.npy$/i, '.png'), samples, shape, range, title);
  } else writeGrid(out, samples, shape, range, title);
}

/** A grid PNG of images in a process's range. */
export function writeGrid(path: string, samples: Float32Array, shape: readonly number[], range: '[0,1]' | '[-1,1]', title: string, nrow = 8): void {
  const n = samples.length / (shape[0] * shape[1] * shape[2]);
  writeFileAtomic(path, imageGrid(samples, [n, shape[0], shape[1], shape[2]], nrow, { range, title, scale: 2 }));
}

export { samplerDefaults, sampleImages, type SampleImagesOptions } from '../score/sampling/draw.js';

/** A grid from the EMA weights during training, with a quick sampler. */
async function progressGrid(device: Device, ctx: ImageRunContext, out: string, step: number): Promise<void> {
  const { cfg, process, trainer } = ctx;
  const { net, arena } = loadEmaCopy(device, ctx);
  void arena;
  const sampler = gridSampler(process);
  // a class-conditional run: row k of the 8×8 grid is class k mod K, with classifier-free guidance at the default w
  const K = cfg.classes ?? 0;
  const guided = K ? new ClassifierFreeGuidance(net, Array.from({ length: 64 }, (_, i) => Math.floor(i / 8) % K), DEFAULT_CFG_SCALE) : null;
  const r = await sampleImages(device, guided ?? net, process, cfg.shape, { sampler, n: 64, seed: 1, steps: 50, stepsPerLevel: 2 });
  guided?.dispose();
  writeGrid(join(out, `samples_step${String(step).padStart(6, '0')}.png`), r.samples, cfg.shape, process.dataRange, `${cfg.process.kind} step ${step}: ${sampler}, EMA weights` + (K ? `, ${K >= 8 ? 'rows: classes 0–7' : `row k: class k mod ${K}`}, cfg w = ${DEFAULT_CFG_SCALE}` : ''));
  void trainer;
}

/** Progress grids while training: annealed Langevin for NCSN, DDIM for the rest (the score SDEs through their time grid: quick). */
function gridSampler(process: DiscreteProcess): string {
  return !sdeOf(process) && process.prediction === 'score' ? 'annealed' : 'ddim';
}

/** One line on a process's parameters for the start of a run. */
function describeProcess(p: ProcessSpec): string {
  switch (p.kind) {
    case 'ncsn':
      return `${p.levels} levels σ ${p.sigmaMax.toFixed(2)} → ${p.sigmaMin}`;
    case 'ddpm':
      return `${p.schedule} β, T = ${p.T}`;
    case 've':
      return `σ(t) ${p.sigmaMin} → ${p.sigmaMax.toFixed(2)}, N = ${p.N}`;
    case 'vp':
    case 'subvp':
      return `β(t) ${p.betaMin} → ${p.betaMax}, N = ${p.N}`;
  }
}

function loadEmaCopy(device: Device, ctx: ImageRunContext) {
  // the trainer's EMA shadow has the arena's layout: sample from a view of it without copying
  const { net, trainer, arena } = ctx;
  if (!trainer.ema) return { net, arena };
  return { net: withArena(net, trainer.ema.shadow, arena), arena };
}

/** The same network reading its parameters from another arena of the same layout. */
function withArena(net: ImageRunContext['net'], data: import('../tensor/tensor.js').Tensor, arena: ImageRunContext['arena']): NoiseConditionalNet & LabelledNet {
  const views = arena.viewsOf(data);
  return {
    nullLabel: net.nullLabel,
    forward: (x: Tensor, c: Tensor, y?: Tensor) => {
      // swap the parameter views for the call (sampling runs without gradients)
      const saved = arena.params.map(([, p]) => p.value);
      arena.params.forEach(([, p], i) => (p.value = views[i]));
      try {
        return net.forward(x, c, y);
      } finally {
        arena.params.forEach(([, p], i) => (p.value = saved[i]));
      }
    },
  };
}

export async function trainImageCommand(device: Device, a: Record<string, any>): Promise<number> {
  const cfg = imageConfigFromArgs(a);
  const out: string = a.out === 'runs/toy' ? `runs/${cfg.process.kind}` : a.out;
  let bar: Progress | null = null;
  let last = 0;
  const r = await trainImage(device, cfg, {
    out,
    resume: !!a.resume,
    checkpointEvery: a['checkpoint-every'],
    logEvery: a['log-every'] === 50 ? 25 : a['log-every'],
    sampleEvery: a['sample-every'],
    write: testWriteOptions(),
    onStart: (t, c) => {
      const p = c.process;
      console.error(`scoregpu: ${c.preset} U-Net (${t.arena.size.toLocaleString()} parameter slots) on ${c.data} [${c.shape.join('×')}], process ${p.kind}` +
        ` (${describeProcess(p)})` + `, batch ${c.batchSize}, ${c.steps} steps` + (t.step ? `, resuming at step ${t.step}` : ''));
      bar = new Progress({ total: c.steps, label: `train ${p.kind} on ${c.data}`, initial: t.step });
      last = t.step;
    },
    skipNonFinite: !!a['skip-nonfinite'],
    onLog: (step, loss, ips, skipped) => {
      bar?.tick(step - last, { loss: loss.toPrecision(4), 'img/s': ips.toFixed(1), ...(skipped ? { skipped } : {}) });
      last = step;
    },
    onSample: a['sample-every'] === 0 ? undefined : (step, ctx) => progressGrid(device, ctx, out, step),
  });
  (bar as Progress | null)?.done();
  await writeLossPng(join(out, 'loss.png'), r.lossHistory, `training loss: ${r.cfg.process.kind} on ${r.cfg.data}`);
  console.log(`${r.trainer.step} steps, ${r.imgPerSec.toFixed(1)} img/s, ${r.trainer.dispatchesPerStep} dispatches and 1 submit per step${skippedNote(r.trainer.skippedSteps)}; run in ${out}`);
  if (r.diverged) {
    console.error(`stopped: ${r.diverged.message}; ${keptCheckpoint(r.checkpointStep, out)}`);
    return 1;
  }
  return 0;
}

export const IMAGE_SAMPLE_OPTS: OptSpec = {
  class: { type: 'string', help: `images: the class to draw — 0–9 or a Fashion-MNIST name (${FASHION_MNIST_CLASSES.join(', ')})` },
  cfg: { type: 'number', help: `images, class-conditional runs: classifier-free guidance scale w, ε̃ = (1 + w)·ε(x, y) − w·ε(x, ∅) (default ${DEFAULT_CFG_SCALE} with --class)` },
  ...CLASSIFIER_GUIDANCE_OPTS,
  eta: { type: 'number', help: 'ddim: η (0 deterministic)', default: 0 },
  spacing: { type: 'string', help: `ddim: timestep spacing (${SPACINGS.join(', ')})`, default: 'leading' },
  variance: { type: 'string', help: 'ancestral: posterior (β̃_t) | beta (β_t)', default: 'posterior' },
  clip: { type: 'boolean', help: 'clip x̂₀ to the data range in ancestral, ddim, dpmpp2m and heun (default: on for [−1, 1] data: ddpm, vp, subvp; em, pc and ode never clip)' },
  batch: { type: 'number', help: 'images per sampling chain', default: 64 },
  predictor: { type: 'string', help: `pc: the predictor (${Object.entries(PREDICTORS).map(([k, v]) => `${k} — ${v.help}`).join('; ')})`, default: 'reverse_diffusion' },
  corrector: { type: 'string', help: `pc: the corrector (${Object.entries(CORRECTORS).map(([k, v]) => `${k} — ${v.help}`).join('; ')})`, default: 'langevin' },
  snr: { type: 'number', help: 'pc: the correctors\' signal-to-noise ratio', default: 0.16 },
  'corrector-steps': { type: 'number', help: 'pc: corrector steps per noise level', default: 1 },
  churn: { type: 'number', help: 'heun: S_churn (0: deterministic; γ = min(S_churn/n, √2 − 1) per level within [--s-tmin, --s-tmax])', default: 0 },
  's-tmin': { type: 'number', help: 'heun: churn only where σ ≥ S_tmin', default: 0 },
  's-tmax': { type: 'number', help: 'heun: churn only where σ ≤ S_tmax (default ∞)' },
  's-noise': { type: 'number', help: 'heun: S_noise, the churn noise\'s scale', default: 1 },
  ...ODE_OPTS,
};

/** The sampler options of `sample` and `eval` (flags → PlanOptions). */
export function samplerOptions(sampler: string, n: number, a: Record<string, any>): SampleImagesOptions {
  return {
    sampler, n, seed: a.seed ?? 0, batch: a.batch,
    steps: a.steps, stepsPerLevel: a.steps, eta: a.eta, spacing: a.spacing, variance: a.variance, clip: a.clip, eps: a['step-size'], denoise: a.denoise,
    predictor: a.predictor, corrector: a.corrector, snr: a.snr, correctorSteps: a['corrector-steps'],
    churn: a.churn, sTmin: a['s-tmin'], sTmax: a['s-tmax'], sNoise: a['s-noise'],
  };
}

export const SAMPLER_HELP = Object.entries(IMAGE_SAMPLERS).map(([k, v]) => `${k} — ${v}`).join('; ') +
  '; ode — the probability-flow ODE from t = 1 to 1e-3 (score SDEs; linear-β ddpm and ncsn through their SDE), --method rk45|euler|heun, --rtol/--atol (1e-5), --steps (fixed-step), --denoise';

export async function sampleImageCommand(device: Device, a: Record<string, any>): Promise<number> {
  const run = loadImageRun(device, a.run, a.weights === 'params' ? 'params' : 'ema');
  const { cfg, process } = run;
  const sampler: string = a.sampler ?? defaultSampler(process);
  const cf = classifierFree(run, a);
  const guided = classifierGuidance(device, run, a, cf) ?? cf; // src/cli/guidance.ts: --classifier
  if (sampler === 'ode') return sampleOdeImages(device, run, a, guided);
  const n: number = a.n === 2000 ? 64 : a.n;
  const o = samplerOptions(sampler, n, a);
  const net = guided?.net ?? run.net;
  const plan = makePlan(sampler, process, samplerDefaults(process, sampler, o)); // validates before the long part
  const bar = new Progress({ total: plan.steps.length * Math.ceil(n / Math.min(n, a.batch ?? 64)), label: `sample ${plan.name}, n=${n}` });
  let last = 0;
  const r = await sampleImages(device, net, process, cfg.shape, { ...o, onProgress: (d) => { bar.tick(d - last); last = d; } });
  bar.done();
  const out: string = a.out ?? join(runOutputDir({ run: a.run }), `samples_${sampler}.png`);
  writeSamples(out, r.samples, cfg.shape, process.dataRange, `${cfg.process.kind}, ${plan.name}, ${r.nfe} NFE${guided?.caption ?? ''}`);
  console.log(`${n} images in ${r.seconds.toFixed(1)} s (${(n / r.seconds).toFixed(2)} img/s, ${r.nfe} network evaluations each${cf ? ' (each on the batch doubled: [y; ∅])' : ''}${guided !== cf ? ' plus a classifier forward and backward' : ''}, ${r.dispatchesPerStep} dispatches per step) → ${out}`);
  return 0;
}

/**
 * `--class K [--cfg W]` on a class-conditional run: the network wrapped in classifier-free guidance
 * (src/score/guidance/cfg.ts) and the grid caption naming the class and w; null when the run is
 * unconditional (`--class` is then classifier guidance's) or no class is asked for.
 */
function classifierFree(run: LoadedImageRun, a: Record<string, any>): { net: ClassifierFreeGuidance; caption: string } | null {
  const K = run.cfg.classes ?? 0;
  if (a.cfg !== undefined && !K) throw new Error(`--cfg is for class-conditional runs; ${a.run} is unconditional (train one with --class-conditional; for this run use --class K with a classifier)`);
  if (!K || a.class === undefined) {
    if (a.cfg !== undefined) throw new Error('--cfg needs --class K (the class to draw)');
    return null;
  }
  const names = classNames(run.cfg.data, K);
  const y = classIndex(a.class, names);
  const w: number = a.cfg ?? DEFAULT_CFG_SCALE;
  return { net: new ClassifierFreeGuidance(run.net, y, w), caption: `, class ${y} (${names[y]}), cfg w = ${w}` };
}

/** `scoregpu sample --sampler ode`: the probability-flow ODE (./ode.ts), a grid or an .npy. */
async function sampleOdeImages(device: Device, run: ReturnType<typeof loadImageRun>, a: Record<string, any>, guided: { net: NoiseConditionalNet; caption: string } | null): Promise<number> {
  const { cfg, process } = run;
  const n: number = a.n === 2000 ? 64 : a.n;
  const r = await drawOdeImages(device, guided?.net ?? run.net, process, cfg.shape, n, a);
  const out: string = a.out ?? join(runOutputDir({ run: a.run }), `samples_${r.tag}.png`);
  writeSamples(out, r.samples, cfg.shape, process.dataRange, `${cfg.process.kind}, ${r.name}, ${r.nfe.toFixed(0)} NFE${guided?.caption ?? ''}`);
  console.log(`${n} images in ${r.seconds.toFixed(1)} s (${(n / r.seconds).toFixed(2)} img/s, ${r.nfe.toFixed(1)} network evaluations each${r.settings.method === 'rk45' ? `, ${r.accepted} steps accepted and ${r.rejected} rejected` : ''}) → ${out}`);
  return 0;
}

export const EXPORT_OPTS: OptSpec = {
  run: { type: 'string', help: 'image run or classifier run (train-classifier) directory (its checkpoint)', default: 'runs/ddpm' },
  out: { type: 'string', help: 'model folder to write: model.safetensors (EMA weights, PyTorch names and layout), config.json, and the run\'s loss.csv (and a classifier\'s accuracy.json)' },
  weights: { type: 'string', help: 'ema | params', default: 'ema' },
};

/** A released model: one set of weights (no optimizer state), the config beside it, the run's small logs. */
export async function exportImageCommand(device: Device, a: Record<string, any>): Promise<number> {
  if (!a.out) throw new Error('--out is required (the model folder to write, e.g. models/fmnist-ddpm-small)');
  if (a.weights !== 'ema' && a.weights !== 'params') throw new Error(`--weights must be 'ema' or 'params', got '${a.weights}'`);
  if (resolve(a.out) === resolve(a.run)) throw new Error('--out must be another folder than --run');
  const classifier = isClassifierRun(a.run);
  const run = classifier ? { ...loadClassifierRun(device, a.run, a.weights), weights: a.weights as string } : loadImageRun(device, a.run, a.weights);
  mkdirp(a.out);
  const values = await run.arena.data.toArray();
  await saveWeights(join(a.out, 'model.safetensors'), run.net, run.arena, values, { config: run.cfg, step: run.step, weights: run.weights });
  writeFileAtomic(join(a.out, 'config.json'), JSON.stringify(run.cfg, null, 2) + '\n');
  for (const f of [RUN_FILES.lossCsv, ...(classifier ? [ACCURACY_FILE] : [])]) if (existsSync(join(a.run, f))) writeFileAtomic(join(a.out, f), readFileSync(join(a.run, f)));
  console.log(`${run.weights} weights of ${a.run} at step ${run.step} (${run.arena.size.toLocaleString()} values) → ${a.out}`);
  return 0;
}
