// NCSN's noise levels (Song & Ermon 2019; NCSNv2, Song & Ermon 2020) as a discrete process:
//   x_i = x₀ + σ_i·z,   σ_0 < σ_1 < … < σ_{N−1} geometric,
// the discrete VE chain of score_sde (x_i = x_{i−1} + √(σ_i² − σ_{i−1}²)·z). The network predicts the
// score itself (NCSNv2's s_θ(x, σ) = f_θ(x, σ)/σ), on [0, 1] images.
import { geometricSigmas } from '../sigmas.js';
import { checkIndex, gaussianLogProb, type DiscreteProcess, type ProcessSpec } from './process.js';

export class NcsnProcess implements DiscreteProcess {
  readonly name = 'ncsn';
  readonly prediction = 'score' as const;
  readonly dataRange = '[0,1]' as const;
  readonly N: number;
  /** σ_i, increasing in i. */
  readonly sigmas: Float64Array;

  constructor(readonly sigmaMax: number, readonly sigmaMin: number, readonly levels: number) {
    geometricSigmas(sigmaMax, sigmaMin, levels); // validates the arguments
    this.N = levels;
    // recompute in float64 (geometricSigmas returns f32)
    const r = levels > 1 ? Math.log(sigmaMin / sigmaMax) / (levels - 1) : 0;
    this.sigmas = Float64Array.from({ length: levels }, (_, k) => sigmaMax * Math.exp(r * (levels - 1 - k)));
  }

  sigma(i: number): number {
    checkIndex(this, i);
    return this.sigmas[i];
  }

  marginal(i: number) {
    return { mean: 1, std: this.sigma(i) };
  }

  get priorStd(): number {
    return this.sigmaMax;
  }

  priorLogProb(sqNorm: number, dim: number): number {
    return gaussianLogProb(sqNorm, dim, this.sigmaMax);
  }

  discretize(i: number) {
    const s = this.sigma(i);
    const prev = i > 0 ? this.sigmas[i - 1] : 0;
    return { a: 1, g: Math.sqrt(s * s - prev * prev) };
  }

  conditioning(i: number): number {
    return this.sigma(i);
  }

  /** Levels from the largest down, as NCSN's annealed sampler walks them. */
  descending(): number[] {
    return Array.from(this.sigmas).reverse();
  }

  describe(): ProcessSpec {
    return { kind: 'ncsn', sigmaMax: this.sigmaMax, sigmaMin: this.sigmaMin, levels: this.levels };
  }
}

/** Standard normal CDF (Abramowitz–Stegun 7.1.26 on erf; |error| < 1.5e-7). */
function normCdf(x: number): number {
  const t = 1 / (1 + 0.3275911 * Math.abs(x) / Math.SQRT2);
  const y = 1 - t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429)))) * Math.exp(-(x * x) / 2);
  return x >= 0 ? 0.5 * (1 + y) : 0.5 * (1 - y);
}

/**
 * NCSNv2's rules for the levels, from the data (Song & Ermon 2020, techniques 1 and 2):
 *  σ_max ≈ the largest Euclidean distance between two training points;
 *  the ratio γ = σ_{i}/σ_{i−1} such that Φ(√(2D)(γ−1) + 3γ) − Φ(√(2D)(γ−1) − 3γ) ≈ 0.5,
 *  so consecutive levels' shells overlap; L = 1 + ⌈log(σ_max/σ_min)/log γ⌉.
 * `maxDistance` is computed by the caller from (a subset of) the data.
 */
export function ncsnv2Levels(maxDistance: number, dim: number, sigmaMin = 0.01): { sigmaMax: number; sigmaMin: number; levels: number; gamma: number } {
  const c = (g: number) => normCdf(Math.sqrt(2 * dim) * (g - 1) + 3 * g) - normCdf(Math.sqrt(2 * dim) * (g - 1) - 3 * g);
  // c decreases from ≈1 as γ grows from 1: bisect for c(γ) = 0.5
  let lo = 1, hi = 3;
  for (let k = 0; k < 100; k++) {
    const mid = (lo + hi) / 2;
    if (c(mid) > 0.5) lo = mid;
    else hi = mid;
  }
  const gamma = (lo + hi) / 2;
  const sigmaMax = maxDistance;
  const levels = 1 + Math.ceil(Math.log(sigmaMax / sigmaMin) / Math.log(gamma));
  return { sigmaMax, sigmaMin, levels, gamma };
}

/** The largest pairwise distance among `n` rows of [*, dim] data (a subset stands for the set). */
export function maxPairwiseDistance(data: ArrayLike<number>, dim: number, n = Math.floor(data.length / dim)): number {
  let best = 0;
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      let s = 0;
      for (let k = 0; k < dim; k++) {
        const d = data[i * dim + k] - data[j * dim + k];
        s += d * d;
      }
      if (s > best) best = s;
    }
  }
  return Math.sqrt(best);
}
