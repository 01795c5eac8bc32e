// Annealed Langevin dynamics (Song & Ermon 2019, Algorithm 1): for σ_1 > … > σ_L, T steps of
//   x ← x + (α_i/2)·s_θ(x, σ_i) + √α_i·z,   α_i = ε·σ_i²/σ_L²,
// each level starting where the last ended; then one denoising step x ← x + σ_L²·s_θ(x, σ_L)
// (Tweedie's formula, as NCSNv2 does), which is exactly the adapter's x̂₀ at σ_L.
// The score is whatever the adapter makes of the network's output (cx·x + co·out), so in the fused
// update x̂₀ := out (p = 0, q = 1) and a = 1 + (α/2)·cx, b = (α/2)·co, c = √α.
// It needs a variance-exploding process (x_i = x₀ + σ_i·z): NCSN.
import type { DiscreteProcess } from '../processes/process.js';
import { adapt } from '../adapter.js';
import type { SamplerPlan, PlanStep } from './plan.js';

export interface AnnealedOptions {
  /** Steps per level (T). */
  stepsPerLevel?: number;
  /** Base step size ε. */
  eps?: number;
  /** Finish with the denoising step (default on). */
  denoise?: boolean;
  /** Start from U(0, 1) (NCSN/NCSNv2) instead of the prior N(0, σ_max²) (score_sde). */
  init?: 'prior' | 'uniform';
}

export function annealedPlan(proc: DiscreteProcess, o: AnnealedOptions = {}): SamplerPlan {
  if (proc.marginal(0).mean !== 1 || proc.marginal(proc.N - 1).mean !== 1) {
    throw new Error(`sampler 'annealed' (annealed Langevin) needs a variance-exploding process such as NCSN; this model's process is '${proc.name}' — use 'ancestral' or 'ddim'`);
  }
  const T = o.stepsPerLevel ?? 5;
  const eps = o.eps ?? 2e-5;
  if (!(Number.isInteger(T) && T >= 1)) throw new Error(`annealed: steps per level must be a positive integer, got ${T}`);
  if (!(eps > 0)) throw new Error(`annealed: ε must be > 0, got ${eps}`);
  const sL = proc.marginal(0).std;
  const steps: PlanStep[] = [];
  for (let i = proc.N - 1; i >= 0; i--) {
    const m = proc.marginal(i);
    const alpha = (eps * m.std * m.std) / (sL * sL);
    const sc = adapt(proc.prediction, m).score;
    for (let t = 0; t < T; t++) {
      steps.push({ index: i, cond: proc.conditioning(i), coef: { p: 0, q: 1, a: 1 + (alpha / 2) * sc.cx, b: (alpha / 2) * sc.co, c: Math.sqrt(alpha) } });
    }
  }
  if (o.denoise !== false) {
    const x0 = adapt(proc.prediction, proc.marginal(0)).x0;
    steps.push({ index: 0, cond: proc.conditioning(0), coef: { p: x0.cx, q: x0.co, a: 0, b: 1, c: 0 } });
  }
  const init = o.init === 'uniform' ? { kind: 'uniform' as const, lo: 0, hi: 1 } : { kind: 'normal' as const, std: proc.priorStd };
  return { name: 'annealed', init, steps, clip: false };
}

/**
 * NCSNv2's technique 4: the ε for which the last level's chain ends with the right variance,
 *   (1 − u)^{2T}·(γ² − 2/(2 − u)) + 2/(2 − u) = 1,   u = ε/σ_L²,
 * (the paper's expression with σ_L²(1 − (1 − u)²) = σ_L²·u(2 − u) simplified); bisection on u.
 */
export function ncsnv2StepSize(gamma: number, sigmaL: number, T: number): number {
  const f = (u: number) => (1 - u) ** (2 * T) * (gamma * gamma - 2 / (2 - u)) + 2 / (2 - u) - 1;
  let lo = 1e-12, hi = 1;
  // f(0⁺) = γ² − 1 > 0 for γ > 1; f decreases towards 2/(2−u) − 1 → small: find the root
  for (let k = 0; k < 200; k++) {
    const mid = Math.sqrt(lo * hi);
    if (f(mid) > 0) lo = mid;
    else hi = mid;
  }
  return Math.sqrt(lo * hi) * sigmaL * sigmaL;
}
