// Noise-conditional classifier runs (for classifier guidance, src/score/guidance/classifier.ts):
// a classifier p_φ(y | x_t, t) (src/nn/noise_classifier.ts) trained by the engine's Trainer on
// noised images of a diffusion run's data at that run's noise levels — per image a noise index
// i ~ U{0 … N−1} as the denoising loss draws it, x_i = m_i·x₀ + s_i·ε, cross-entropy of the logits
// at the image's label — with AdamW, EMA, checkpoints and --resume exactly as an image run
// (checkpoint.ts, run_dir.ts). The run directory holds config.json, checkpoint.safetensors,
// loss.csv and accuracy.json (accuracy on noised test images at a few noise indices, EMA weights).
import { join } from 'node:path';
import { existsSync, readFileSync } from 'node:fs';
import type { Device } from '../gpu/device.js';
import { Tensor } from '../tensor/tensor.js';
import * as op from '../autograd/ops.js';
import { noGrad } from '../autograd/engine.js';
import { randn } from '../tensor/ops/random.js';
import { materialize, type ParamArena } from '../nn/module.js';
import { createNoiseClassifier, noiseClassifierConfig, type NoiseClassifier, type NoiseClassifierConfig } from '../nn/noise_classifier.js';
import { crossEntropy, oneHot } from '../nn/classifier.js';
import { buildProcess, processTables, type DiscreteProcess, type ProcessSpec } from '../score/processes/index.js';
import type { Noise } from '../score/losses.js';
import { loadImageSet, byteScale, toRange, type ImageSet } from '../data/images.js';
import { FileError } from '../gpu/errors.js';
import { mkdirp, readSafetensors, removeStaleTemps, writeFileAtomic, type AtomicWriteOptions } from '../io/fs.js';
import { Trainer, TrainingDiverged } from './trainer.js';
import { defaultAdam, type AdamConfig } from './optimizer.js';
import { checkpointOf, loadWeights, fromFileConfig, checkModelFits, configInt } from './checkpoint.js';
import { RUN_FILES, writeRunConfig } from './run_dir.js';
import { RunLoop } from './run_loop.js';

export interface ClassifierRunConfig {
  kind: 'noise-classifier';
  /** The diffusion run whose data and noise process it was trained for (for messages). */
  diffusionRun?: string;
  data: string;
  shape: [number, number, number];
  process: ProcessSpec;
  net: NoiseClassifierConfig;
  steps: number;
  batchSize: number;
  seed: number;
  optim: AdamConfig;
  emaDecay: number;
}

export const ACCURACY_FILE = 'accuracy.json';

/**
 * A classifier run's config for a diffusion process on some data: the U-Net's noise-level
 * embedding (Fourier of log σ for score-predicting processes, sinusoidal of t otherwise), AdamW
 * 1e-3 with 100 warm-up steps and a cosine decay to 10 %, clip 1, EMA 0.999.
 */
export function classifierConfig(o: { data: string; shape: [number, number, number]; process: ProcessSpec; diffusionRun?: string; steps?: number; batchSize?: number; seed?: number; net?: Partial<NoiseClassifierConfig>; classes?: number }): ClassifierRunConfig {
  const steps = o.steps ?? 2000;
  const batchSize = o.batchSize ?? 64;
  if (!(Number.isInteger(steps) && steps > 0)) throw new Error(`steps must be a positive integer, got ${steps}`);
  if (!(Number.isInteger(batchSize) && batchSize > 0)) throw new Error(`batch must be a positive integer, got ${batchSize}`);
  const proc = buildProcess(o.process);
  const [C, H, W] = o.shape;
  if (H !== W) throw new Error(`the classifier takes square images; the data are ${H}×${W}`);
  const net = noiseClassifierConfig({
    channels: C, imageSize: H, classes: o.classes ?? 10, seed: o.seed ?? 0,
    embedding: proc.prediction === 'score' ? 'fourier' : 'sinusoidal',
    ...o.net,
  });
  return {
    kind: 'noise-classifier', diffusionRun: o.diffusionRun, data: o.data, shape: [C, H, W], process: o.process, net,
    steps, batchSize, seed: o.seed ?? 0, emaDecay: 0.999,
    optim: defaultAdam({ lr: 1e-3, warmup: 100, clipNorm: 1, schedule: 'cosine', decaySteps: steps, lrEndFactor: 0.1 }),
  };
}

export function buildClassifier(device: Device, cfg: ClassifierRunConfig): { net: NoiseClassifier; arena: ParamArena; process: DiscreteProcess } {
  const process = buildProcess(cfg.process);
  const net = createNoiseClassifier(cfg.net);
  return { net, arena: materialize(device, net), process };
}

/**
 * Cross-entropy on noised images: per image i ~ U{0 … N−1}, x_i = m_i·x₀ + s_i·ε, the classifier
 * fed the process's noise-level input at i (as the score network is).
 */
export function classifierLoss(device: Device, process: DiscreteProcess, net: NoiseClassifier) {
  const t = processTables(process);
  const N = process.N;
  const mean = Tensor.fromArray(device, t.mean, [N, 1], `${process.name} means`).keep();
  const std = Tensor.fromArray(device, t.std, [N, 1], `${process.name} stds`).keep();
  const cond = Tensor.fromArray(device, t.cond, [N, 1], `${process.name} conditioning`).keep();
  return (x: Tensor, noise: Noise, labels?: Tensor) => {
    if (!labels) throw new Error('classifier training needs labelled images');
    const B = x.shape[0];
    const idx = noise.randint([B], N);
    const col = (c: Tensor) => op.reshape(op.gather(c, idx), [B, 1, 1, 1]);
    const xt = op.add(op.mul(col(mean), x), op.mul(col(std), noise.normal([...x.shape])));
    return crossEntropy(net.logits(xt, op.gather(cond, idx)), oneHot(labels, net.cfg.classes));
  };
}

export interface ClassifierRunOptions {
  out: string;
  resume?: boolean;
  checkpointEvery?: number;
  logEvery?: number;
  onStart?: (t: Trainer, cfg: ClassifierRunConfig) => void;
  onLog?: (step: number, loss: number, imgPerSec: number) => void | Promise<void>;
  /** Accuracy evaluation at the end: images per noise level (0: none). */
  evalImages?: number;
  onEvalLevel?: (done: number, total: number) => void;
  set?: ImageSet;
  write?: AtomicWriteOptions;
}

export interface LevelAccuracy {
  index: number;
  /** The network's noise-level input, the marginal's std and σ = s/m there. */
  cond: number;
  std: number;
  sigma: number;
  accuracy: number;
  n: number;
}

export interface ClassifierRunResult {
  cfg: ClassifierRunConfig;
  net: NoiseClassifier;
  arena: ParamArena;
  trainer: Trainer;
  lossHistory: [number, number][];
  imgPerSec: number;
  accuracy: LevelAccuracy[] | null;
  diverged?: TrainingDiverged;
  /** The step of the checkpoint on disk (null: none written). */
  checkpointStep: number | null;
}

/** Train (or resume) a classifier run in `o.out`; at the end, the EMA weights' accuracy on noised test images (accuracy.json). */
export async function trainClassifier(device: Device, cfgIn: ClassifierRunConfig, o: ClassifierRunOptions): Promise<ClassifierRunResult> {
  mkdirp(o.out);
  removeStaleTemps(o.out);
  const ckPath = join(o.out, RUN_FILES.checkpoint);
  let cfg = cfgIn;
  let resume: ReturnType<typeof checkpointOf> | null = null;
  if (o.resume) {
    if (!existsSync(ckPath)) throw new Error(`--resume: ${o.out} has no ${RUN_FILES.checkpoint} to resume from`);
    resume = classifierCheckpointOf(ckPath);
    cfg = { ...(resume.config as ClassifierRunConfig), steps: Math.max(cfgIn.steps, resume.step) };
  }
  const set = o.set ?? loadImageSet(cfg.data, { seed: cfg.seed });
  if (!set.trainLabels) throw new Error(`${cfg.data}: the training images have no labels; a classifier needs them`);
  const { net, arena, process } = resume ? fromFileConfig(ckPath, () => buildClassifier(device, cfg)) : buildClassifier(device, cfg);
  const range = process.dataRange;
  const values = set.train instanceof Uint8Array ? set.train : toRange(set.train, range);
  const trainer = new Trainer(device, arena, classifierLoss(device, process, net), {
    values, rowShape: [...cfg.shape], ...(set.train instanceof Uint8Array ? byteScale(range) : {}), labels: set.trainLabels,
  }, { batchSize: cfg.batchSize, seed: cfg.seed, optim: cfg.optim, emaDecay: cfg.emaDecay, logEvery: o.logEvery ?? 25 });
  const loop = new RunLoop({ dir: o.out, model: net, trainer, config: cfg, seed: cfg.seed, write: o.write }, resume);
  writeRunConfig(o.out, cfg, o.write);
  o.onStart?.(trainer, cfg);
  const { rate: imgPerSec, diverged } = await loop.runTo(device, cfg.steps, {
    checkpointEvery: o.checkpointEvery ?? 500,
    perStep: cfg.batchSize,
    onLog: o.onLog,
  });
  if (loop.checkpointStep !== trainer.step && !diverged) await loop.save(); // a resumed run with nothing left to do
  let accuracy: LevelAccuracy[] | null = null;
  const nEval = o.evalImages ?? 1000;
  if (!diverged && nEval > 0 && set.testLabels) {
    const ema = loadClassifierRun(device, o.out);
    try {
      accuracy = await noisedAccuracy(device, ema.net, ema.process, set, { n: nEval, seed: cfg.seed, onLevel: o.onEvalLevel });
    } finally {
      ema.arena.dispose();
    }
    writeFileAtomic(join(o.out, ACCURACY_FILE), JSON.stringify({ step: trainer.step, weights: 'ema', images: nEval, levels: accuracy }, null, 2) + '\n', o.write);
  }
  return { cfg, net, arena, trainer, lossHistory: loop.lossHistory, imgPerSec, accuracy, diverged, checkpointStep: loop.checkpointStep };
}

/** The noise indices accuracy is reported at: 0, 5 %, 10 %, 25 %, 50 %, 75 % and 100 % of the way up. */
export function accuracyLevels(N: number): number[] {
  return [...new Set([0, 0.05, 0.1, 0.25, 0.5, 0.75, 1].map((f) => Math.round(f * (N - 1))))];
}

/**
 * Accuracy of the classifier on the first n test images noised to each of `levels` (default
 * accuracyLevels): x_i = m_i·x₀ + s_i·ε with ε drawn on the device (seeded), argmax of the logits.
 */
export async function noisedAccuracy(device: Device, net: NoiseClassifier, process: DiscreteProcess, set: ImageSet, o: { n?: number; seed?: number; levels?: number[]; batch?: number; onLevel?: (done: number, total: number) => void } = {}): Promise<LevelAccuracy[]> {
  if (!set.testLabels) throw new Error('the test images have no labels');
  const D = set.shape[0] * set.shape[1] * set.shape[2];
  const n = Math.min(o.n ?? 1000, set.test.length / D);
  const B = Math.min(n, o.batch ?? 250);
  const levels = o.levels ?? accuracyLevels(process.N);
  const x0 = toRange(set.test.subarray(0, n * D), process.dataRange);
  const out: LevelAccuracy[] = [];
  for (const [li, i] of levels.entries()) {
    const { mean: m, std: s } = process.marginal(i);
    const c = process.conditioning(i);
    let correct = 0;
    for (let b0 = 0; b0 < n; b0 += B) {
      const nb = Math.min(B, n - b0);
      const l = device.scope(() =>
        noGrad(() => {
          const x = Tensor.fromArray(device, x0.subarray(b0 * D, (b0 + nb) * D), [nb, ...set.shape]);
          const z = randn(device, [nb, ...set.shape], (o.seed ?? 0) + 1000 * li, { stream: b0 });
          const cond = Tensor.fromArray(device, new Float32Array(nb).fill(c), [nb, 1]);
          return net.logits(op.axpby(m, x, s, z), cond);
        }),
      );
      const logits = await l.toArray();
      l.dispose();
      const K = net.cfg.classes;
      for (let r = 0; r < nb; r++) {
        let best = 0;
        for (let k = 1; k < K; k++) if (logits[r * K + k] > logits[r * K + best]) best = k;
        if (best === set.testLabels[b0 + r]) correct++;
      }
    }
    out.push({ index: i, cond: c, std: s, sigma: s / m, accuracy: correct / n, n });
    o.onLevel?.(li + 1, levels.length);
  }
  return out;
}

/** A trained classifier loaded for guidance (EMA weights by default). */
export interface LoadedClassifier {
  cfg: ClassifierRunConfig;
  net: NoiseClassifier;
  arena: ParamArena;
  process: DiscreteProcess;
  step: number;
}

function classifierCheckpointOf(path: string): ReturnType<typeof checkpointOf> {
  const ck = checkpointOf(readSafetensors(path), path);
  const cfg = ck.config as Partial<ClassifierRunConfig>;
  if (cfg.kind !== 'noise-classifier') throw new FileError(path, `not a noise-conditional classifier run (config kind ${JSON.stringify(cfg.kind) ?? 'missing'}; train one with scoregpu train-classifier --run DIFFUSION_RUN)`);
  const net = (cfg.net ?? {}) as Partial<NoiseClassifierConfig>;
  const base = configInt(path, 'net.base', net.base, 2, 1024);
  if (!Array.isArray(net.mults) || net.mults.length < 1 || net.mults.length > 6) throw new FileError(path, 'config field net.mults must list 1 to 6 levels');
  const nres = configInt(path, 'net.numResBlocks', net.numResBlocks, 1, 16);
  configInt(path, 'net.classes', net.classes, 2, 100_000);
  configInt(path, 'net.channels', net.channels, 1, 64);
  configInt(path, 'net.imageSize', net.imageSize, 1, 4096);
  let estimate = 0;
  for (const [i, m] of net.mults.entries()) estimate += nres * 34 * (base * configInt(path, `net.mults[${i}]`, m, 1, 64)) ** 2;
  checkModelFits(path, ck.file, estimate);
  return ck;
}

/** Whether a directory holds a classifier run or model folder (its config.json says kind "noise-classifier"). */
export function isClassifierRun(dir: string): boolean {
  try {
    return JSON.parse(readFileSync(join(dir, RUN_FILES.config), 'utf8')).kind === 'noise-classifier';
  } catch {
    return false;
  }
}

/** Load a classifier run directory (its checkpoint's EMA weights), or a model folder (model.safetensors, from `scoregpu export`), for guidance or evaluation. */
export function loadClassifierRun(device: Device, dir: string, which: 'ema' | 'params' = 'ema'): LoadedClassifier {
  const path = [join(dir, RUN_FILES.checkpoint), join(dir, 'model.safetensors')].find((p) => existsSync(p));
  if (!path) throw new FileError(dir, `no ${RUN_FILES.checkpoint} or model.safetensors: not a classifier run (train one with scoregpu train-classifier --run DIFFUSION_RUN --out ${dir})`);
  const ck = classifierCheckpointOf(path);
  const cfg = ck.config as ClassifierRunConfig;
  const { net, arena, process } = fromFileConfig(path, () => buildClassifier(device, cfg));
  loadWeights(net, arena, ck.file, path, which);
  return { cfg, net, arena, process, step: ck.step };
}
