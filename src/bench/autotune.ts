// Small autotuners for the matmul and the implicit-GEMM convolution: each times a few candidate
// kernel configurations for a problem shape and keeps the fastest, keyed by the adapter's
// description and the shape, in memory and in a JSON file under ~/.cache/scoregpu/ (or
// $XDG_CACHE_HOME/scoregpu/). Tuning is asynchronous (it must wait on the queue), so it runs ahead
// of use (`tuneMatmul`, `tuneConv`); `tunedChoosers()` are the policy choosers (Device.withPolicy)
// that make the ops pick the tuned configuration for shapes seen and the hand-picked default for the rest.
import type { Device } from '../gpu/device.js';
import type { KernelChoosers } from '../gpu/policy.js';
import { Tensor } from '../tensor/tensor.js';
import { matmul } from '../tensor/ops/matmul.js';
import { defaultMatmulConfig, vec4Aligned, type MatmulConfig, type MatmulProblem } from '../tensor/ops/matmul_plan.js';
import { conv2dImplicitForward, conv2dImplicitBackwardInput } from '../tensor/ops/conv2d_implicit.js';
import { defaultImplicitTile, blockKernelServes, type ConvDims, type ImplicitProblem, type ImplicitTile } from '../tensor/ops/conv2d_plan.js';
import { timeOp } from './timing.js';
import { writeFileAtomic } from '../io/fs.js';

interface Entry {
  config: MatmulConfig;
  ms: number;
  defaultMs: number;
}

/** Tuned choices in memory, backed by one JSON file (atomic rewrite; a corrupt file is ignored). */
class TuneCache<E> {
  private readonly memory = new Map<string, E>();
  private loaded = false;
  constructor(private readonly file: string) {}
  private path(): string | null {
    const proc = (globalThis as any).process;
    const path = proc?.getBuiltinModule?.('node:path');
    const home = proc?.env?.HOME;
    if (!path || (!home && !proc?.env?.XDG_CACHE_HOME)) return null;
    return path.join(proc.env.XDG_CACHE_HOME || path.join(home, '.cache'), 'scoregpu', this.file);
  }
  get(key: string): E | undefined {
    this.load();
    return this.memory.get(key);
  }
  set(key: string, e: E): void {
    this.load();
    this.memory.set(key, e);
    const p = this.path();
    if (!p) return;
    try {
      writeFileAtomic(p, JSON.stringify(Object.fromEntries(this.memory), null, 1));
    } catch {
      /* read-only cache directory: keep the in-memory choice */
    }
  }
  private load(): void {
    if (this.loaded) return;
    this.loaded = true;
    const fs = (globalThis as any).process?.getBuiltinModule?.('node:fs');
    const p = this.path();
    if (!fs || !p || !fs.existsSync(p)) return;
    try {
      const data = JSON.parse(fs.readFileSync(p, 'utf8')) as Record<string, E>;
      for (const [k, v] of Object.entries(data)) if (!this.memory.has(k)) this.memory.set(k, v);
    } catch {
      /* a corrupt cache is ignored and rewritten */
    }
  }
}

const matmulCache = new TuneCache<Entry>('matmul-autotune.json');

/**
 * A candidate replaces the default only when at least 10 % faster: single timings on a loaded CPU
 * adapter move by more than that, and a noisy win is worse than the measured default.
 */
const KEEP_DEFAULT = 0.9;

function problemKey(q: MatmulProblem): string {
  return `${q.batch}x${q.M}x${q.N}x${q.K}${q.transA ? 'T' : 'N'}${q.transB ? 'T' : 'N'}`;
}

/** Candidate configurations for a problem on this adapter (the default first). */
export function candidates(device: Device, q: MatmulProblem): MatmulConfig[] {
  const def = defaultMatmulConfig(device, q);
  const out: MatmulConfig[] = [def];
  const push = (c: MatmulConfig) => {
    if (!out.some((o) => JSON.stringify(o) === JSON.stringify(c))) out.push(c);
  };
  const aligned = vec4Aligned(q);
  const wgs: [number, number][] = def.wgy === 1 ? [[8, 1]] : [[8, 8], [16, 4]];
  for (const [wgx, wgy] of wgs) {
    for (const tm of [4, 8] as const) {
      for (const tn of [4, 8] as const) {
        push({ variant: 'scalar', tm, tn, wgx, wgy });
        if (aligned) push({ variant: 'vec4', tm, tn, wgx, wgy });
      }
    }
  }
  if (aligned && q.M >= 8 && device.caps.subgroups) push({ variant: 'subgroup', tm: 8, tn: 4, wgx: 8, wgy: 1 });
  if (aligned && q.M >= 8 && device.caps.subgroups) push({ variant: 'subgroup', tm: 8, tn: 8, wgx: 8, wgy: 1 });
  return out;
}

/** Tune one problem (or return the cached choice). */
export async function tuneMatmul(device: Device, q: MatmulProblem, opts: { reps?: number; targetMs?: number } = {}): Promise<Entry & { cached: boolean; tried: number }> {
  const key = `${device.caps.key}|${problemKey(q)}`;
  const hit = matmulCache.get(key);
  if (hit) return { ...hit, cached: true, tried: 0 };
  const pre = q.batch > 1 ? [q.batch] : [];
  const a = Tensor.fromArray(device, Float32Array.from({ length: q.batch * q.M * q.K }, (_, i) => Math.sin(i)), [...pre, ...(q.transA ? [q.K, q.M] : [q.M, q.K])]).keep();
  const b = Tensor.fromArray(device, Float32Array.from({ length: q.batch * q.K * q.N }, (_, i) => Math.cos(i)), [...pre, ...(q.transB ? [q.N, q.K] : [q.K, q.N])]).keep();
  const cands = candidates(device, q);
  let best: { config: MatmulConfig; ms: number } | null = null;
  let defaultMs = Infinity;
  for (const c of cands) {
    try {
      const t = await timeOp(device, () => void matmul(a, b, { transA: q.transA, transB: q.transB, config: c }), { reps: opts.reps ?? 3, targetMs: opts.targetMs ?? 30 });
      if (c === cands[0]) defaultMs = t.medianMs;
      if (!best || t.medianMs < best.ms * (best.config === cands[0] ? KEEP_DEFAULT : 1)) best = { config: c, ms: t.medianMs };
    } catch {
      /* a configuration the adapter rejects is skipped */
    }
  }
  a.dispose();
  b.dispose();
  const e: Entry = { config: best!.config, ms: best!.ms, defaultMs };
  matmulCache.set(key, e);
  return { ...e, cached: false, tried: cands.length };
}


// ------------------------------------------------------------------ implicit-GEMM convolution

interface ConvEntry {
  tile: ImplicitTile;
  ms: number;
  defaultMs: number;
}

const convCache = new TuneCache<ConvEntry>('conv-autotune.json');

function convKey(q: ImplicitProblem): string {
  return `${q.input ? 'input ' : ''}${q.B}x${q.Rc}x${q.Ho}x${q.Wo}->${q.N} k${q.KH}x${q.KW} s${q.stride} d${q.dil}`;
}

/** Candidate tiles (the default first): row strips of 64/48/32 rows × 4 columns or 16 × 8, and the 7×7 output block for 3×3 stride-1 problems. */
export function convCandidates(q: ImplicitProblem): ImplicitTile[] {
  const out: ImplicitTile[] = [defaultImplicitTile(q)];
  const push = (t: ImplicitTile) => {
    if (!out.some((o) => JSON.stringify(o) === JSON.stringify(t))) out.push(t);
  };
  for (const t of [{ tm: 64, tn: 4 }, { tm: 48, tn: 4 }, { tm: 32, tn: 4 }, { tm: 16, tn: 8 }]) push(t);
  if (blockKernelServes(q)) push({ block: '7x7' });
  return out;
}

/**
 * Tune the implicit-GEMM tile of a convolution's forward ('forward') or input gradient ('input')
 * (or return the cached choice). Null where the implicit path does not run (GPUs, tiny problems).
 */
export async function tuneConv(
  device: Device, c: ConvDims, kind: 'forward' | 'input' = 'forward', opts: { reps?: number; targetMs?: number } = {},
): Promise<(ConvEntry & { cached: boolean; tried: number }) | null> {
  const q: ImplicitProblem = kind === 'forward'
    ? { B: c.B, Rc: c.Cin, N: c.Cout, Ho: c.Ho, Wo: c.Wo, KH: c.KH, KW: c.KW, stride: c.s, dil: 1 }
    : { B: c.B, Rc: c.Cout, N: c.Cin, Ho: c.H, Wo: c.W, KH: c.KH, KW: c.KW, stride: 1, dil: c.s, input: true };
  const key = `${device.caps.key}|${convKey(q)}`;
  const hit = convCache.get(key);
  if (hit) return { ...hit, cached: true, tried: 0 };
  const fill = (shape: number[], f: (i: number) => number) => Tensor.fromArray(device, Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => f(i)), shape).keep();
  const x = fill([c.B, c.Cin, c.H, c.W], Math.sin), w = fill([c.Cout, c.Cin, c.KH, c.KW], (i) => 0.1 * Math.cos(i));
  const gy = fill([c.B, c.Cout, c.Ho, c.Wo], (i) => Math.sin(0.7 * i));
  const cands = convCandidates(q);
  let best: { tile: ImplicitTile; ms: number } | null = null;
  let defaultMs = Infinity;
  try {
    for (const tile of cands) {
      const run = () => device.scope(() => {
        const y = Tensor.empty(device, kind === 'forward' ? [c.B, c.Cout, c.Ho, c.Wo] : [c.B, c.Cin, c.H, c.W]);
        return kind === 'forward' ? conv2dImplicitForward(device, x, w, y, c, {}, tile) : conv2dImplicitBackwardInput(device, gy, w, y, c, tile);
      });
      if (!run()) continue; // this tile (or the implicit path) does not apply here
      const t = await timeOp(device, () => void run(), { reps: opts.reps ?? 3, targetMs: opts.targetMs ?? 30 });
      if (tile === cands[0]) defaultMs = t.medianMs;
      if (!best || t.medianMs < best.ms * (best.tile === cands[0] ? KEEP_DEFAULT : 1)) best = { tile, ms: t.medianMs };
    }
  } finally {
    [x, w, gy].forEach((t) => t.dispose());
  }
  if (!best) return null;
  const e: ConvEntry = { tile: best.tile, ms: best.ms, defaultMs };
  convCache.set(key, e);
  return { ...e, cached: false, tried: cands.length };
}

/**
 * Policy choosers (`device.withPolicy({ choosers: tunedChoosers() }, fn)`) under which matmul and the
 * implicit-GEMM conv take the tuned configuration or tile where one is known (the default rules elsewhere).
 */
export function tunedChoosers(): KernelChoosers {
  return {
    matmul: (device, q) => matmulCache.get(`${device.caps.key}|${problemKey(q)}`)?.config,
    implicitTile: (device, q) => convCache.get(`${device.caps.key}|${convKey(q)}`)?.tile,
  };
}
