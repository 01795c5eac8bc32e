// Image runs: training (or resuming) a run in a directory with checkpoints that resume exactly,
// and loading a trained model for sampling. The config, model, process and loss come from
// image_recipes.ts. The CLI, the tests, the bench and the examples share these; nothing here prints.
import { join } from 'node:path';
import { existsSync, readFileSync } from 'node:fs';
import type { Device } from '../gpu/device.js';
import type { ParamArena } from '../nn/module.js';
import type { UNet } from '../nn/unet.js';
import type { DiscreteProcess } from '../score/processes/index.js';
import { loadImageSet, byteScale, toRange, type ImageSet } from '../data/images.js';
import { Trainer, TrainingDiverged } from './trainer.js';
import { saveCheckpoint, checkpointOf, restoreTrainer, loadWeights, checkModelFits, configInt, fromFileConfig } from './checkpoint.js';
import type { StFile } from '../io/safetensors.js';
import { FileError } from '../gpu/errors.js';
import { unetConfig } from '../nn/unet.js';
import { resolveImageConfig, buildImageModel, imageLoss, imageTrainerConfig, type ImageConfig } from './image_recipes.js';
import { mkdirp, readSafetensors } from '../io/fs.js';
import { RUN_FILES, writeRunConfig, writeLossCsv, readLossCsv } from './run_dir.js';

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

/** Train (or resume) an image run in `o.out`: config.json, checkpoint.safetensors, loss.csv. */
export async function trainImage(device: Device, cfgIn: ImageConfig, o: ImageRunOptions): Promise<ImageRunResult> {
  mkdirp(o.out);
  const ckPath = join(o.out, RUN_FILES.checkpoint);
  let cfg = cfgIn;
  let resume: ReturnType<typeof checkpointOf> | null = null;
  if (o.resume) {
    if (!existsSync(ckPath)) throw new Error(`--resume: ${o.out} has no ${RUN_FILES.checkpoint} to resume from`);
    resume = readImageCheckpoint(ckPath);
    const saved = resume.config as ImageConfig;
    // the run's own config, with the step budget (and the cosine horizon) the caller asks for now
    cfg = { ...saved, steps: Math.max(cfgIn.steps, resume.step) };
  }
  const set = o.set ?? loadImageSet(cfg.data, { seed: cfg.seed });
  if (!resume) cfg = resolveImageConfig(cfg, set);
  const { net, arena, process } = resume ? fromFileConfig(ckPath, () => buildImageModel(device, cfg)) : buildImageModel(device, cfg);
  const range = process.dataRange;
  const D = set.shape[0] * set.shape[1] * set.shape[2];
  let train = set.train;
  if (cfg.nTrain !== undefined) {
    if (!(cfg.nTrain >= 1 && cfg.nTrain * D <= train.length)) throw new Error(`nTrain ${cfg.nTrain}: the data set has ${train.length / D} training images`);
    train = train.subarray(0, cfg.nTrain * D);
  }
  const values = train instanceof Uint8Array ? train : toRange(train, range);
  const trainer = new Trainer(device, arena, imageLoss(device, process, net, cfg.sdeLoss), {
    values,
    rowShape: [...cfg.shape],
    ...(train instanceof Uint8Array ? byteScale(range) : {}),
    labels: set.trainLabels && cfg.nTrain === undefined ? set.trainLabels : set.trainLabels?.subarray(0, cfg.nTrain),
  }, imageTrainerConfig(cfg, o.logEvery));
  let lossHistory: [number, number][] = [];
  if (resume) {
    restoreTrainer(net, trainer, resume.file, ckPath, resume.step);
    lossHistory = readLossCsv(o.out, resume.step);
  }
  writeRunConfig(o.out, cfg);
  const ctx: ImageRunContext = { cfg, net, arena, process, trainer, set };
  o.onStart?.(trainer, cfg);
  const every = o.checkpointEvery ?? 500;
  const save = async () => {
    await saveCheckpoint(ckPath, net, trainer, { config: cfg, step: trainer.step, seed: cfg.seed });
    writeLossCsv(o.out, lossHistory);
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
  const ck = readImageCheckpoint(path);
  const cfg = ck.config as ImageConfig;
  const { net, arena, process } = fromFileConfig(path, () => buildImageModel(device, cfg));
  const weights = loadWeights(net, arena, ck.file, path, which);
  return { cfg, net, arena, process, step: ck.step, weights };
}

/**
 * An image checkpoint whose config is safe to build from: the sizes that allocate or loop are
 * integers in sane ranges, and the U-Net they describe is about as large as the weights the file
 * holds (a corrupt or foreign config cannot make us allocate more than the file justifies).
 */
function readImageCheckpoint(path: string): ReturnType<typeof checkpointOf> {
  return imageCheckpointOf(readSafetensors(path), path);
}

/** A read safetensors file as an image model's checkpoint, its config checked (see above). */
export function imageCheckpointOf(file: StFile, path: string): ReturnType<typeof checkpointOf> {
  const ck = checkpointOf(file, path);
  const cfg = ck.config as Partial<ImageConfig>;
  if (cfg.kind !== 'image') throw new FileError(path, 'not an image model (a toy run? use scoregpu sample with its toy options)');
  if (!Array.isArray(cfg.shape) || cfg.shape.length !== 3) throw new FileError(path, 'config field shape must be [C, H, W]');
  const [C, H] = cfg.shape.map((d, i) => configInt(path, `shape[${i}]`, d, 1, i === 0 ? 64 : 4096));
  const p = (cfg.process ?? {}) as unknown as Record<string, unknown>;
  for (const k of ['T', 'N', 'levels']) if (p[k] !== undefined) configInt(path, `process.${k}`, p[k], 1, 1_000_000);
  configInt(path, 'batchSize', cfg.batchSize, 1, 1 << 16);
  const u = fromFileConfig(path, () => unetConfig(cfg.preset, { ...(cfg.unet ?? {}), channels: C, imageSize: H }));
  const base = configInt(path, 'unet.base', u.base, 1, 4096);
  const nres = configInt(path, 'unet.numResBlocks', u.numResBlocks, 1, 64);
  if (!Array.isArray(u.mults) || u.mults.length > 8) throw new FileError(path, 'config field unet.mults must list 1 to 8 levels');
  const widths = u.mults.map((m, i) => base * configInt(path, `unet.mults[${i}]`, m, 1, 64));
  // a residual block holds about 9·(2C)·C + 9·C·C + 2C·C weights (two 3×3 convs, a 1×1 skip), an
  // attention block 4·C²; each level has nres blocks down and nres + 1 up, the middle two more
  let estimate = 9 * C * base * 2;
  for (const c of widths) estimate += (2 * nres + 1) * 34 * c * c;
  estimate += 2 * 34 * widths[widths.length - 1] ** 2;
  checkModelFits(path, ck.file, estimate);
  return ck;
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
