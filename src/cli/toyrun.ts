// A toy run directory: config.json, checkpoint.safetensors (parameters, EMA, Adam moments, step,
// config as metadata; written atomically), loss.csv and loss.png, samples.npy and pictures.
import { join } from 'node:path';
import { existsSync, readFileSync } from 'node:fs';
import type { Device } from '../gpu/device.js';
import { Tensor } from '../tensor/tensor.js';
import { loadDataset, type Dataset } from '../data/dataset.js';
import { writeFileAtomic, readSafetensors, writeSafetensors, mkdirp } from '../io/fs.js';
import { toyConfig, buildToyModel, toyLoss, trainerConfig, type ToyConfig } from '../train/recipes.js';
import { Trainer, TrainingDiverged, rows } from '../train/trainer.js';
import type { ParamArena } from '../nn/module.js';
import type { ToyModel } from '../nn/mlp.js';

export const FORMAT = 'scoregpu-toy-1';

export interface LoadedRun {
  cfg: ToyConfig;
  model: ToyModel;
  arena: ParamArena;
  step: number;
}

function arenaTensors(prefix: string, arena: ParamArena, all: Float32Array, out: Record<string, { data: Float32Array; shape: number[] }>) {
  for (const [name, p] of arena.params) out[`${prefix}${name}`] = { data: all.slice(p.offset, p.offset + p.size), shape: p.shape };
}

export async function saveCheckpoint(dir: string, cfg: ToyConfig, trainer: Trainer, lossHistory: [number, number][]): Promise<void> {
  const tensors: Record<string, { data: Float32Array; shape: number[] }> = {};
  arenaTensors('params.', trainer.arena, await trainer.arena.data.toArray(), tensors);
  if (trainer.ema) arenaTensors('ema.', trainer.arena, await trainer.ema.shadow.toArray(), tensors);
  arenaTensors('adam.m.', trainer.arena, await trainer.optimizer.m.toArray(), tensors);
  arenaTensors('adam.v.', trainer.arena, await trainer.optimizer.v.toArray(), tensors);
  writeSafetensors(join(dir, 'checkpoint.safetensors'), tensors, {
    format: FORMAT,
    config: JSON.stringify(cfg),
    step: String(trainer.step),
  });
  writeFileAtomic(join(dir, 'loss.csv'), 'step,loss\n' + lossHistory.map(([s, l]) => `${s},${l}`).join('\n') + '\n');
}

function readArena(file: ReturnType<typeof readSafetensors>, prefix: string, arena: ParamArena): Map<string, { shape: number[]; data: Float32Array }> | null {
  const m = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const [name] of arena.params) {
    const t = file.tensors[prefix + name];
    if (!t) return null;
    m.set(name, { shape: t.shape, data: t.data as Float32Array });
  }
  return m;
}

/** Load a run's config and weights; `weights` picks the EMA copy when the run has one. */
export function loadRun(device: Device, dir: string, weights: 'ema' | 'params' = 'ema'): LoadedRun & { file: ReturnType<typeof readSafetensors> } {
  const ck = join(dir, 'checkpoint.safetensors');
  if (!existsSync(ck)) throw new Error(`run ${dir}: no checkpoint.safetensors (train first: scoregpu train --out ${dir})`);
  const file = readSafetensors(ck);
  if (file.metadata.format !== FORMAT) throw new Error(`${ck}: not a scoregpu toy checkpoint (format '${file.metadata.format}')`);
  const cfg = toyConfig(JSON.parse(file.metadata.config));
  const { model, arena } = buildToyModel(device, cfg);
  const vals = (weights === 'ema' && readArena(file, 'ema.', arena)) || readArena(file, 'params.', arena);
  if (!vals) throw new Error(`${ck}: parameters do not match the model its config describes`);
  arena.load(vals);
  return { cfg, model, arena, step: Number(file.metadata.step), file };
}

export interface TrainRunOptions {
  out: string;
  resume?: boolean;
  checkpointEvery?: number;
  logEvery?: number;
  nTrain?: number;
  onLog?: (step: number, loss: number, stepsPerSec: number) => void;
  /** Called when training starts, with the trainer (for dispatch counts etc.). */
  onStart?: (t: Trainer) => void;
}

export interface TrainRunResult {
  cfg: ToyConfig;
  data: Dataset;
  trainer: Trainer;
  model: ToyModel;
  lossHistory: [number, number][];
  stepsPerSec: number;
  diverged?: TrainingDiverged;
}

export async function trainToy(device: Device, cfgIn: ToyConfig, o: TrainRunOptions): Promise<TrainRunResult> {
  mkdirp(o.out);
  let cfg = cfgIn;
  let resumeFile: ReturnType<typeof readSafetensors> | null = null;
  const ck = join(o.out, 'checkpoint.safetensors');
  if (o.resume && existsSync(ck)) {
    resumeFile = readSafetensors(ck);
    cfg = { ...toyConfig(JSON.parse(resumeFile.metadata.config)), steps: cfgIn.steps };
  }
  const data = loadDataset(cfg.data, { seed: cfg.seed, nTrain: o.nTrain });
  cfg = { ...cfg, dim: data.dim };
  writeFileAtomic(join(o.out, 'config.json'), JSON.stringify(cfg, null, 2) + '\n');
  const { model, arena } = buildToyModel(device, cfg);
  const trainer = new Trainer(device, arena, toyLoss(device, cfg, model), rows(data.train, data.dim), trainerConfig(cfg, o.logEvery ?? 50));
  let lossHistory: [number, number][] = [];
  if (resumeFile) {
    const p = readArena(resumeFile, 'params.', arena);
    if (!p) throw new Error(`${ck}: parameters do not match the config`);
    arena.load(p);
    const e = readArena(resumeFile, 'ema.', arena);
    if (e && trainer.ema) arena.load(e, trainer.ema.shadow);
    const m = readArena(resumeFile, 'adam.m.', arena), v = readArena(resumeFile, 'adam.v.', arena);
    if (m && v) {
      arena.load(m, trainer.optimizer.m);
      arena.load(v, trainer.optimizer.v);
    }
    trainer.step = Number(resumeFile.metadata.step);
    const csv = join(o.out, 'loss.csv');
    if (existsSync(csv)) {
      lossHistory = readFileSync(csv, 'utf8').trim().split('\n').slice(1).map((l) => l.split(',').map(Number) as [number, number]);
    }
  }
  o.onStart?.(trainer);
  const every = o.checkpointEvery ?? 500;
  const t0 = performance.now();
  const s0 = trainer.step;
  let diverged: TrainingDiverged | undefined;
  try {
    await trainer.run(Math.max(0, cfg.steps - trainer.step), async (step, loss) => {
      lossHistory.push([step, loss]);
      const sps = (step - s0) / ((performance.now() - t0) / 1000);
      o.onLog?.(step, loss, sps);
      if (step % every === 0 || step === cfg.steps) await saveCheckpoint(o.out, cfg, trainer, lossHistory);
    });
  } catch (e) {
    if (!(e instanceof TrainingDiverged)) throw e;
    diverged = e; // the last checkpoint on disk is the last good one
  }
  await device.sync();
  const stepsPerSec = (trainer.step - s0) / ((performance.now() - t0) / 1000);
  return { cfg, data, trainer, model, lossHistory, stepsPerSec, diverged };
}

export { Tensor };
