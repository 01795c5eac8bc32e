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
import { readSafetensors, writeSafetensors } from '../io/fs.js';
import type { Trainer } from './trainer.js';

export const CHECKPOINT_FORMAT = 'scoregpu-run-1';
export const LEGACY_TOY_FORMAT = 'scoregpu-toy-1';

type Named = Map<string, { shape: number[]; data: Float32Array }>;
type StFile = ReturnType<typeof readSafetensors>;

function transpose2d(a: ArrayLike<number>, rows: number, cols: number): Float32Array {
  const out = new Float32Array(a.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = a[r * cols + c];
  return out;
}

/** The arena's values as {torch name → tensor in torch layout}. */
export function toTorchLayout(model: Module, arena: ParamArena, all: Float32Array, prefix = ''): Record<string, { data: Float32Array; shape: number[] }> {
  const names = model.torchNames();
  const out: Record<string, { data: Float32Array; shape: number[] }> = {};
  for (const [, p] of arena.params) {
    let data: Float32Array = all.slice(p.offset, p.offset + p.size);
    let shape = p.shape;
    if (p.torch.transpose && shape.length === 2) {
      data = transpose2d(data, shape[0], shape[1]);
      shape = [shape[1], shape[0]];
    }
    out[prefix + names.get(p)!] = { data, shape };
  }
  return out;
}

/** Read tensors `prefix + torch name` back into our layout; null if any is missing. */
export function fromTorchLayout(model: Module, arena: ParamArena, file: StFile, prefix = '', what = 'checkpoint'): Named | null {
  const names = model.torchNames();
  const m: Named = new Map();
  for (const [ours, p] of arena.params) {
    const key = prefix + names.get(p)!;
    const t = file.tensors[key];
    if (!t) return null;
    const want = p.torch.transpose && p.shape.length === 2 ? [p.shape[1], p.shape[0]] : p.shape;
    if (t.shape.length !== want.length || t.shape.some((d, i) => d !== want[i])) {
      throw new Error(`${what}: tensor '${key}' has shape [${t.shape.join(', ')}], the model wants [${want.join(', ')}]`);
    }
    if (t.dtype !== 'F32') throw new Error(`${what}: tensor '${key}' is ${t.dtype}, expected F32`);
    let data = t.data as Float32Array;
    if (p.torch.transpose && p.shape.length === 2) data = transpose2d(data, want[0], want[1]);
    m.set(ours, { shape: p.shape, data });
  }
  return m;
}

/** Legacy toy checkpoints: tensors `prefix + our name` in our layout; null if any is missing. */
function fromOurLayout(arena: ParamArena, file: StFile, prefix: string, what: string): Named | null {
  const m: Named = new Map();
  for (const [name, p] of arena.params) {
    const key = prefix + name;
    const t = file.tensors[key];
    if (!t) return null;
    if (t.shape.length !== p.shape.length || t.shape.some((d, i) => d !== p.shape[i])) {
      throw new Error(`${what}: tensor '${key}' has shape [${t.shape.join(', ')}], the model wants [${p.shape.join(', ')}]`);
    }
    if (t.dtype !== 'F32') throw new Error(`${what}: tensor '${key}' is ${t.dtype}, expected F32`);
    m.set(name, { shape: p.shape, data: t.data as Float32Array });
  }
  return m;
}

/** The tensors under `prefix` in our layout, read as the file's format lays them out. */
function readTensors(model: Module, arena: ParamArena, file: StFile, prefix: string, what: string): Named | null {
  return file.metadata.format === LEGACY_TOY_FORMAT ? fromOurLayout(arena, file, prefix, what) : fromTorchLayout(model, arena, file, prefix, what);
}

export interface CheckpointMeta {
  config: unknown;
  step: number;
  seed: number;
}

/** Everything a run needs to continue exactly: weights, EMA, Adam's moments, step, RNG position. */
export async function saveCheckpoint(path: string, model: Module, trainer: Trainer, meta: CheckpointMeta): Promise<void> {
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
  });
}

/** A released model: the EMA weights (or the parameters) under their bare torch names. */
export async function saveWeights(path: string, model: Module, arena: ParamArena, values: Float32Array, meta: { config: unknown; step: number; [k: string]: unknown }): Promise<void> {
  const extra = Object.fromEntries(Object.entries(meta).filter(([k]) => k !== 'config' && k !== 'step').map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]));
  writeSafetensors(path, toTorchLayout(model, arena, values), { format: CHECKPOINT_FORMAT, config: JSON.stringify(meta.config), step: String(meta.step), weights: 'ema', ...extra });
}

export function readCheckpoint(path: string): { file: StFile; config: unknown; step: number } {
  return checkpointOf(readSafetensors(path), path);
}

/** A read safetensors file as a run checkpoint: its config and step, checked. */
export function checkpointOf(file: StFile, path: string): { file: StFile; config: unknown; step: number } {
  if (file.metadata.format !== CHECKPOINT_FORMAT && file.metadata.format !== LEGACY_TOY_FORMAT) throw new Error(`${path}: not a scoregpu run checkpoint (format '${file.metadata.format ?? 'none'}')`);
  let config: unknown;
  try {
    config = JSON.parse(file.metadata.config);
  } catch {
    throw new Error(`${path}: its config metadata is not valid JSON`);
  }
  const step = Number(file.metadata.step);
  if (!Number.isInteger(step) || step < 0) throw new Error(`${path}: bad step '${file.metadata.step}' in its metadata`);
  return { file, config, step };
}

/** Weights for sampling: the EMA copy if present (prefixed or bare), else the trained parameters. */
export function loadWeights(model: Module, arena: ParamArena, file: StFile, path: string, which: 'ema' | 'params' = 'ema'): 'ema' | 'params' {
  const order: [string, 'ema' | 'params'][] = which === 'ema' ? [['ema.', 'ema'], ['', 'ema'], ['params.', 'params']] : [['params.', 'params'], ['', 'ema']];
  for (const [prefix, kind] of order) {
    const v = readTensors(model, arena, file, prefix, path);
    if (v) {
      arena.load(v);
      return file.metadata.weights === 'params' ? 'params' : kind;
    }
  }
  throw new Error(`${path}: does not hold this model's parameters (first missing: ${model.torchNames().values().next().value})`);
}

/** Restore a trainer's whole state from a checkpoint written by saveCheckpoint. */
export function restoreTrainer(model: Module, trainer: Trainer, file: StFile, path: string, step: number): void {
  const a = trainer.arena;
  const need = (prefix: string) => {
    const v = readTensors(model, a, file, prefix, path);
    if (!v) throw new Error(`${path}: has no '${prefix}*' tensors for this model; cannot resume`);
    return v;
  };
  a.load(need('params.'));
  if (trainer.ema) a.load(need('ema.'), trainer.ema.shadow);
  a.load(need('adam.m.'), trainer.optimizer.m);
  a.load(need('adam.v.'), trainer.optimizer.v);
  trainer.step = step;
}
