// DDIM (Song, Meng & Ermon 2021): a non-Markovian reverse process with the same marginals, which can
// skip indices. From index t to the next index `prev` of a sub-sequence of S ≤ N steps:
//   x̂₀ = model's estimate (optionally clipped),   ε̂ = (x_t − m_t·x̂₀)/s_t,
//   x_prev = m_prev·x̂₀ + √(s_prev² − σ²)·ε̂ + σ·z,
//   σ = η·√(s_prev²·g²/s_t²),  g² = s_t² − (m_t/m_prev)²·s_prev²  (the posterior variance of the
//   skip; for DDPM σ = η·√((1−ᾱ_prev)/(1−ᾱ_t))·√(1 − ᾱ_t/ᾱ_prev), the paper's eq. 16).
// η = 0 is the deterministic DDIM; η = 1 with every index (S = N) is DDPM's ancestral sampler with
// the posterior variance β̃. After the last index the chain lands on x̂₀ itself (ᾱ_prev = 1, as
// diffusers' set_alpha_to_one). Substituting ε̂, the update is x_prev = d·x_t + (m_prev − d·m_t)·x̂₀ + σ·z
// with d = √(s_prev² − σ²)/s_t: one fused update per step. The chain starts from the noise level of
// its first index (plan.ts startStd): for VE that is s_{t₀}, below σ_max when the spacing skips the top.
import type { DiscreteProcess } from '../processes/process.js';
import { adapt } from '../adapter.js';
import { dataBounds, startStd, type SamplerPlan, type PlanStep } from './plan.js';

/** numpy's rounding (np.round): halves go to the even neighbour. */
export function roundHalfEven(x: number): number {
  const f = Math.floor(x), d = x - f;
  if (d !== 0.5) return d > 0.5 ? f + 1 : f;
  return f % 2 === 0 ? f : f + 1;
}

/** How S inference steps are spread over N indices (diffusers' `timestep_spacing`). */
export const SPACINGS = ['leading', 'trailing', 'linspace'] as const;
export type Spacing = (typeof SPACINGS)[number];

/** The S indices a DDIM chain visits, descending (diffusers' set_timesteps with steps_offset 0). */
export function ddimTimesteps(N: number, S: number, spacing: Spacing = 'leading'): number[] {
  if (!(Number.isInteger(S) && S >= 1 && S <= N)) throw new Error(`ddim: steps must be an integer in 1..${N}, got ${S}`);
  let ts: number[];
  switch (spacing) {
    case 'leading': {
      const r = Math.floor(N / S);
      ts = Array.from({ length: S }, (_, k) => k * r);
      break;
    }
    case 'trailing': {
      // np.round(np.arange(N, 0, −N/S)) − 1 with numpy's arithmetic: arange fills start + k·delta,
      // delta = (start + step) − start, and rounds halves to even
      const ratio = N / S, delta = N - ratio - N;
      ts = Array.from({ length: S }, (_, k) => roundHalfEven(k === 1 ? N - ratio : N + k * delta) - 1).reverse();
      break;
    }
    case 'linspace': {
      // np.linspace(0, N − 1, S).round(): y_k = k·step, the last exactly N − 1
      const step = (N - 1) / Math.max(1, S - 1);
      ts = Array.from({ length: S }, (_, k) => (S > 1 && k === S - 1 ? N - 1 : roundHalfEven(k * step)));
      break;
    }
    default:
      throw new Error(`ddim: unknown timestep spacing '${spacing}'; valid: ${SPACINGS.join(', ')}`);
  }
  return ts.reverse();
}

export interface DdimOptions {
  steps?: number;
  eta?: number;
  spacing?: Spacing;
  clip?: boolean;
}

export function ddimPlan(proc: DiscreteProcess, o: DdimOptions = {}): SamplerPlan {
  const eta = o.eta ?? 0;
  if (!(eta >= 0)) throw new Error(`ddim: η must be ≥ 0, got ${eta}`);
  const ts = ddimTimesteps(proc.N, o.steps ?? Math.min(50, proc.N), o.spacing);
  const [lo, hi] = dataBounds(proc);
  const steps: PlanStep[] = ts.map((t, k) => {
    const mt = proc.marginal(t);
    const prev = k + 1 < ts.length ? proc.marginal(ts[k + 1]) : { mean: 1, std: 0 };
    const r = mt.mean / prev.mean;
    const g2 = Math.max(0, mt.std * mt.std - r * r * prev.std * prev.std);
    const sigma = eta * Math.sqrt((prev.std * prev.std * g2) / (mt.std * mt.std));
    const d = Math.sqrt(Math.max(0, prev.std * prev.std - sigma * sigma)) / mt.std;
    const x0 = adapt(proc.prediction, mt).x0;
    return { index: t, cond: proc.conditioning(t), coef: { p: x0.cx, q: x0.co, a: d, b: prev.mean - d * mt.mean, c: sigma, lo, hi }, level: prev };
  });
  return { name: `ddim(${ts.length}, η=${eta})`, init: { kind: 'normal', std: startStd(proc, ts[0]) }, steps, clip: !!o.clip };
}
