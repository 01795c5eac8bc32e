// A small matmul autotuner: times a few candidate kernel configurations for a problem shape and
// keeps the fastest, keyed by the adapter's description and the shape, in memory and in a JSON
// file under ~/.cache/scoregpu/. Tuning is asynchronous (it must wait on the queue), so it runs
// ahead of use (`tuneMatmul`); `installTunedChooser` makes matmul pick the tuned configuration for
// shapes it has seen and the hand-picked default for the rest.
import type { Device } from '../gpu/device.js';
import { Tensor } from '../tensor/tensor.js';
import { matmul, defaultMatmulConfig, setMatmulConfigChooser, vec4Aligned, subgroupsUsable, type MatmulConfig, type MatmulProblem } from '../tensor/ops/matmul.js';
import { timeOp } from './timing.js';

interface Entry {
  config: MatmulConfig;
  ms: number;
  defaultMs: number;
}

const memory = new Map<string, Entry>();
let fileLoaded = false;

function adapterKey(device: Device): string {
  const i = device.info;
  return [i.vendor, i.architecture, i.device, i.description, i.backend].join('/');
}

function problemKey(q: MatmulProblem): string {
  return `${q.batch}x${q.M}x${q.N}x${q.K}${q.transA ? 'T' : 'N'}${q.transB ? 'T' : 'N'}`;
}

function cachePath(): string | null {
  const proc = (globalThis as any).process;
  const path = proc?.getBuiltinModule?.('node:path');
  const home = proc?.env?.HOME;
  if (!path || !home) return null;
  return path.join(proc.env.XDG_CACHE_HOME || path.join(home, '.cache'), 'scoregpu', 'matmul-autotune.json');
}

function loadFile(): void {
  if (fileLoaded) return;
  fileLoaded = true;
  const fs = (globalThis as any).process?.getBuiltinModule?.('node:fs');
  const p = cachePath();
  if (!fs || !p || !fs.existsSync(p)) return;
  try {
    const data = JSON.parse(fs.readFileSync(p, 'utf8')) as Record<string, Entry>;
    for (const [k, v] of Object.entries(data)) if (!memory.has(k)) memory.set(k, v);
  } catch {
    /* a corrupt cache is ignored and rewritten */
  }
}

function saveFile(): void {
  const proc = (globalThis as any).process;
  const fs = proc?.getBuiltinModule?.('node:fs');
  const path = proc?.getBuiltinModule?.('node:path');
  const p = cachePath();
  if (!fs || !path || !p) return;
  try {
    fs.mkdirSync(path.dirname(p), { recursive: true });
    fs.writeFileSync(p, JSON.stringify(Object.fromEntries(memory), null, 1));
  } catch {
    /* read-only home: keep the in-memory choice */
  }
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
  if (aligned && q.M >= 8 && subgroupsUsable(device)) push({ variant: 'subgroup', tm: 8, tn: 4, wgx: 8, wgy: 1 });
  if (aligned && q.M >= 8 && subgroupsUsable(device)) push({ variant: 'subgroup', tm: 8, tn: 8, wgx: 8, wgy: 1 });
  return out;
}

/** Tune one problem (or return the cached choice). */
export async function tuneMatmul(device: Device, q: MatmulProblem, opts: { reps?: number; targetMs?: number } = {}): Promise<Entry & { cached: boolean; tried: number }> {
  loadFile();
  const key = `${adapterKey(device)}|${problemKey(q)}`;
  const hit = memory.get(key);
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
      if (!best || t.medianMs < best.ms) best = { config: c, ms: t.medianMs };
    } catch {
      /* a configuration the adapter rejects is skipped */
    }
  }
  a.dispose();
  b.dispose();
  const e: Entry = { config: best!.config, ms: best!.ms, defaultMs };
  memory.set(key, e);
  saveFile();
  return { ...e, cached: false, tried: cands.length };
}

/** Make matmul use tuned configurations where known (the default elsewhere); returns an uninstaller. */
export function installTunedChooser(): () => void {
  loadFile();
  const prev = setMatmulConfigChooser((device, q) => memory.get(`${adapterKey(device)}|${problemKey(q)}`)?.config ?? defaultMatmulConfig(device, q));
  return () => void setMatmulConfigChooser(prev);
}
