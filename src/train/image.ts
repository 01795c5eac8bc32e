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
import { checkpointOf, fromFileConfig } from './checkpoint.js';
import { loadImageModel, imageCheckpointOf, type LoadedImageRun } from './image_model.js';
import { resolveImageConfig, buildImageModel, imageLoss, imageTrainerConfig, type ImageConfig } from './image_recipes.js';
import { mkdirp, readSafetensors, removeStaleTemps, type AtomicWriteOptions } from '../io/fs.js';
import { RUN_FILES, writeRunConfig } from './run_dir.js';
import { RunLoop } from './run_loop.js';

export { loadImageModel, imageCheckpointOf, type LoadedImageRun };

export interface ImageRunOptions {
  out: string;
  resume?: boolean;
  checkpointEvery?: number;
  logEvery?: number;
  /** Called at every log with the step, the mean loss of the applied steps since the last log, images/s and the steps skipped so far as non-finite. */
  onLog?: (step: number, loss: number, imgPerSec: number, skipped: number) => void | Promise<void>;
  /** Go on past steps whose loss or gradients are not finite (not applied, counted) instead of stopping. */
  skipNonFinite?: boolean;
  onStart?: (t: Trainer, cfg: ImageConfig) => void;
  /** Called every `sampleEvery` steps and at the end (e.g. to write a sample grid from the EMA weights). */
  onSample?: (step: number, ctx: ImageRunContext) => void | Promise<void>;
  sampleEvery?: number;
  /** Preloaded data (tests, repeated runs). */
  set?: ImageSet;
  /** Stop at this step (checkpointed) though the run's budget is longer: a session's share of a run. */
  until?: number;
  /** Options of the run's atomic file writes (tests hook their stages to kill a writer mid-write). */
  write?: AtomicWriteOptions;
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
  /** The step of the checkpoint on disk (null: none written yet). */
  checkpointStep: number | null;
}

/** Train (or resume) an image run in `o.out`: config.json, checkpoint.safetensors, loss.csv. */
export async function trainImage(device: Device, cfgIn: ImageConfig, o: ImageRunOptions): Promise<ImageRunResult> {
  mkdirp(o.out);
  removeStaleTemps(o.out); // left by a run killed mid-write
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
  if (cfg.classes) checkLabels(set, cfg.classes);
  const trainer = new Trainer(device, arena, imageLoss(device, process, net, cfg.sdeLoss, cfg.condDrop), {
    values,
    rowShape: [...cfg.shape],
    ...(train instanceof Uint8Array ? byteScale(range) : {}),
    labels: set.trainLabels && cfg.nTrain === undefined ? set.trainLabels : set.trainLabels?.subarray(0, cfg.nTrain),
  }, { ...imageTrainerConfig(cfg, o.logEvery), nonFinite: o.skipNonFinite ? 'skip' : 'stop' });
  const loop = new RunLoop({ dir: o.out, model: net, trainer, config: cfg, seed: cfg.seed, write: o.write }, resume);
  writeRunConfig(o.out, cfg, o.write);
  const ctx: ImageRunContext = { cfg, net, arena, process, trainer, set };
  o.onStart?.(trainer, cfg);
  const { rate: imgPerSec, diverged } = await loop.runTo(device, Math.min(cfg.steps, o.until ?? cfg.steps), {
    checkpointEvery: o.checkpointEvery ?? 500,
    perStep: cfg.batchSize,
    onLog: (step, loss, ips) => o.onLog?.(step, loss, ips, trainer.skippedSteps),
    afterLog: async (step) => {
      if (o.onSample && o.sampleEvery && step % o.sampleEvery === 0 && step !== cfg.steps) await o.onSample(step, ctx);
    },
  });
  if (!diverged && o.onSample) await o.onSample(trainer.step, ctx);
  return { ...ctx, lossHistory: loop.lossHistory, imgPerSec, diverged, checkpointStep: loop.checkpointStep };
}

/** A class-conditional run's data: labelled, every label one of the run's classes. */
function checkLabels(set: ImageSet, classes: number): void {
  if (!set.trainLabels) throw new Error(`${set.name} has no labels: a class-conditional model needs labelled data (fashion-mnist, an idx: directory)`);
  let max = 0;
  for (const y of set.trainLabels) max = Math.max(max, y);
  if (max >= classes) throw new Error(`${set.name} has label ${max}, but the run has ${classes} classes`);
}

/** Load a run directory (or a released model's folder) holding checkpoint.safetensors or model.safetensors. */
export function loadImageRun(device: Device, dir: string, which: 'ema' | 'params' = 'ema'): LoadedImageRun {
  const candidates = [join(dir, RUN_FILES.checkpoint), join(dir, 'model.safetensors')];
  const path = candidates.find((p) => existsSync(p));
  if (!path) throw new Error(`${dir}: no ${RUN_FILES.checkpoint} or model.safetensors (train first: scoregpu train --data fashion-mnist --model unet --out ${dir})`);
  return loadImageModel(device, readSafetensors(path), path, which);
}

function readImageCheckpoint(path: string): ReturnType<typeof checkpointOf> {
  return imageCheckpointOf(readSafetensors(path), path);
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
