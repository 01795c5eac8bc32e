// Toy runs in a directory (run_dir.ts: config.json, checkpoint.safetensors, loss.csv): train one,
// resume it exactly, load it for sampling. Checkpoints are the image runs' (checkpoint.ts); toy
// runs written before that ('scoregpu-toy-1') still load and resume. Nothing here prints: progress
// reaches the caller through onStart/onLog.
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import type { Device } from '../gpu/device.js';
import { loadDataset, type Dataset } from '../data/dataset.js';
import { mkdirp, removeStaleTemps, type AtomicWriteOptions } from '../io/fs.js';
import type { ParamArena } from '../nn/module.js';
import type { ToyModel } from '../nn/mlp.js';
import { toyConfig, buildToyModel, toyLoss, trainerConfig } from './toy_recipes.js';
import type { ToyConfig } from './toy_config.js';
import { Trainer, TrainingDiverged, rows } from './trainer.js';
import { checkpointOf, loadWeights, checkModelFits, configInt, fromFileConfig } from './checkpoint.js';
import { readSafetensors } from '../io/fs.js';
import type { StFile } from '../io/safetensors.js';
import { FileError } from '../gpu/errors.js';
import { RUN_FILES, writeRunConfig } from './run_dir.js';
import { RunLoop } from './run_loop.js';
import { fitToyConfig, toModelUnits, type ToyFitOverrides } from './toy_fit.js';
import { startMixtureProblem, boundsProblem } from './toy_start.js';

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
  return toyCheckpointOf(readSafetensors(path), path);
}

/**
 * A read safetensors file as a toy run's checkpoint, its config checked before anything is built
 * from it: a FileError naming `path` for a foreign, corrupt or oversized config.
 */
export function toyCheckpointOf(file: StFile, path: string): ReturnType<typeof checkpointOf> & { cfg: ToyConfig } {
  const ck = checkpointOf(file, path);
  const saved = ck.config as Partial<ToyConfig> & { kind?: string };
  if (saved?.kind === 'image') throw new FileError(path, 'an image run, not a toy run (scoregpu sample --run with the image options)');
  const cfg = fromFileConfig(path, () => toyConfig(saved));
  // the sizes that allocate or loop, checked before anything is built from them
  const dim = configInt(path, 'dim', cfg.dim, 1, 1 << 16);
  if (!Array.isArray(cfg.hidden) || cfg.hidden.length < 1 || cfg.hidden.length > 64) throw new FileError(path, 'config field hidden must list 1 to 64 widths');
  const widths = [dim + (cfg.loss === 'ncsn' ? 32 : 0), ...cfg.hidden.map((h, i) => configInt(path, `hidden[${i}]`, h, 1, 1 << 16)), dim];
  configInt(path, 'levels', cfg.levels, 1, 1_000_000);
  configInt(path, 'sampleSteps', cfg.sampleSteps, 1, 10_000_000);
  configInt(path, 'batchSize', cfg.batchSize, 1, 1 << 20);
  if (cfg.norm !== undefined) {
    const { center, scale } = cfg.norm as { center?: unknown; scale?: unknown };
    if (!Array.isArray(center) || center.length !== dim || !center.every((v) => typeof v === 'number' && Number.isFinite(v))) throw new FileError(path, `config field norm.center must list ${dim} finite numbers`);
    if (typeof scale !== 'number' || !(scale > 0 && Number.isFinite(scale))) throw new FileError(path, 'config field norm.scale must be a positive finite number');
  }
  if (cfg.startMixture !== undefined) {
    const problem = startMixtureProblem(cfg.startMixture, dim);
    if (problem) throw new FileError(path, `config field startMixture ${problem}`);
  }
  if (cfg.bounds !== undefined) {
    const problem = boundsProblem(cfg.bounds, dim);
    if (problem) throw new FileError(path, `config field bounds ${problem}`);
  }
  let estimate = 0;
  for (let i = 0; i + 1 < widths.length; i++) estimate += (widths[i] + 1) * widths[i + 1];
  checkModelFits(path, ck.file, estimate);
  return { ...ck, cfg };
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
  /**
   * Derive the noise scales, step sizes and the chains' start from the training rows (toy_fit.ts);
   * the values given here (data units) win. A resumed run keeps its own.
   */
  fit?: ToyFitOverrides;
  /** Called with the config the run trains with (after the fit), before training starts. */
  onConfig?: (cfg: ToyConfig) => void;
  /** At every log: the step, the mean loss of the applied steps since the last log, steps/s, and the steps skipped so far as non-finite. */
  onLog?: (step: number, loss: number, stepsPerSec: number, skipped: number) => void;
  /** Go on past steps whose loss or gradients are not finite (not applied, counted) instead of stopping. */
  skipNonFinite?: boolean;
  /** Called when training starts, with the trainer (for dispatch counts etc.). */
  onStart?: (t: Trainer) => void;
  /** Options of the run's atomic file writes (tests hook their stages to kill a writer mid-write). */
  write?: AtomicWriteOptions;
}

export interface ToyRunResult {
  cfg: ToyConfig;
  data: Dataset;
  trainer: Trainer;
  model: ToyModel;
  lossHistory: [number, number][];
  stepsPerSec: number;
  diverged?: TrainingDiverged;
  /** The step of the checkpoint on disk (null: none written yet). */
  checkpointStep: number | null;
}

/**
 * Train a toy run in `o.out`, checkpointing every `checkpointEvery` steps and at the end. With
 * `resume` and a checkpoint there, the run's own config continues (with the step budget asked for
 * now) from the checkpoint's weights, EMA, Adam moments and step.
 */
export async function trainToy(device: Device, cfgIn: ToyConfig, o: ToyRunOptions): Promise<ToyRunResult> {
  mkdirp(o.out);
  removeStaleTemps(o.out); // left by a run killed mid-write
  const path = join(o.out, RUN_FILES.checkpoint);
  let cfg = cfgIn;
  const resume = o.resume && existsSync(path) ? readToyCheckpoint(path) : null;
  if (resume) cfg = { ...resume.cfg, steps: cfgIn.steps };
  const data = loadDataset(cfg.data, { seed: cfg.seed, nTrain: o.nTrain });
  cfg = { ...cfg, dim: data.dim };
  if (!resume && o.fit) cfg = fitToyConfig(cfg, data.train, data.dim, o.fit);
  o.onConfig?.(cfg);
  writeRunConfig(o.out, cfg, o.write);
  const { model, arena } = buildToyModel(device, cfg);
  // the network trains on the standardised rows when the run has a norm
  const trainer = new Trainer(device, arena, toyLoss(device, cfg, model), rows(toModelUnits(data.train, cfg.norm), data.dim), { ...trainerConfig(cfg, o.logEvery ?? 50), nonFinite: o.skipNonFinite ? 'skip' : 'stop' });
  const loop = new RunLoop({ dir: o.out, model, trainer, config: cfg, seed: cfg.seed, write: o.write }, resume);
  o.onStart?.(trainer);
  const { rate: stepsPerSec, diverged } = await loop.runTo(device, cfg.steps, {
    checkpointEvery: o.checkpointEvery ?? 500,
    perStep: 1,
    onLog: (step, loss, sps) => o.onLog?.(step, loss, sps, trainer.skippedSteps),
  });
  return { cfg, data, trainer, model, lossHistory: loop.lossHistory, stepsPerSec, diverged, checkpointStep: loop.checkpointStep };
}
