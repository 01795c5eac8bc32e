// The variance-preserving SDE (Song et al. 2021, eq. 11 and Appendix B), DDPM in continuous time:
//   β(t) = β_min + t·(β_max − β_min),   B(t) = ∫₀ᵗ β(s) ds = β_min·t + ½·(β_max − β_min)·t²,
//   dx = −½·β(t)·x dt + √β(t) dw,
//   x(t) | x(0) ~ N(e^{−B(t)/2}·x(0), (1 − e^{−B(t)})·I),      prior N(0, I).
// Discretisation: DDPM's chain with β_i = β(i/(N − 1))/N, i.e. linspace(β_min/N, β_max/N, N)
// (for N = 1000 exactly Ho et al.'s 1e-4 … 0.02), at i = ⌊t·(N − 1)⌋:
//   x_{i+1} = √(1 − β_i)·x_i + √β_i·z   (f = (√(1 − β_i) − 1)·x, G = √β_i).
// Defaults β_min = 0.1, β_max = 20, N = 1000. The network is conditioned on 999·t (score_sde's
// continuous VP models: DDPM's sinusoidal embedding of the label t·999) and predicts ε, the score
// being −ε/s(t) (score_sde: `score = −model(x, 999t)/std`); data in [−1, 1].
//
// sub-VP (./subvp.ts) shares β, B, the drift and the parametrisation: LinearBetaSde holds them.
import type { Tensor } from '../../tensor/tensor.js';
import * as op from '../../autograd/ops.js';
import type { ProcessSpec } from '../processes/process.js';
import { Sde, oneMinusExpNeg, type SdeColumns } from './sde.js';

/** score_sde feeds continuous VP and sub-VP models t·999 (the largest DDPM timestep label). */
export const VP_TIME_SCALE = 999;

/** What VP and sub-VP share: β(t), B(t), the drift −½β(t)·x, ε-prediction conditioned on 999·t, data in [−1, 1]. */
export abstract class LinearBetaSde extends Sde {
  readonly prediction = 'eps' as const;
  readonly dataRange = '[-1,1]' as const;
  readonly priorStd = 1;

  constructor(readonly betaMin = 0.1, readonly betaMax = 20, N = 1000) {
    super(N);
    if (!(betaMin > 0 && betaMax >= betaMin)) throw new Error(`vp/subvp: need 0 < β_min ≤ β_max, got β_min = ${betaMin}, β_max = ${betaMax}`);
  }

  /** β(t) = β_min + t·(β_max − β_min). */
  beta(t: number): number {
    return this.betaMin + t * (this.betaMax - this.betaMin);
  }

  /** B(t) = ∫₀ᵗ β = β_min·t + ½·(β_max − β_min)·t²  (score_sde's log_mean_coeff is −B/2). */
  integral(t: number): number {
    return this.betaMin * t + 0.5 * (this.betaMax - this.betaMin) * t * t;
  }

  conditioning(t: number): number {
    return VP_TIME_SCALE * t;
  }

  /** The t with B(t) = B: the positive root of ½(β_max − β_min)·t² + β_min·t − B = 0. */
  protected timeOfIntegral(B: number): number {
    const d = this.betaMax - this.betaMin;
    return d === 0 ? B / this.betaMin : (B * 2) / (this.betaMin + Math.sqrt(this.betaMin * this.betaMin + 2 * d * B)); // (−β_min + √(β_min² + 2dB))/d without cancellation
  }

  /** B(t) on the device: t·(β_min + ½·(β_max − β_min)·t). */
  protected integralColumn(t: Tensor): Tensor {
    return op.mul(t, op.affine(t, 0.5 * (this.betaMax - this.betaMin), this.betaMin));
  }

  /** β(t) on the device. */
  protected betaColumn(t: Tensor): Tensor {
    return op.affine(t, this.betaMax - this.betaMin, this.betaMin);
  }
}

export class VpSde extends LinearBetaSde {
  readonly name = 'vp' as const;
  private readonly betas: Float64Array;

  constructor(betaMin = 0.1, betaMax = 20, N = 1000) {
    super(betaMin, betaMax, N);
    this.betas = Float64Array.from({ length: N }, (_, i) => betaMin / N + ((betaMax - betaMin) / N) * (i / (N - 1)));
  }

  /**
   * DDPM's β_i = linspace(β_min/N, β_max/N, N) (score_sde's `discrete_betas`). Only the discrete
   * chain (reverse-diffusion and ancestral predictors, the Langevin corrector's α) needs β_max/N < 1;
   * Euler–Maruyama and the ODE run at any N, as in score_sde.
   */
  get discreteBetas(): Float64Array {
    if (!(this.betaMax < this.N)) throw new Error(`vp: β_max/N must be < 1 for the DDPM discretisation, got β_max = ${this.betaMax}, N = ${this.N}`);
    return this.betas;
  }

  sde(t: number) {
    const b = this.beta(t);
    return { drift: -0.5 * b, diffusion: Math.sqrt(b) };
  }

  /** mean e^{−B/2}, std √(1 − e^{−B}) (as −expm1(−B): no cancellation at small t). */
  marginalProb(t: number) {
    const B = this.integral(t);
    return { mean: Math.exp(-0.5 * B), std: Math.sqrt(-Math.expm1(-B)) };
  }

  /** σ² = s²/m² = e^{B} − 1  ⇒  B = log(1 + σ²). */
  timeOfSigma(sigma: number): number {
    return this.timeOfIntegral(Math.log1p(sigma * sigma));
  }

  /** DDPM: f = √(1 − β_i) − 1 (times x), G = √β_i. */
  override discretize(t: number) {
    const b = this.discreteBetas[this.timestep(t)];
    return { f: Math.sqrt(1 - b) - 1, G: Math.sqrt(b) };
  }

  columns(t: Tensor): SdeColumns {
    const B = this.integralColumn(t);
    return {
      mean: op.exp(op.scale(B, -0.5)),
      std: op.sqrt(oneMinusExpNeg(B)),
      cond: op.scale(t, VP_TIME_SCALE),
      g2: this.betaColumn(t),
    };
  }

  describe(): ProcessSpec {
    return { kind: 'vp', betaMin: this.betaMin, betaMax: this.betaMax, N: this.N };
  }
}
