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
      steps.push({ index: i, cond: proc.conditioning(i), coef: { p: 0, q: 1, a: 1 + (alpha / 2) * sc.cx, b: (alpha / 2) * sc.co, c: Math.sqrt(alpha) }, level: m });
    }
  }
  if (o.denoise !== false) {
    const x0 = adapt(proc.prediction, proc.marginal(0)).x0;
    steps.push({ index: 0, cond: proc.conditioning(0), coef: { p: x0.cx, q: x0.co, a: 0, b: 1, c: 0 }, level: { mean: 1, std: 0 } });
  }
  const init = o.init === 'uniform' ? { kind: 'uniform' as const, lo: 0, hi: 1 } : { kind: 'normal' as const, std: proc.priorStd };
  return { name: 'annealed', init, steps, clip: false };
}

/**
 * NCSNv2's technique 4: the step for which the last level's chain ends closest to the right variance.
 * With u = ε/σ_L² (NCSNv2's step x ← x + ε_i·s + √(2ε_i)·z, ε_i = ε·σ_i²/σ_L²) the ratio of the
 * chain's end variance to σ_L² after T steps is
 *   r(u) = (1 − u)^{2T}·(γ² − 2/(2 − u)) + 2/(2 − u),
 * (the paper's eq. 6 with σ_L²(1 − (1 − u)²) = σ_L²·u(2 − u) simplified). r > 1 on (0, 1) for γ > 1,
 * so "r = 1" has no root: NCSNv2 takes the minimiser, found here by golden-section search.
 * annealedPlan's Algorithm 1 convention is x ← x + (α/2)·s + √α·z, so the same chain is α = 2ε.
 */
export function ncsnv2StepSize(gamma: number, sigmaL: number, T: number): number {
  if (!(gamma > 1 && sigmaL > 0 && T >= 1)) throw new Error(`ncsnv2StepSize: needs γ > 1, σ_L > 0, T ≥ 1 (got γ=${gamma}, σ_L=${sigmaL}, T=${T})`);
  const r = (u: number) => (1 - u) ** (2 * T) * (gamma * gamma - 2 / (2 - u)) + 2 / (2 - u);
  const phi = (Math.sqrt(5) - 1) / 2;
  let a = 0, b = 1;
  let c = b - phi * (b - a), d = a + phi * (b - a);
  let rc = r(c), rd = r(d);
  for (let k = 0; k < 200 && b - a > 1e-15; k++) {
    if (rc < rd) {
      b = d; d = c; rd = rc;
      c = b - phi * (b - a); rc = r(c);
    } else {
      a = c; c = d; rc = rd;
      d = a + phi * (b - a); rd = r(d);
    }
  }
  return 2 * ((a + b) / 2) * sigmaL * sigmaL;
}
