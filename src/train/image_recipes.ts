// Image recipes: the config an image run is made from (data, noise process, U-Net preset,
// optimisation) with its defaults per process, what comes from the data, and the model, process
// and loss it implies. No Node built-ins here (the browser bundle may take it); training and
// loading a run in a directory is image.ts.
import type { Device } from '../gpu/device.js';
import { Tensor } from '../tensor/tensor.js';
import { materialize, type ParamArena } from '../nn/module.js';
import { createUNet, UNET_PRESETS, type UNet, type UNetConfig, type UNetPreset } from '../nn/unet.js';
import { denoisingLoss, continuousDsmLoss, SDE_LOSS_DEFAULTS, type ProcessColumns, type SdeLossOptions, type Noise } from '../score/losses.js';
import { buildProcess, processTables, ncsnv2Levels, maxPairwiseDistance, PROCESSES, type DiscreteProcess, type ProcessSpec, type ProcessName } from '../score/processes/index.js';
import { defaultSdeSpec, isSdeSpec, sdeOf } from '../score/sde/index.js';
import { toRange, type ImageSet } from '../data/images.js';
import { Rng, deriveSeed } from '../data/rng.js';
import { defaultAdam, type AdamConfig } from './optimizer.js';
import type { TrainerConfig } from './trainer.js';
import { checkChoice } from './choice.js';
import { dropLabels, withLabels } from '../score/guidance/cfg.js';

export interface ImageConfig {
  kind: 'image';
  data: string;
  /** Per-image shape [C, H, W] (filled in from the data). */
  shape: [number, number, number];
  process: ProcessSpec;
  preset: UNetPreset;
  /** U-Net fields over the preset's (channels, image size and embedding follow data and process). */
  unet: Partial<UNetConfig>;
  steps: number;
  batchSize: number;
  seed: number;
  optim: AdamConfig;
  emaDecay: number;
  /** Use only this many training images (default all). */
  nTrain?: number;
  /** Score SDEs (ve, vp, subvp): the continuous-time DSM loss's ε, weighting and reduction (default SDE_LOSS_DEFAULTS). */
  sdeLoss?: Partial<SdeLossOptions>;
  /** Class-conditional (classifier-free guidance): the number of classes K (0: from the data); the U-Net embeds K + 1 labels (∅ = K). */
  classes?: number;
  /** Class-conditional: the probability a training label is replaced by ∅ (default 0.1). */
  condDrop?: number;
}

/**
 * Defaults per process (small preset): DDPM with Ho et al.'s linear β over T = 1000 and the ε-loss;
 * NCSN with σ levels from the data by NCSNv2's rules (filled in by `resolveImageConfig`); the score
 * SDEs with score_sde's defaults (VE σ_min 0.01 and σ_max from the data by NCSNv2's rule; VP and
 * sub-VP β 0.1 → 20; N = 1000) and the continuous-time DSM loss. AdamW at
 * 1e-3 with 200 warm-up steps and a cosine decay to 10 % over the run, gradient norm clipped at 1,
 * EMA 0.999 (warmed up): tuned for runs of thousands of steps, not DDPM's 800k.
 */
export function imageConfig(over: Partial<Omit<ImageConfig, 'process'>> & { process?: ProcessName | ProcessSpec } = {}): ImageConfig {
  const pname = typeof over.process === 'string' ? over.process : over.process?.kind ?? 'ddpm';
  checkChoice('process', pname, Object.keys(PROCESSES) as ProcessName[]);
  const process: ProcessSpec = typeof over.process === 'object' ? over.process
    : pname === 'ncsn' ? { kind: 'ncsn', sigmaMax: 0, sigmaMin: 0.01, levels: 0 } // 0: from the data
    : pname === 'ddpm' ? { kind: 'ddpm', schedule: 'linear', T: 1000, betaStart: 1e-4, betaEnd: 0.02 }
    : defaultSdeSpec(pname); // VE's σ_max 0: from the data
  const steps = over.steps ?? 6000;
  const cfg: ImageConfig = {
    kind: 'image', data: 'fashion-mnist', shape: [1, 28, 28], preset: 'small', unet: {},
    batchSize: 64, seed: 0, emaDecay: 0.999,
    ...over,
    steps,
    process,
    optim: over.optim ?? defaultAdam({ lr: 1e-3, warmup: 200, clipNorm: 1, schedule: 'cosine', decaySteps: steps, lrEndFactor: 0.1 }),
  };
  checkChoice('U-Net preset', cfg.preset, UNET_PRESETS);
  if (!(Number.isInteger(cfg.steps) && cfg.steps > 0)) throw new Error(`steps must be a positive integer, got ${cfg.steps}`);
  if (!(Number.isInteger(cfg.batchSize) && cfg.batchSize > 0)) throw new Error(`batch must be a positive integer, got ${cfg.batchSize}`);
  if (!(cfg.emaDecay >= 0 && cfg.emaDecay < 1)) throw new Error(`EMA decay must be in [0, 1), got ${cfg.emaDecay}`);
  if (cfg.sdeLoss) {
    if (!isSdeSpec(cfg.process)) throw new Error(`the continuous-time loss options are for the score SDEs (ve, vp, subvp), not '${cfg.process.kind}'`);
    const o = { ...SDE_LOSS_DEFAULTS, ...cfg.sdeLoss };
    checkChoice('loss weighting', o.weighting, ['std2', 'likelihood'] as const);
    checkChoice('loss reduction', o.reduction, ['mean', 'half-sum'] as const);
    if (!(o.eps > 0 && o.eps < 1)) throw new Error(`the loss's smallest time ε must be in (0, 1), got ${o.eps}`);
  }
  if (cfg.classes !== undefined) {
    if (!(Number.isInteger(cfg.classes) && cfg.classes >= 0 && cfg.classes <= 4096)) throw new Error(`classes must be an integer in [1, 4096] (0: from the data), got ${cfg.classes}`);
    cfg.condDrop ??= 0.1;
  }
  if (cfg.condDrop !== undefined) {
    if (cfg.classes === undefined) throw new Error('--cond-drop is for class-conditional runs (--class-conditional)');
    if (!(cfg.condDrop >= 0 && cfg.condDrop <= 1)) throw new Error(`the label drop probability must be in [0, 1], got ${cfg.condDrop}`);
  }
  return cfg;
}

/** Fill in what comes from the data: the image shape, the number of classes, NCSN's σ levels by NCSNv2's rules, VE's σ_max by the same rule. */
export function resolveImageConfig(cfg: ImageConfig, set: ImageSet): ImageConfig {
  const out: ImageConfig = { ...cfg, shape: [...set.shape] };
  if (cfg.classes === 0) {
    if (!set.trainLabels) throw new Error(`${set.name} has no labels: a class-conditional model needs labelled data (fashion-mnist, an idx: directory)`);
    out.classes = set.classes?.length ?? set.trainLabels.reduce((m, y) => Math.max(m, y + 1), 1);
  }
  const p = out.process;
  const D = set.shape[0] * set.shape[1] * set.shape[2];
  if (p.kind === 'ncsn' && (!(p.sigmaMax > 0) || !(p.levels > 0))) {
    const rule = ncsnv2Levels(p.sigmaMax > 0 ? p.sigmaMax : dataMaxDistance(set, cfg.seed), D, p.sigmaMin > 0 ? p.sigmaMin : 0.01);
    out.process = { kind: 'ncsn', sigmaMax: rule.sigmaMax, sigmaMin: rule.sigmaMin, levels: p.levels > 0 ? p.levels : rule.levels };
  }
  if (p.kind === 've' && !(p.sigmaMax > 0)) {
    const sigmaMin = p.sigmaMin > 0 ? p.sigmaMin : 0.01;
    out.process = { ...p, sigmaMin, sigmaMax: Math.max(dataMaxDistance(set, cfg.seed), 2 * sigmaMin) };
  }
  return out;
}

/**
 * NCSNv2's technique 1: σ_max ≈ the largest Euclidean distance between two training points, in
 * [0, 1] pixel units (the range NCSN and VE train in), over a seeded subset of at most 1000 images.
 */
function dataMaxDistance(set: ImageSet, seed: number): number {
  const D = set.shape[0] * set.shape[1] * set.shape[2];
  const n = Math.min(1000, set.train.length / D);
  const perm = new Rng(deriveSeed(seed, 7)).permutation(set.train.length / D).subarray(0, n);
  const sub = new Float32Array(n * D);
  perm.forEach((j, i) => sub.set(toRange(set.train.subarray(j * D, j * D + D), '[0,1]'), i * D));
  return maxPairwiseDistance(sub, D);
}

export function buildImageModel(device: Device, cfg: ImageConfig): { net: UNet; arena: ParamArena; process: DiscreteProcess } {
  const process = buildProcess(cfg.process);
  const [C, H, W] = cfg.shape;
  if (H !== W) throw new Error(`the U-Net takes square images; the data are ${H}×${W}`);
  const net = createUNet(cfg.preset, {
    ...cfg.unet,
    channels: C,
    imageSize: H,
    seed: cfg.seed,
    ...(cfg.classes ? { classes: cfg.classes } : {}),
    // NCSN: Fourier features of log σ and the output divided by σ (NCSNv2); DDPM: sinusoidal t
    ...(process.prediction === 'score' ? { embedding: 'fourier', scaleBySigma: true } : { embedding: 'sinusoidal', scaleBySigma: false }),
  });
  return { net, arena: materialize(device, net), process };
}

/**
 * The loss of a process: for a score SDE the continuous-time DSM loss (t drawn per row on the
 * device, coefficients computed from t; `sdeLoss` its options); for a discrete process its
 * per-index columns on the device and the denoising loss over them. A class-conditional network
 * reads the batch's labels, each replaced by ∅ with probability `condDrop` (classifier-free guidance).
 */
export function imageLoss(device: Device, process: DiscreteProcess, net: UNet, sdeLoss?: Partial<SdeLossOptions>, condDrop = 0.1) {
  const labelled = (noise: Noise, labels?: Tensor) => {
    if (!net.classEmbed) return net;
    if (!labels) throw new Error('a class-conditional model trains on labelled data (this data set has no labels)');
    return withLabels(net, dropLabels(labels, noise, condDrop, net.nullLabel));
  };
  const sde = sdeOf(process);
  if (sde) return (x: Tensor, noise: Noise, labels?: Tensor) => continuousDsmLoss(labelled(noise, labels), sde, x, noise, sdeLoss);
  const t = processTables(process);
  const N = process.N;
  const cols: ProcessColumns = {
    mean: Tensor.fromArray(device, t.mean, [N, 1], `${process.name} means`).keep(),
    std: Tensor.fromArray(device, t.std, [N, 1], `${process.name} stds`).keep(),
    cond: Tensor.fromArray(device, t.cond, [N, 1], `${process.name} conditioning`).keep(),
    prediction: process.prediction,
    reduction: process.prediction === 'score' ? 'half-sum' : 'mean',
  };
  return (x: Tensor, noise: Noise, labels?: Tensor) => denoisingLoss(labelled(noise, labels), cols, x, noise);
}

export function imageTrainerConfig(cfg: ImageConfig, logEvery = 25): TrainerConfig {
  return { batchSize: cfg.batchSize, seed: cfg.seed, optim: cfg.optim, emaDecay: cfg.emaDecay, logEvery };
}
