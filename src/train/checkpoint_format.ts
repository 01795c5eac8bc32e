// The checkpoint format, without files: run checkpoints and released models as safetensors laid
// out as a PyTorch port of the same network would store them (see checkpoint.ts for the layout).
// Pure — no Node built-ins — so the browser bundle loads dropped or fetched checkpoints with the
// same checks as the CLI; checkpoint.ts adds reading and writing files.
import type { Module, ParamArena } from '../nn/module.js';
import type { Trainer } from './trainer.js';
import type { StFile } from '../io/safetensors.js';
import { FileError, ScoreGpuError, quoteUntrusted } from '../gpu/errors.js';

export const CHECKPOINT_FORMAT = 'scoregpu-run-1';
export const LEGACY_TOY_FORMAT = 'scoregpu-toy-1';

type Named = Map<string, { shape: number[]; data: Float32Array }>;

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
      throw new FileError(what, `tensor '${key}' has shape [${t.shape.join(', ')}], the model wants [${want.join(', ')}] (a checkpoint of another model or config?)`);
    }
    if (t.dtype !== 'F32') throw new FileError(what, `tensor '${key}' is ${t.dtype}, expected F32`);
    checkFinite(what, key, t.data as Float32Array);
    let data = t.data as Float32Array;
    if (p.torch.transpose && p.shape.length === 2) data = transpose2d(data, want[0], want[1]);
    m.set(ours, { shape: p.shape, data });
  }
  return m;
}

/** Weights with a NaN or an infinity are refused: they would only produce NaN samples. */
function checkFinite(what: string, key: string, data: Float32Array): void {
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i])) throw new FileError(what, `tensor '${key}' holds ${data[i]} at element ${i}: the weights are not usable (saved from a diverged run, or corrupt)`);
  }
}

/** Legacy toy checkpoints: tensors `prefix + our name` in our layout; null if any is missing. */
function fromOurLayout(arena: ParamArena, file: StFile, prefix: string, what: string): Named | null {
  const m: Named = new Map();
  for (const [name, p] of arena.params) {
    const key = prefix + name;
    const t = file.tensors[key];
    if (!t) return null;
    if (t.shape.length !== p.shape.length || t.shape.some((d, i) => d !== p.shape[i])) {
      throw new FileError(what, `tensor '${key}' has shape [${t.shape.join(', ')}], the model wants [${p.shape.join(', ')}] (a checkpoint of another model or config?)`);
    }
    if (t.dtype !== 'F32') throw new FileError(what, `tensor '${key}' is ${t.dtype}, expected F32`);
    checkFinite(what, key, t.data as Float32Array);
    m.set(name, { shape: p.shape, data: t.data as Float32Array });
  }
  return m;
}

/** The tensors under `prefix` in our layout, read as the file's format lays them out. */
function readTensors(model: Module, arena: ParamArena, file: StFile, prefix: string, what: string): Named | null {
  return file.metadata.format === LEGACY_TOY_FORMAT ? fromOurLayout(arena, file, prefix, what) : fromTorchLayout(model, arena, file, prefix, what);
}





/** A read safetensors file as a run checkpoint: its config and step, checked. */
export function checkpointOf(file: StFile, path: string): { file: StFile; config: unknown; step: number } {
  const format = file.metadata.format;
  if (format !== CHECKPOINT_FORMAT && format !== LEGACY_TOY_FORMAT) {
    throw new FileError(path, `not a scoregpu run checkpoint (format ${format === undefined ? 'missing' : quoteUntrusted(format, 40)}, want '${CHECKPOINT_FORMAT}')`);
  }
  let config: unknown;
  try {
    config = JSON.parse(file.metadata.config);
  } catch {
    throw new FileError(path, `its config metadata is ${file.metadata.config === undefined ? 'missing' : 'not valid JSON'}`);
  }
  if (typeof config !== 'object' || config === null || Array.isArray(config)) throw new FileError(path, 'its config metadata is not a JSON object');
  const step = Number(file.metadata.step);
  if (!Number.isSafeInteger(step) || step < 0) throw new FileError(path, `bad step ${quoteUntrusted(String(file.metadata.step), 24)} in its metadata`);
  return { file, config, step };
}

/** Values of the model's parameters the file holds (the largest of its params./ema./bare sets). */
export function storedParameterCount(file: StFile): number {
  const sums = new Map<string, number>();
  for (const [k, t] of Object.entries(file.tensors)) {
    const prefix = /^(params|ema)\./.exec(k)?.[0] ?? (/^adam\.[mv]\./.test(k) ? 'adam' : '');
    sums.set(prefix, (sums.get(prefix) ?? 0) + t.data.length);
  }
  return Math.max(0, ...[...sums].filter(([p]) => p !== 'adam').map(([, n]) => n));
}

/**
 * Refuse to build a model from an untrusted config that describes far more parameters than the
 * file holds: `estimate` is an upper estimate of the config's parameter count (toy_recipes /
 * image.ts compute it from the validated sizes). A genuine checkpoint always passes.
 */
export function checkModelFits(path: string, file: StFile, estimate: number): void {
  const have = storedParameterCount(file);
  if (!(estimate <= 8 * have + 65_536)) {
    throw new FileError(path, `its config describes a model of about ${Math.round(estimate)} parameters, the file holds ${have} values: config and weights disagree (corrupt file?)`);
  }
}

/** A size from an untrusted config: an integer in [lo, hi], or a FileError naming the field. */
export function configInt(path: string, field: string, v: unknown, lo: number, hi: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) {
    throw new FileError(path, `config field ${field} is ${typeof v === 'string' ? quoteUntrusted(v, 24) : JSON.stringify(v) ?? String(v)}, want an integer in [${lo}, ${hi}]`);
  }
  return v;
}

/**
 * Interpret an untrusted config: any failure (a wrong type deep inside a recipe) becomes a
 * FileError naming the file, since the file is what has to change.
 */
export function fromFileConfig<T>(path: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    // our own errors say what they mean (a limit of this adapter is not the file's fault)
    if (e instanceof ScoreGpuError) throw e;
    throw new FileError(path, `its config is not usable: ${(e as Error)?.message ?? String(e)}`);
  }
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
  const names = [...model.torchNames().values()];
  const missing = names.find((n) => !file.tensors[n] && !file.tensors['ema.' + n] && !file.tensors['params.' + n]) ?? names[0];
  throw new FileError(path, `does not hold this model's parameters (missing '${missing}'; a checkpoint of another model?)`);
}

/** Restore a trainer's whole state from a checkpoint written by saveCheckpoint. */
export function restoreTrainer(model: Module, trainer: Trainer, file: StFile, path: string, step: number): void {
  const a = trainer.arena;
  const need = (prefix: string) => {
    const v = readTensors(model, a, file, prefix, path);
    if (!v) throw new FileError(path, `has no '${prefix}*' tensors for this model; cannot resume (a checkpoint of another model, or a released model without the training state?)`);
    return v;
  };
  a.load(need('params.'));
  if (trainer.ema) a.load(need('ema.'), trainer.ema.shadow);
  a.load(need('adam.m.'), trainer.optimizer.m);
  a.load(need('adam.v.'), trainer.optimizer.v);
  trainer.step = step;
}
