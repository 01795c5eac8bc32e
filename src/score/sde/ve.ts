// The variance-exploding SDE (Song et al. 2021, eq. 9 and Appendix C), SMLD/NCSN in continuous time:
//   σ(t) = σ_min·(σ_max/σ_min)^t,
//   dx = σ(t)·√(2·log(σ_max/σ_min)) dw         (f = 0, g(t)² = d[σ(t)²]/dt),
//   x(t) | x(0) ~ N(x(0), σ(t)²·I),            prior N(0, σ_max²·I).
// As in score_sde, the marginal std is σ(t) itself, not √(σ(t)² − σ_min²): x(0) is taken to be data
// already perturbed by N(0, σ_min²) (σ_min ≈ 0.01 is below a pixel's quantisation step).
// Discretisation: SMLD's chain over N geometric levels σ_0 = σ_min < … < σ_{N−1} = σ_max,
//   x_i = x_{i−1} + √(σ_i² − σ_{i−1}²)·z  (σ_{−1} = 0),  at i = ⌊t·(N − 1)⌋.
// Defaults σ_min = 0.01, N = 1000; σ_max from the data by NCSNv2's rule (about the largest distance
// between two training points; image_recipes.ts fills it in). The network is conditioned on σ(t)
// (Fourier features of log σ) and predicts the score (NCSN++'s output divided by σ, scale_by_sigma),
// on [0, 1] images (score_sde's VE configs do not centre the data).
import type { Tensor } from '../../tensor/tensor.js';
import * as op from '../../autograd/ops.js';
import type { ProcessSpec } from '../processes/process.js';
import { Sde, ones, type SdeColumns } from './sde.js';

export class VeSde extends Sde {
  readonly name = 've' as const;
  readonly prediction = 'score' as const;
  readonly dataRange = '[0,1]' as const;
  /** σ_i of the SMLD discretisation, increasing (score_sde's `discrete_sigmas`). */
  readonly discreteSigmas: Float64Array;
  /** log(σ_max/σ_min). */
  private readonly L: number;

  constructor(readonly sigmaMin = 0.01, readonly sigmaMax = 50, N = 1000) {
    super(N);
    if (!(sigmaMin > 0 && sigmaMax > sigmaMin)) throw new Error(`ve: need 0 < σ_min < σ_max, got σ_min = ${sigmaMin}, σ_max = ${sigmaMax}`);
    this.L = Math.log(sigmaMax / sigmaMin);
    // exp(linspace(log σ_min, log σ_max, N))
    this.discreteSigmas = Float64Array.from({ length: N }, (_, i) => Math.exp(Math.log(sigmaMin) + (this.L * i) / (N - 1)));
  }

  get priorStd(): number {
    return this.sigmaMax;
  }

  /** σ(t) = σ_min·(σ_max/σ_min)^t. */
  sigma(t: number): number {
    return this.sigmaMin * Math.exp(this.L * t);
  }

  /** σ(t) = σ_min·e^{L·t}  ⇒  t = log(σ/σ_min)/L. */
  timeOfSigma(sigma: number): number {
    return Math.log(sigma / this.sigmaMin) / this.L;
  }

  sde(t: number) {
    return { drift: 0, diffusion: this.sigma(t) * Math.sqrt(2 * this.L) };
  }

  marginalProb(t: number) {
    return { mean: 1, std: this.sigma(t) };
  }

  /** SMLD: f = 0, G = √(σ_i² − σ_{i−1}²). */
  override discretize(t: number) {
    const i = this.timestep(t);
    const s = this.discreteSigmas[i], prev = i > 0 ? this.discreteSigmas[i - 1] : 0;
    return { f: 0, G: Math.sqrt(s * s - prev * prev) };
  }

  /** σ(t) (score_sde: `labels = marginal_prob(0, t)[1]` for continuous VE models). */
  conditioning(t: number): number {
    return this.sigma(t);
  }

  columns(t: Tensor): SdeColumns {
    const std = op.exp(op.affine(t, this.L, Math.log(this.sigmaMin))); // σ(t) = exp(log σ_min + t·L)
    return { mean: ones(t), std, cond: std, g2: op.affine(op.square(std), 2 * this.L) }; // g² = 2L·σ²
  }

  describe(): ProcessSpec {
    return { kind: 've', sigmaMin: this.sigmaMin, sigmaMax: this.sigmaMax, N: this.N };
  }
}
