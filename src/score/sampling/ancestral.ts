// Ancestral sampling: walk the discrete chain back one index at a time, drawing x_{i−1} from the
// Gaussian posterior q(x_{i−1} | x_i, x₀) with x₀ replaced by the model's estimate x̂₀.
// For a chain x_i = a_i·x_{i−1} + g_i·z with marginals x_i = m_i·x₀ + s_i·z this posterior is
//   mean  = (m_{i−1}·g_i²·x̂₀ + a_i·s_{i−1}²·x_i) / s_i²,   variance β̃_i = s_{i−1}²·g_i² / s_i².
// DDPM (Ho et al. 2020, Alg. 2): a = √α_t, g² = β_t, m = √ᾱ, s² = 1 − ᾱ, so the mean is
//   √ᾱ_{t−1}β_t/(1−ᾱ_t)·x̂₀ + √α_t(1−ᾱ_{t−1})/(1−ᾱ_t)·x_t = (x_t − β_t/√(1−ᾱ_t)·ε̂)/√α_t
// and the variance is β̃_t ('posterior') or β_t ('beta', the paper's other choice: σ_t² = β_t).
// NCSN (VE): a = 1, g² = σ_i² − σ_{i−1}²: score_sde's ancestral predictor
//   x_{i−1} = x_i + (σ_i² − σ_{i−1}²)·s + √(σ_{i−1}²(σ_i² − σ_{i−1}²)/σ_i²)·z.
// The last step (i = 0) adds no noise. x̂₀ may be clipped to the data range (diffusers' clip_sample).
import type { DiscreteProcess } from '../processes/process.js';
import { adapt } from '../adapter.js';
import { dataBounds, type SamplerPlan, type PlanStep } from './plan.js';

export type AncestralVariance = 'posterior' | 'beta';

export interface AncestralOptions {
  variance?: AncestralVariance;
  clip?: boolean;
}

export function ancestralPlan(proc: DiscreteProcess, o: AncestralOptions = {}): SamplerPlan {
  const variance = o.variance ?? 'posterior';
  const [lo, hi] = dataBounds(proc);
  const steps: PlanStep[] = [];
  for (let i = proc.N - 1; i >= 0; i--) {
    const mi = proc.marginal(i);
    const prev = i > 0 ? proc.marginal(i - 1) : { mean: 1, std: 0 };
    const { a, g } = proc.discretize(i);
    const s2 = mi.std * mi.std, sp2 = prev.std * prev.std, g2 = g * g;
    const x0 = adapt(proc.prediction, mi).x0;
    const cx0 = (prev.mean * g2) / s2; // on x̂₀
    const cxt = (a * sp2) / s2; // on x_i
    const v = i === 0 ? 0 : variance === 'posterior' ? (sp2 * g2) / s2 : g2;
    steps.push({ index: i, cond: proc.conditioning(i), coef: { p: x0.cx, q: x0.co, a: cxt, b: cx0, c: Math.sqrt(v), lo, hi }, level: prev });
  }
  return { name: 'ancestral', init: { kind: 'normal', std: proc.priorStd }, steps, clip: !!o.clip };
}
