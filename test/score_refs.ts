// Float64 references shared by the sampler tests: DDPM's schedule from the papers' formulas, numpy's
// rounding, and the exact output moments of a sampler plan run with the exact model of Gaussian data.
import type { SamplerPlan, PlanStep } from '../src/score/sampling/plan.js';

/** DDPM schedule in float64 (Ho et al. linear β; Nichol & Dhariwal cosine, s = 0.008, β ≤ 0.999): β_t, ᾱ_t for t = 1 … T at [t − 1]. */
export function ddpmRef(schedule: 'linear' | 'cosine', T: number, b0 = 1e-4, b1 = 0.02) {
  const f = (t: number) => Math.cos(((t / T + 0.008) / 1.008) * Math.PI / 2) ** 2;
  const beta: number[] = [], abar: number[] = [];
  let prod = 1;
  for (let t = 1; t <= T; t++) {
    const b = schedule === 'linear' ? b0 + ((b1 - b0) * (t - 1)) / (T - 1) : Math.min(1 - f(t) / f(t - 1), 0.999);
    beta.push(b);
    abar.push((prod *= 1 - b));
  }
  return { beta, abar, f };
}

/** numpy's np.round / ndarray.round: halves to the even neighbour. */
export function roundHalfEven(x: number): number {
  const f = Math.floor(x), d = x - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/**
 * Per coordinate, a model whose output is affine in x (out = k·x + k0, k and k0 per step) makes every
 * step of a plan affine: x ← A·x + B + c·z with A = a + b·(p + q·k), B = b·q·k0. From the plan's start
 * distribution the mean and variance of its output then follow exactly. (No clipping.)
 */
export function planMoments(plan: SamplerPlan, model: (step: PlanStep) => { k: number; k0: number }): { mean: number; variance: number } {
  let M = plan.init.kind === 'normal' ? 0 : (plan.init.lo + plan.init.hi) / 2;
  let V = plan.init.kind === 'normal' ? plan.init.std ** 2 : (plan.init.hi - plan.init.lo) ** 2 / 12;
  if (plan.clip) throw new Error('planMoments: a clipped plan is not affine');
  for (const s of plan.steps) {
    const { k, k0 } = model(s);
    const c = s.coef;
    const A = c.a + c.b * (c.p + c.q * k);
    M = A * M + c.b * c.q * k0;
    V = A * A * V + c.c * c.c;
  }
  return { mean: M, variance: V };
}

/**
 * The exact model of data x₀ ~ N(μ, v) (one coordinate) under x = m·x₀ + s·z: E[z | x] = s·(x − m·μ)/(m²v + s²),
 * as the output of a network predicting ε (k, k0 of out = k·x + k0); the score is −E[z | x]/s.
 */
export function exactEps(m: number, s: number, mu: number, v: number): { k: number; k0: number } {
  const d = m * m * v + s * s;
  return { k: s / d, k0: (-s * m * mu) / d };
}
export function exactScore(m: number, s: number, mu: number, v: number): { k: number; k0: number } {
  const d = m * m * v + s * s;
  return { k: -1 / d, k0: (m * mu) / d };
}
