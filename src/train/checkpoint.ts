// Run checkpoints as safetensors, laid out as a PyTorch port of the same network would store them:
// dotted module names, torch.nn.Linear weights [out, in] (ours are [in, out] and are transposed on
// the way), GroupNorm's γ/β as `weight`/`bias`. A checkpoint holds
//   params.<name>   the trained weights        ema.<name>      their exponential moving average
//   adam.m.<name>   Adam's first moments        adam.v.<name>   its second moments
// with metadata {format, config (JSON), step, rng (JSON: seed and the step the random stream is at)}.
// A released model keeps only the EMA weights, under the bare names (a state_dict). Files are
// written atomically (temp file + rename), so a kill mid-write leaves the previous checkpoint.
// Toy runs made before toy and image runs shared this format ('scoregpu-toy-1': our parameter
// names and layout, Linear weights [in, out], no rng entry) are still read; nothing writes them.
import type { Module, ParamArena } from '../nn/module.js';
import { readSafetensors, writeSafetensors, type AtomicWriteOptions } from '../io/fs.js';
import type { Trainer } from './trainer.js';
import type { StFile } from '../io/safetensors.js';
import { CHECKPOINT_FORMAT, checkpointOf, toTorchLayout } from './checkpoint_format.js';

export * from './checkpoint_format.js';

export interface CheckpointMeta {
  config: unknown;
  step: number;
  seed: number;
}

/** Everything a run needs to continue exactly: weights, EMA, Adam's moments, step, RNG position. */
export async function saveCheckpoint(path: string, model: Module, trainer: Trainer, meta: CheckpointMeta, write?: AtomicWriteOptions): Promise<void> {
  const a = trainer.arena;
  const tensors = {
    ...toTorchLayout(model, a, await a.data.toArray(), 'params.'),
    ...(trainer.ema ? toTorchLayout(model, a, await trainer.ema.shadow.toArray(), 'ema.') : {}),
    ...toTorchLayout(model, a, await trainer.optimizer.m.toArray(), 'adam.m.'),
    ...toTorchLayout(model, a, await trainer.optimizer.v.toArray(), 'adam.v.'),
  };
  writeSafetensors(path, tensors, {
    format: CHECKPOINT_FORMAT,
    config: JSON.stringify(meta.config),
    step: String(meta.step),
    // the training noise is keyed by (seed, step, draw): the step is the stream's position
    rng: JSON.stringify({ generator: 'philox4x32-10', seed: meta.seed, step: meta.step }),
  }, write);
}

/** A released model: the EMA weights (or the parameters) under their bare torch names. */
export async function saveWeights(path: string, model: Module, arena: ParamArena, values: Float32Array, meta: { config: unknown; step: number; [k: string]: unknown }): Promise<void> {
  const extra = Object.fromEntries(Object.entries(meta).filter(([k]) => k !== 'config' && k !== 'step').map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]));
  writeSafetensors(path, toTorchLayout(model, arena, values), { format: CHECKPOINT_FORMAT, config: JSON.stringify(meta.config), step: String(meta.step), weights: 'ema', ...extra });
}

export function readCheckpoint(path: string): { file: StFile; config: unknown; step: number } {
  return checkpointOf(readSafetensors(path), path);
}
