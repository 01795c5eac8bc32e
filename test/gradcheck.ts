// Gradient checks against central finite differences of float64 CPU references.
// First order: ⟨∂⟨f(x), w⟩/∂xᵢ, uᵢ⟩ from the GPU's backward vs (g(x + h·uᵢ) − g(x − h·uᵢ))/2h.
// Second order: uᵀ H v of g(x) = ⟨f(x), w⟩ from two GPU backwards (the second through the
// graph of the first) vs the four-point mixed finite difference.
import { Tensor } from '../src/tensor/tensor.js';
import { grad } from '../src/autograd/engine.js';
import * as op from '../src/autograd/ops.js';
import type { Device } from '../src/gpu/device.js';
import { rng } from '../kernels-tests/helpers.js';

export type CpuFn = (...xs: Float64Array[]) => Float64Array;
export type GpuFn = (...xs: Tensor[]) => Tensor;

function dotf(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

function shifted(xs: Float64Array[], dirs: (Float64Array | null)[], h: number): Float64Array[] {
  return xs.map((x, i) => {
    const d = dirs[i];
    if (!d) return x;
    return Float64Array.from(x, (v, k) => v + h * d[k]);
  });
}

export interface CheckOpts {
  h?: number;
  seed: number;
  /** inputs' value ranges (default [-1, 1]) */
  ranges?: [number, number][];
  /** which inputs get gradients (default all) */
  wrt?: number[];
}

export async function firstOrder(d: Device, gpu: GpuFn, cpu: CpuFn, shapes: number[][], o: CheckOpts): Promise<{ i: number; analytic: number; numeric: number }[]> {
  const r = rng(o.seed);
  const h = o.h ?? 1e-3;
  const xs = shapes.map((s, i) => {
    const [lo, hi] = o.ranges?.[i] ?? [-1, 1];
    return Float64Array.from(r.uniform(s.reduce((a, b) => a * b, 1), lo, hi));
  });
  const ys = cpu(...xs);
  const w = Float64Array.from(r.normal(ys.length));
  const wrt = o.wrt ?? shapes.map((_, i) => i);
  const ts = xs.map((x, i) => {
    const t = Tensor.fromArray(d, Float32Array.from(x), shapes[i]);
    t.requiresGrad = wrt.includes(i);
    return t;
  });
  const y = gpu(...ts);
  const gs = grad(y, wrt.map((i) => ts[i]), { gradOutput: Tensor.fromArray(d, Float32Array.from(w), y.shape) });
  const out = [];
  for (let j = 0; j < wrt.length; j++) {
    const i = wrt[j];
    const g = await gs[j]!.toArray();
    const u = Float64Array.from(r.normal(xs[i].length));
    const dirs = xs.map((_, k) => (k === i ? u : null));
    const gp = dotf(cpu(...shifted(xs, dirs, h)), w);
    const gm = dotf(cpu(...shifted(xs, dirs, -h)), w);
    out.push({ i, analytic: dotf(g, u), numeric: (gp - gm) / (2 * h) });
  }
  return out;
}

/** uᵀ H v for g(x) = ⟨f(x), w⟩ with respect to input `i`. */
export async function secondOrder(d: Device, gpu: GpuFn, cpu: CpuFn, shapes: number[][], i: number, o: CheckOpts): Promise<{ analytic: number; numeric: number }> {
  const r = rng(o.seed);
  const h = o.h ?? 1e-3;
  const xs = shapes.map((s, k) => {
    const [lo, hi] = o.ranges?.[k] ?? [-1, 1];
    return Float64Array.from(r.uniform(s.reduce((a, b) => a * b, 1), lo, hi));
  });
  const ys = cpu(...xs);
  const w = Float64Array.from(r.normal(ys.length));
  const u = Float64Array.from(r.normal(xs[i].length));
  const v = Float64Array.from(r.normal(xs[i].length));
  const ts = xs.map((x, k) => {
    const t = Tensor.fromArray(d, Float32Array.from(x), shapes[k]);
    t.requiresGrad = k === i;
    return t;
  });
  const y = gpu(...ts);
  const [g] = grad(y, [ts[i]], { gradOutput: Tensor.fromArray(d, Float32Array.from(w), y.shape), createGraph: true });
  const gv = op.sum(op.mul(g!, Tensor.fromArray(d, Float32Array.from(v), g!.shape)));
  // a rule whose gradient does not depend on x (linear ops) has a zero Hessian
  const [hv] = grad(gv, [ts[i]], { allowUnused: true });
  const analytic = hv ? dotf(await hv.toArray(), u) : 0;
  const at = (a: number, b: number) => {
    const dir = Float64Array.from(u, (uu, k) => a * uu + b * v[k]);
    return dotf(cpu(...shifted(xs, xs.map((_, k) => (k === i ? dir : null)), h)), w);
  };
  const numeric = (at(1, 1) - at(1, -1) - at(-1, 1) + at(-1, -1)) / (4 * h * h);
  return { analytic, numeric };
}
