// Image runs: the config a run is made from (data, noise process, U-Net preset, optimisation), the
// model, process and loss it implies, and the training loop with checkpoints that resume exactly.
// The CLI, the tests, the bench and the examples share these; nothing here prints.
import { join } from 'node:path';
import { existsSync, readFileSync } from 'node:fs';
import type { Device } from '../gpu/device.js';
import { Tensor } from '../tensor/tensor.js';
import { materialize, type ParamArena } from '../nn/module.js';
import { createUNet, UNET_PRESETS, type UNet, type UNetConfig, type UNetPreset } from '../nn/unet.js';
import { denoisingLoss, type ProcessColumns } from '../score/losses.js';
import { buildProcess, processTables, ncsnv2Levels, maxPairwiseDistance, PROCESSES, type DiscreteProcess, type ProcessSpec, type ProcessName } from '../score/processes/index.js';
import { loadImageSet, byteScale, toRange, type ImageSet } from '../data/images.js';
import { Rng, deriveSeed } from '../data/rng.js';
import { defaultAdam, type AdamConfig } from './optimizer.js';
import { Trainer, TrainingDiverged, type TrainerConfig } from './trainer.js';
import { saveCheckpoint, readCheckpoint, restoreTrainer, loadWeights } from './checkpoint.js';
import { writeFileAtomic, mkdirp } from '../io/fs.js';

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
}

export function checkChoice<T extends string>(what: string, value: string, valid: readonly T[]): T {
  if (!valid.includes(value as T)) throw new Error(`unknown ${what} '${value}'; valid: ${valid.join(', ')}`);
  return value as T;
}

/**
 * Defaults per process (small preset): DDPM with Ho et al.'s linear β over T = 1000 and the ε-loss;
 * NCSN with σ levels from the data by NCSNv2's rules (filled in by `resolveImageConfig`). AdamW at
 * 1e-3 with 200 warm-up steps and a cosine decay to 10 % over the run, gradient norm clipped at 1,
 * EMA 0.999 (warmed up): tuned for runs of thousands of steps, not DDPM's 800k.
 */
export function imageConfig(over: Partial<Omit<ImageConfig, 'process'>> & { process?: ProcessName | ProcessSpec } = {}): ImageConfig {
  const pname = typeof over.process === 'string' ? over.process : over.process?.kind ?? 'ddpm';
  checkChoice('process', pname, Object.keys(PROCESSES) as ProcessName[]);
  const process: ProcessSpec = typeof over.process === 'object' ? over.process
    : pname === 'ncsn' ? { kind: 'ncsn', sigmaMax: 0, sigmaMin: 0.01, levels: 0 } // 0: from the data
    : { kind: 'ddpm', schedule: 'linear', T: 1000, betaStart: 1e-4, betaEnd: 0.02 };
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
  return cfg;
}

/** Fill in what comes from the data: the image shape, and NCSN's σ levels by NCSNv2's rules. */
export function resolveImageConfig(cfg: ImageConfig, set: ImageSet): ImageConfig {
  const out: ImageConfig = { ...cfg, shape: [...set.shape] };
  const p = out.process;
  if (p.kind === 'ncsn' && (!(p.sigmaMax > 0) || !(p.levels > 0))) {
    const D = set.shape[0] * set.shape[1] * set.shape[2];
    const n = Math.min(1000, set.train.length / D);
    const perm = new Rng(deriveSeed(cfg.seed, 7)).permutation(set.train.length / D).subarray(0, n);
    const sub = new Float32Array(n * D);
    perm.forEach((j, i) => sub.set(toRange(set.train.subarray(j * D, j * D + D), '[0,1]'), i * D));
    const rule = ncsnv2Levels(p.sigmaMax > 0 ? p.sigmaMax : maxPairwiseDistance(sub, D), D, p.sigmaMin > 0 ? p.sigmaMin : 0.01);
    out.process = { kind: 'ncsn', sigmaMax: rule.sigmaMax, sigmaMin: rule.sigmaMin, levels: p.levels > 0 ? p.levels : rule.levels };
  }
  return out;
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
    // NCSN: Fourier features of log σ and the output divided by σ (NCSNv2); DDPM: sinusoidal t
    ...(process.prediction === 'score' ? { embedding: 'fourier', scaleBySigma: true } : { embedding: 'sinusoidal', scaleBySigma: false }),
  });
  return { net, arena: materialize(device, net), process };
}

/** The process's columns on the device and the loss over them. */
export function imageLoss(device: Device, process: DiscreteProcess, net: UNet) {
  const t = processTables(process);
  const N = process.N;
  const cols: ProcessColumns = {
    mean: Tensor.fromArray(device, t.mean, [N, 1], `${process.name} means`).keep(),
    std: Tensor.fromArray(device, t.std, [N, 1], `${process.name} stds`).keep(),
    cond: Tensor.fromArray(device, t.cond, [N, 1], `${process.name} conditioning`).keep(),
    prediction: process.prediction,
    reduction: process.prediction === 'score' ? 'half-sum' : 'mean',
  };
  return (x: Tensor, noise: Parameters<typeof denoisingLoss>[3]) => denoisingLoss(net, cols, x, noise);
}

export function imageTrainerConfig(cfg: ImageConfig, logEvery = 25): TrainerConfig {
  return { batchSize: cfg.batchSize, seed: cfg.seed, optim: cfg.optim, emaDecay: cfg.emaDecay, logEvery };
}

export interface ImageRunOptions {
  out: string;
  resume?: boolean;
  checkpointEvery?: number;
  logEvery?: number;
  /** Called at every log with the step, the mean loss since the last log and images/s. */
  onLog?: (step: number, loss: number, imgPerSec: number) => void | Promise<void>;
  onStart?: (t: Trainer, cfg: ImageConfig) => void;
  /** Called every `sampleEvery` steps and at the end (e.g. to write a sample grid from the EMA weights). */
  onSample?: (step: number, ctx: ImageRunContext) => void | Promise<void>;
  sampleEvery?: number;
  /** Preloaded data (tests, repeated runs). */
  set?: ImageSet;
  /** Stop at this step (checkpointed) though the run's budget is longer: a session's share of a run. */
  until?: number;
}

export interface ImageRunContext {
  cfg: ImageConfig;
  net: UNet;
  arena: ParamArena;
  process: DiscreteProcess;
  trainer: Trainer;
  set: ImageSet;
}

export interface ImageRunResult extends ImageRunContext {
  lossHistory: [number, number][];
  imgPerSec: number;
  diverged?: TrainingDiverged;
}

export const RUN_FILES = { checkpoint: 'checkpoint.safetensors', config: 'config.json', lossCsv: 'loss.csv' } as const;

/** Train (or resume) an image run in `o.out`: config.json, checkpoint.safetensors, loss.csv. */
export async function trainImage(device: Device, cfgIn: ImageConfig, o: ImageRunOptions): Promise<ImageRunResult> {
  mkdirp(o.out);
  const ckPath = join(o.out, RUN_FILES.checkpoint);
  let cfg = cfgIn;
  let resume: ReturnType<typeof readCheckpoint> | null = null;
  if (o.resume) {
    if (!existsSync(ckPath)) throw new Error(`--resume: ${o.out} has no ${RUN_FILES.checkpoint} to resume from`);
    resume = readCheckpoint(ckPath);
    const saved = resume.config as ImageConfig;
    if (saved.kind !== 'image') throw new Error(`${ckPath}: not an image run`);
    // the run's own config, with the step budget (and the cosine horizon) the caller asks for now
    cfg = { ...saved, steps: Math.max(cfgIn.steps, resume.step) };
  }
  const set = o.set ?? loadImageSet(cfg.data, { seed: cfg.seed });
  if (!resume) cfg = resolveImageConfig(cfg, set);
  const { net, arena, process } = buildImageModel(device, cfg);
  const range = process.dataRange;
  const D = set.shape[0] * set.shape[1] * set.shape[2];
  let train = set.train;
  if (cfg.nTrain !== undefined) {
    if (!(cfg.nTrain >= 1 && cfg.nTrain * D <= train.length)) throw new Error(`nTrain ${cfg.nTrain}: the data set has ${train.length / D} training images`);
    train = train.subarray(0, cfg.nTrain * D);
  }
  const values = train instanceof Uint8Array ? train : toRange(train, range);
  const trainer = new Trainer(device, arena, imageLoss(device, process, net), {
    values,
    rowShape: [...cfg.shape],
    ...(train instanceof Uint8Array ? byteScale(range) : {}),
    labels: set.trainLabels && cfg.nTrain === undefined ? set.trainLabels : set.trainLabels?.subarray(0, cfg.nTrain),
  }, imageTrainerConfig(cfg, o.logEvery));
  let lossHistory: [number, number][] = [];
  if (resume) {
    restoreTrainer(net, trainer, resume.file, ckPath, resume.step);
    const csv = join(o.out, RUN_FILES.lossCsv);
    if (existsSync(csv)) {
      lossHistory = readFileSync(csv, 'utf8').trim().split('\n').slice(1).map((l) => l.split(',').map(Number) as [number, number]).filter(([s]) => s <= resume!.step);
    }
  }
  writeFileAtomic(join(o.out, RUN_FILES.config), JSON.stringify(cfg, null, 2) + '\n');
  const ctx: ImageRunContext = { cfg, net, arena, process, trainer, set };
  o.onStart?.(trainer, cfg);
  const every = o.checkpointEvery ?? 500;
  const save = async () => {
    await saveCheckpoint(ckPath, net, trainer, { config: cfg, step: trainer.step, seed: cfg.seed });
    writeFileAtomic(join(o.out, RUN_FILES.lossCsv), 'step,loss\n' + lossHistory.map(([s, l]) => `${s},${l}`).join('\n') + '\n');
  };
  const t0 = performance.now();
  const s0 = trainer.step;
  let diverged: TrainingDiverged | undefined;
  try {
    const end = Math.min(cfg.steps, o.until ?? cfg.steps);
    await trainer.run(Math.max(0, end - trainer.step), async (step, loss) => {
      lossHistory.push([step, loss]);
      const ips = ((step - s0) * cfg.batchSize) / ((performance.now() - t0) / 1000);
      await o.onLog?.(step, loss, ips);
      if (step % every === 0 || step === end) await save();
      if (o.onSample && o.sampleEvery && step % o.sampleEvery === 0 && step !== cfg.steps) await o.onSample(step, ctx);
    });
  } catch (e) {
    if (!(e instanceof TrainingDiverged)) throw e;
    diverged = e; // the checkpoint on disk is the last good one
  }
  await device.sync();
  const imgPerSec = ((trainer.step - s0) * cfg.batchSize) / ((performance.now() - t0) / 1000);
  if (!diverged && o.onSample) await o.onSample(trainer.step, ctx);
  return { ...ctx, lossHistory, imgPerSec, diverged };
}

/** A trained image model loaded for sampling: EMA weights by default. */
export interface LoadedImageRun {
  cfg: ImageConfig;
  net: UNet;
  arena: ParamArena;
  process: DiscreteProcess;
  step: number;
  weights: 'ema' | 'params';
}

/** Load a run directory (or a released model's folder) holding checkpoint.safetensors or model.safetensors. */
export function loadImageRun(device: Device, dir: string, which: 'ema' | 'params' = 'ema'): LoadedImageRun {
  const candidates = [join(dir, RUN_FILES.checkpoint), join(dir, 'model.safetensors')];
  const path = candidates.find((p) => existsSync(p));
  if (!path) throw new Error(`${dir}: no ${RUN_FILES.checkpoint} or model.safetensors (train first: scoregpu train --data fashion-mnist --model unet --out ${dir})`);
  const ck = readCheckpoint(path);
  const cfg = ck.config as ImageConfig;
  if (cfg?.kind !== 'image') throw new Error(`${path}: not an image model (a toy run? use scoregpu sample with its toy options)`);
  const { net, arena, process } = buildImageModel(device, cfg);
  const weights = loadWeights(net, arena, ck.file, path, which);
  return { cfg, net, arena, process, step: ck.step, weights };
}

/** Whether a run directory holds an image model (vs a toy run). */
export function isImageRun(dir: string): boolean {
  for (const f of [join(dir, RUN_FILES.config)]) {
    if (existsSync(f)) {
      try {
        return JSON.parse(readFileSync(f, 'utf8')).kind === 'image';
      } catch {
        return false;
      }
    }
  }
  return existsSync(join(dir, 'model.safetensors'));
}
