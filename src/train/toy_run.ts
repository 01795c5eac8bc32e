// Toy runs in a directory (run_dir.ts: config.json, checkpoint.safetensors, loss.csv): train one,
// resume it exactly, load it for sampling. Checkpoints are the image runs' (checkpoint.ts); toy
// runs written before that ('scoregpu-toy-1') still load and resume. Nothing here prints: progress
// reaches the caller through onStart/onLog.
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import type { Device } from '../gpu/device.js';
import { loadDataset, type Dataset } from '../data/dataset.js';
import { mkdirp } from '../io/fs.js';
import type { ParamArena } from '../nn/module.js';
import type { ToyModel } from '../nn/mlp.js';
import { toyConfig, buildToyModel, toyLoss, trainerConfig, type ToyConfig } from './toy_recipes.js';
import { Trainer, TrainingDiverged, rows } from './trainer.js';
import { saveCheckpoint, readCheckpoint, restoreTrainer, loadWeights } from './checkpoint.js';
import { RUN_FILES, writeRunConfig, writeLossCsv, readLossCsv } from './run_dir.js';

export interface LoadedToyRun {
  cfg: ToyConfig;
  model: ToyModel;
  arena: ParamArena;
  step: number;
  /** Which weights were loaded: the EMA copy unless asked for the parameters or the run has none. */
  weights: 'ema' | 'params';
}

/** The run's checkpoint with its toy config (an image run's is refused, naming the command it wants). */
function readToyCheckpoint(path: string) {
  const ck = readCheckpoint(path);
  const saved = ck.config as Partial<ToyConfig> & { kind?: string };
  if (saved?.kind === 'image') throw new Error(`${path}: an image run, not a toy run (scoregpu sample --run with the image options)`);
  return { ...ck, cfg: toyConfig(saved) };
}

/** Load a run's config and weights; `weights` picks the EMA copy when the run has one. */
export function loadToyRun(device: Device, dir: string, weights: 'ema' | 'params' = 'ema'): LoadedToyRun {
  const path = join(dir, RUN_FILES.checkpoint);
  if (!existsSync(path)) throw new Error(`run ${dir}: no ${RUN_FILES.checkpoint} (train first: scoregpu train --out ${dir})`);
  const { cfg, step, file } = readToyCheckpoint(path);
  const { model, arena } = buildToyModel(device, cfg);
  const which = loadWeights(model, arena, file, path, weights);
  return { cfg, model, arena, step, weights: which };
}

export interface ToyRunOptions {
  out: string;
  resume?: boolean;
  checkpointEvery?: number;
  logEvery?: number;
  nTrain?: number;
  onLog?: (step: number, loss: number, stepsPerSec: number) => void;
  /** Called when training starts, with the trainer (for dispatch counts etc.). */
  onStart?: (t: Trainer) => void;
}

export interface ToyRunResult {
  cfg: ToyConfig;
  data: Dataset;
  trainer: Trainer;
  model: ToyModel;
  lossHistory: [number, number][];
  stepsPerSec: number;
  diverged?: TrainingDiverged;
}

/**
 * Train a toy run in `o.out`, checkpointing every `checkpointEvery` steps and at the end. With
 * `resume` and a checkpoint there, the run's own config continues (with the step budget asked for
 * now) from the checkpoint's weights, EMA, Adam moments and step.
 */
export async function trainToy(device: Device, cfgIn: ToyConfig, o: ToyRunOptions): Promise<ToyRunResult> {
  mkdirp(o.out);
  const path = join(o.out, RUN_FILES.checkpoint);
  let cfg = cfgIn;
  const resume = o.resume && existsSync(path) ? readToyCheckpoint(path) : null;
  if (resume) cfg = { ...resume.cfg, steps: cfgIn.steps };
  const data = loadDataset(cfg.data, { seed: cfg.seed, nTrain: o.nTrain });
  cfg = { ...cfg, dim: data.dim };
  writeRunConfig(o.out, cfg);
  const { model, arena } = buildToyModel(device, cfg);
  const trainer = new Trainer(device, arena, toyLoss(device, cfg, model), rows(data.train, data.dim), trainerConfig(cfg, o.logEvery ?? 50));
  let lossHistory: [number, number][] = [];
  if (resume) {
    restoreTrainer(model, trainer, resume.file, path, resume.step);
    lossHistory = readLossCsv(o.out, resume.step);
  }
  o.onStart?.(trainer);
  const every = o.checkpointEvery ?? 500;
  const save = async () => {
    await saveCheckpoint(path, model, trainer, { config: cfg, step: trainer.step, seed: cfg.seed });
    writeLossCsv(o.out, lossHistory);
  };
  const t0 = performance.now();
  const s0 = trainer.step;
  let diverged: TrainingDiverged | undefined;
  try {
    await trainer.run(Math.max(0, cfg.steps - trainer.step), async (step, loss) => {
      lossHistory.push([step, loss]);
      const sps = (step - s0) / ((performance.now() - t0) / 1000);
      o.onLog?.(step, loss, sps);
      if (step % every === 0 || step === cfg.steps) await save();
    });
  } catch (e) {
    if (!(e instanceof TrainingDiverged)) throw e;
    diverged = e; // the last checkpoint on disk is the last good one
  }
  await device.sync();
  const stepsPerSec = (trainer.step - s0) / ((performance.now() - t0) / 1000);
  return { cfg, data, trainer, model, lossHistory, stepsPerSec, diverged };
}
