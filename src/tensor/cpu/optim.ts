// Float64 references for the fused optimizer kernels (shaders/adam.wgsl, shaders/ema.wgsl).
// They update their arrays in place, one step per call, like the kernels.

export interface AdamRefHyper {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** Step being taken, from 1. */
  t: number;
  gradScale?: number;
  /** Σ grads² (of the raw grads) and the norm to clip gradScale·grads to. */
  gradSumSq?: number;
  maxNorm?: number;
}

/** Scale applied to the raw gradient: gradScale · min(1, maxNorm / (‖gradScale·g‖ + 1e-6)). */
export function gradScaleRef(h: { gradScale?: number; gradSumSq?: number; maxNorm?: number }): number {
  const gs = h.gradScale ?? 1;
  if (h.maxNorm === undefined || h.maxNorm <= 0 || h.gradSumSq === undefined) return gs;
  return gs * Math.min(1, h.maxNorm / (Math.sqrt(h.gradSumSq) * Math.abs(gs) + 1e-6));
}

/** One AdamW step (decoupled weight decay, bias-corrected, ε outside the square root). */
export function adamRef(params: Float64Array, grads: ArrayLike<number>, m: Float64Array, v: Float64Array, h: AdamRefHyper): void {
  const s = gradScaleRef(h);
  const c1 = 1 - h.beta1 ** h.t, c2 = 1 - h.beta2 ** h.t;
  for (let i = 0; i < params.length; i++) {
    const g = grads[i] * s;
    m[i] = h.beta1 * m[i] + (1 - h.beta1) * g;
    v[i] = h.beta2 * v[i] + (1 - h.beta2) * g * g;
    const upd = m[i] / c1 / (Math.sqrt(v[i]) / Math.sqrt(c2) + h.eps);
    params[i] -= h.lr * (upd + h.weightDecay * params[i]);
  }
}

export interface SgdRefHyper {
  lr: number;
  momentum?: number;
  weightDecay?: number;
  nesterov?: boolean;
  gradScale?: number;
  gradSumSq?: number;
  maxNorm?: number;
}

/** One SGD step, PyTorch convention (L2 decay added to g, buf ← μ·buf + g). */
export function sgdRef(params: Float64Array, grads: ArrayLike<number>, m: Float64Array | null, h: SgdRefHyper): void {
  const s = gradScaleRef(h);
  const mu = h.momentum ?? 0, wd = h.weightDecay ?? 0;
  for (let i = 0; i < params.length; i++) {
    const g = grads[i] * s + wd * params[i];
    let d = g;
    if (mu !== 0) {
      m![i] = mu * m![i] + g;
      d = h.nesterov ? g + mu * m![i] : m![i];
    }
    params[i] -= h.lr * d;
  }
}

/** ema ← decay·ema + (1 − decay)·params. */
export function emaRef(ema: Float64Array, params: ArrayLike<number>, decay: number): void {
  for (let i = 0; i < ema.length; i++) ema[i] = decay * ema[i] + (1 - decay) * params[i];
}

/** Σ x² in float64. */
export function sumSquaresRef(x: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i] * x[i];
  return s;
}
