// EDM's second-order Heun sampler (Karras et al. 2022, Alg. 2) on the Karras σ schedule (./karras.ts),
// in the variable x̃ = x/m of any process (x = m·(x₀ + σ·ε)), with D(x̃; σ) the model's x̂₀:
//   γ_i = min(S_churn/n, √2 − 1) if S_tmin ≤ σ_i ≤ S_tmax else 0,   σ̂_i = σ_i·(1 + γ_i)
//   x̂_i = x_i + √(σ̂_i² − σ_i²)·S_noise·z                              (churn: add noise)
//   d_i = (x̂_i − D(x̂_i; σ̂_i))/σ̂_i,   x_{i+1} = x̂_i + (σ_{i+1} − σ̂_i)·d_i              (Euler)
//   if σ_{i+1} ≠ 0:  d'_i = (x_{i+1} − D(x_{i+1}; σ_{i+1}))/σ_{i+1},
//                    x_{i+1} = x̂_i + (σ_{i+1} − σ̂_i)·(½d_i + ½d'_i)                    (trapezoid)
// n levels cost 2n − 1 evaluations (the last step, to σ = 0, is Euler's: x_n = D(x̂; σ̂)).
// σ̂ is kept ≤ σ_max (the process has no noise level above it). x_0 ~ N(0, σ_0²).
//
// Every update is affine in (x̂, D₁, D₂): with y_e the Euler point and h = σ_{i+1} − σ̂_i,
//   y_e = (σ_{i+1}/σ̂)·x̂ + (1 − σ_{i+1}/σ̂)·D₁,
//   x_{i+1} = ½·x̂ + (½ + h/(2σ_{i+1}))·y_e − (h/(2σ_{i+1}))·D₂.
// The device holds the network's input x = m·x̃ (m at the σ being evaluated) and keeps x̂ in register r
// across the second evaluation (plan.ts's programs); each evaluation runs
//   r ← x/m̂ (first stage) · h ← x · h ← clip?(p·h + q·out) = D · x ← a·x + b·h + c·z · x ← x + b'·r (second stage)
// where the second stage's last two ops also scale to the next level's m̂ and add its churn noise.
import type { DiscreteProcess } from '../processes/process.js';
import type { UpdateCoef } from '../../tensor/ops/affine_update.js';
import { adapt } from '../adapter.js';
import { karrasSigmas, noiseLevel, sigmaRange } from './karras.js';
import { dataBounds, IDENTITY, type ProgramOp, type SamplerPlan, type PlanStep } from './plan.js';

export interface HeunOptions {
  /** Number of σ levels n (2n − 1 evaluations); default 18 (EDM's CIFAR-10 setting). */
  steps?: number;
  rho?: number;
  churn?: number;
  sTmin?: number;
  sTmax?: number;
  sNoise?: number;
  clip?: boolean;
}

export const HEUN_OPS: ProgramOp[] = [
  { target: 'r', source: 'x' }, // r ← x/m̂ = x̂ (first stage)
  { target: 'h', source: 'x' }, // h ← x
  { target: 'h', source: 'out' }, // h ← clip?(p·h + q·out) = D
  { target: 'x', source: 'h' }, // x ← a·x + b·D + c·z
  { target: 'x', source: 'r' }, // x ← x + b'·x̂ (second stage)
];

export function heunPlan(proc: DiscreteProcess, o: HeunOptions = {}): SamplerPlan {
  const n = o.steps ?? 18, rho = o.rho ?? 7, churn = o.churn ?? 0;
  const sTmin = o.sTmin ?? 0, sTmax = o.sTmax ?? Infinity, sNoise = o.sNoise ?? 1;
  if (!(churn >= 0)) throw new Error(`heun: S_churn must be ≥ 0, got ${churn}`);
  if (!(sNoise >= 0)) throw new Error(`heun: S_noise must be ≥ 0, got ${sNoise}`);
  const { sigmaMin, sigmaMax } = sigmaRange(proc);
  const sig = [...karrasSigmas(n, sigmaMin, sigmaMax, rho), 0];
  const gamma = (s: number) => (s >= sTmin && s <= sTmax ? Math.min(churn / n, Math.SQRT2 - 1) : 0);
  const hat = sig.slice(0, n).map((s) => Math.min(sigmaMax, s * (1 + gamma(s))));
  const [lo, hi] = dataBounds(proc);
  const copy: UpdateCoef = { p: 0, q: 1, a: 0, b: 1, c: 0 };
  // D = p·x + q·out at (σ, m): the adapter's x̂₀ at the marginal x = m·x₀ + (m·σ)·ε
  const denoiser = (s: number, m: number): UpdateCoef => {
    const x0 = adapt(proc.prediction, { mean: m, std: m * s }).x0;
    return { p: x0.cx, q: x0.co, a: 0, b: 1, c: 0, lo, hi };
  };
  const steps: PlanStep[] = [];
  for (let i = 0; i < n; i++) {
    const sh = hat[i], Lh = noiseLevel(proc, sh), next = sig[i + 1];
    if (next === 0) {
      // Euler to σ = 0: x_n = D(x̂; σ̂)
      steps.push({ cond: Lh.cond, coef: IDENTITY, coefs: [IDENTITY, copy, denoiser(sh, Lh.mean), { p: 0, q: 1, a: 0, b: 1, c: 0 }, IDENTITY], input: { mean: Lh.mean, std: Lh.mean * sh } });
      break;
    }
    const Ln = noiseLevel(proc, next), ratio = next / sh;
    // first stage: r ← x̂ = x/m̂;  x ← m'·y_e = (m'·σ'/(σ̂·m̂))·x + m'·(1 − σ'/σ̂)·D₁
    steps.push({
      cond: Lh.cond, coef: IDENTITY, input: { mean: Lh.mean, std: Lh.mean * sh },
      coefs: [{ p: 0, q: 1, a: 0, b: 1 / Lh.mean, c: 0 }, copy, denoiser(sh, Lh.mean), { p: 0, q: 1, a: (Ln.mean * ratio) / Lh.mean, b: Ln.mean * (1 - ratio), c: 0 }, IDENTITY],
    });
    // second stage at σ' = σ_{i+1}, then on to the next level's x = m̂_{i+1}·(x_{i+1} + churn)
    const h = next - sh, k = h / (2 * next);
    const sn = hat[i + 1], mn = noiseLevel(proc, sn).mean;
    const cNoise = mn * Math.sqrt(Math.max(0, sn * sn - next * next)) * sNoise;
    steps.push({
      cond: Ln.cond, coef: IDENTITY, input: { mean: Ln.mean, std: Ln.mean * next },
      coefs: [IDENTITY, copy, denoiser(next, Ln.mean), { p: 0, q: 1, a: (mn * (0.5 + k)) / Ln.mean, b: -mn * k, c: cNoise }, { p: 0, q: 1, a: 1, b: mn / 2, c: 0 }],
    });
  }
  const m0 = noiseLevel(proc, hat[0]).mean;
  const ops = HEUN_OPS.map((p, j) => (j === 2 ? { ...p, clip: !!o.clip } : p));
  const name = `heun(${n} levels${churn ? `, S_churn ${churn}` : ''})`;
  return { name, init: { kind: 'normal', std: m0 * hat[0] }, steps, clip: !!o.clip, ops };
}
