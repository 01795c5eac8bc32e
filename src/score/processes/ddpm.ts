// DDPM's discrete variance-preserving chain (Ho et al. 2020): for t = 1 … T (index i = t − 1)
//   q(x_t | x_{t−1}) = N(√(1−β_t)·x_{t−1}, β_t·I),   α_t = 1 − β_t,   ᾱ_t = Π_{s≤t} α_s,
//   q(x_t | x₀) = N(√ᾱ_t·x₀, (1−ᾱ_t)·I).
// β linear from 1e-4 to 0.02 over T = 1000 (the paper's), or the cosine schedule of Nichol &
// Dhariwal 2021 (ᾱ(t) = f(t)/f(0), f(t) = cos²((t/T + s)/(1 + s)·π/2), s = 0.008, β ≤ 0.999), as
// diffusers' `squaredcos_cap_v2`. The network predicts ε and is fed t − 1 (diffusers' timestep).
import { checkIndex, gaussianLogProb, type DiscreteProcess, type ProcessSpec } from './process.js';

export type BetaSchedule = 'linear' | 'cosine';

export class DdpmProcess implements DiscreteProcess {
  readonly name = 'ddpm';
  readonly prediction = 'eps' as const;
  readonly dataRange = '[-1,1]' as const;
  readonly priorStd = 1;
  readonly N: number;
  readonly betas: Float64Array;
  readonly alphas: Float64Array;
  readonly alphaBars: Float64Array;

  constructor(readonly schedule: BetaSchedule = 'linear', readonly T = 1000, readonly betaStart = 1e-4, readonly betaEnd = 0.02) {
    if (!(Number.isInteger(T) && T >= 2)) throw new Error(`ddpm: T must be an integer ≥ 2, got ${T}`);
    this.N = T;
    this.betas = schedule === 'cosine' ? cosineBetas(T) : linearBetas(T, betaStart, betaEnd);
    this.alphas = this.betas.map((b) => 1 - b);
    this.alphaBars = new Float64Array(T);
    let prod = 1;
    for (let i = 0; i < T; i++) this.alphaBars[i] = prod *= this.alphas[i];
  }

  /** ᾱ at index i; ᾱ_{−1} = 1 (no noise) so that the last step of a sampler lands on x₀. */
  alphaBar(i: number): number {
    if (i === -1) return 1;
    checkIndex(this, i);
    return this.alphaBars[i];
  }

  beta(i: number): number {
    checkIndex(this, i);
    return this.betas[i];
  }

  marginal(i: number) {
    const ab = this.alphaBar(i);
    return { mean: Math.sqrt(ab), std: Math.sqrt(1 - ab) };
  }

  priorLogProb(sqNorm: number, dim: number): number {
    return gaussianLogProb(sqNorm, dim, 1);
  }

  discretize(i: number) {
    const b = this.beta(i);
    return { a: Math.sqrt(1 - b), g: Math.sqrt(b) };
  }

  /** Posterior variance β̃_t = (1 − ᾱ_{t−1})/(1 − ᾱ_t)·β_t of q(x_{t−1} | x_t, x₀). */
  posteriorVariance(i: number): number {
    return ((1 - this.alphaBar(i - 1)) / (1 - this.alphaBar(i))) * this.beta(i);
  }

  conditioning(i: number): number {
    checkIndex(this, i);
    return i;
  }

  describe(): ProcessSpec {
    return { kind: 'ddpm', schedule: this.schedule, T: this.T, betaStart: this.betaStart, betaEnd: this.betaEnd };
  }
}

export function linearBetas(T: number, start: number, end: number): Float64Array {
  if (!(start > 0 && end >= start && end < 1)) throw new Error(`ddpm: need 0 < β_start ≤ β_end < 1, got ${start}, ${end}`);
  return Float64Array.from({ length: T }, (_, i) => start + ((end - start) * i) / (T - 1));
}

export function cosineBetas(T: number, s = 0.008, maxBeta = 0.999): Float64Array {
  const f = (t: number) => Math.cos(((t / T + s) / (1 + s)) * (Math.PI / 2)) ** 2;
  return Float64Array.from({ length: T }, (_, i) => Math.min(1 - f(i + 1) / f(i), maxBeta));
}
