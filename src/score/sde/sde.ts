// Score SDEs (Song et al. 2021, "Score-based generative modeling through stochastic differential
// equations"), in the shape of score_sde's `sde_lib.py`. A forward SDE on t ∈ [0, T], T = 1,
//   dx = f(x, t) dt + g(t) dw,
// perturbs data x(0) ~ p₀ into x(T) ~ prior. Every SDE here has a drift linear in x (VE: 0; VP and
// sub-VP: −½β(t)·x), so its perturbation kernel is Gaussian, x(t) | x(0) ~ N(m(t)·x(0), s(t)²·I),
// and everything a sampler or a loss needs at a time t is a handful of scalars: `sde(t)` gives the
// drift coefficient f(t) (f(x, t) = f(t)·x) and g(t); `marginalProb(t)` gives m(t) and s(t). The
// GPU side folds such scalars into the fused affine update x ← a·x + b·out + c·z.
//
// Reverse time (Anderson 1982; the paper's eq. 6 and the probability-flow ODE, eq. 13):
//   dx = [f(x, t) − g(t)²·∇ₓ log p_t(x)] dt + g(t) dw̄          (reverse SDE)
//   dx = [f(x, t) − ½·g(t)²·∇ₓ log p_t(x)] dt                   (probability-flow ODE)
// The score is whatever the model-output adapter (../adapter.ts) makes of the network's output:
// ∇ log p_t(x) ≈ cx(t)·x + co(t)·out, so the reverse drift is again affine in (x, out).
//
// Conventions shared with score_sde: `discretize(t)` writes one forward step as
// x_{i+1} = x_i + f_i(x_i) + G_i·z (Euler–Maruyama unless a process has its own: VE's is SMLD's,
// VP's is DDPM's); the network's noise-level input at t is `conditioning(t)`; what it predicts is
// `prediction` (VE: the score, as NCSN++ with its output divided by σ; VP/sub-VP: ε = −s(t)·score,
// which is score_sde's `score = −model(x, 999t)/std`).
import type { Tensor } from '../../tensor/tensor.js';
import * as op from '../../autograd/ops.js';
import { unary, fill } from '../../tensor/ops/elementwise.js';
import { adapt, type Affine } from '../adapter.js';
import { gaussianLogProb, type DataRange, type Marginal, type Prediction, type ProcessSpec } from '../processes/process.js';

/** Drift and diffusion of dx = f(x, t) dt + g(t) dw at a time t: f(x, t) = drift·x, g(t) = diffusion. */
export interface SdeCoefficients {
  drift: number;
  diffusion: number;
}

/** One step of a discretisation, x_{i+1} = x_i + f·x_i + G·z (score_sde's `discretize` returns f·x, G). */
export interface DiscreteStep {
  f: number;
  G: number;
}

/** The score at time t as an affine map of (x, network output): ∇ log p_t(x) = cx·x + co·out. */
export type ScoreFn = (t: number) => Affine;

/** A drift affine in (x, out): drift(x, t) = x·x + out·out (scalars per t). */
export interface AffineDrift {
  x: number;
  out: number;
}

/** The reverse-time SDE or probability-flow ODE of a forward SDE for a given score (score_sde's RSDE). */
export interface ReverseSde {
  readonly N: number;
  readonly T: number;
  readonly probabilityFlow: boolean;
  /** dx = drift(x, t) dt + diffusion dw̄, run from T down to 0. */
  sde(t: number): { drift: AffineDrift; diffusion: number };
  /** One reverse step of the forward discretisation: x_{i} = x_{i+1} − f(x_{i+1}) + G·z. */
  discretize(t: number): { f: AffineDrift; G: number };
}

/** m(t), s(t), the conditioning and g(t)² as [B, 1] device columns for a column of times t. */
export interface SdeColumns {
  mean: Tensor;
  std: Tensor;
  cond: Tensor;
  g2: Tensor;
}

export type SdeName = 've' | 'vp' | 'subvp';

export abstract class Sde {
  abstract readonly name: SdeName;
  /** End time. */
  readonly T = 1;
  abstract readonly prediction: Prediction;
  abstract readonly dataRange: DataRange;
  /** Prior p_T = N(0, priorStd²·I). */
  abstract readonly priorStd: number;

  /** N: the number of discretisation steps (score_sde's `num_scales`). */
  constructor(readonly N: number) {
    if (!(Number.isInteger(N) && N >= 2)) throw new Error(`sde: N must be an integer ≥ 2, got ${N}`);
  }

  /** f(x, t) = drift·x and g(t). */
  abstract sde(t: number): SdeCoefficients;
  /** x(t) | x(0) ~ N(mean·x(0), std²·I). */
  abstract marginalProb(t: number): Marginal;
  /** The network's noise-level input at time t. */
  abstract conditioning(t: number): number;
  /** The time at which s(t)/m(t) = σ (EDM's σ: x(t)/m(t) = x(0) + σ·z), for σ-parametrised samplers. */
  abstract timeOfSigma(sigma: number): number;
  /** The same m(t), s(t), conditioning and g(t)² computed on the device for a [B, 1] column of times (no gradients). */
  abstract columns(t: Tensor): SdeColumns;
  /** JSON-able description (a run's config stores it to rebuild the SDE). */
  abstract describe(): ProcessSpec;

  /** n draws from the prior N(0, priorStd²) given a standard-normal generator (GPU samplers start from `priorStd` themselves). */
  priorSampling(n: number, normal: () => number): Float64Array {
    return Float64Array.from({ length: n }, () => this.priorStd * normal());
  }

  /** log p_T(z) for a point of `dim` coordinates with squared norm `sqNorm`: −‖z‖²/(2σ²) − (D/2)·log(2πσ²). */
  priorLogp(sqNorm: number, dim: number): number {
    return gaussianLogProb(sqNorm, dim, this.priorStd);
  }

  /** Euler–Maruyama with Δt = 1/N: f = f(t)·Δt, G = g(t)·√Δt. */
  discretize(t: number): DiscreteStep {
    const dt = this.T / this.N;
    const { drift, diffusion } = this.sde(t);
    return { f: drift * dt, G: diffusion * Math.sqrt(dt) };
  }

  /**
   * The reverse-time SDE (probabilityFlow = false) or the probability-flow ODE (true) for a score
   * given as an affine map of (x, out) per t:
   *   drift = f(t)·x − λ·g(t)²·(cx·x + co·out),  diffusion = g(t) (0 for the ODE),  λ = 1 (½ for the ODE);
   * and its discretisation, rev_f = f − λ·G²·score, rev_G = G (0 for the ODE).
   */
  reverse(score: ScoreFn, probabilityFlow = false): ReverseSde {
    const lam = probabilityFlow ? 0.5 : 1;
    return {
      N: this.N,
      T: this.T,
      probabilityFlow,
      sde: (t) => {
        const { drift, diffusion } = this.sde(t);
        const s = score(t), g2 = diffusion * diffusion;
        return { drift: { x: drift - lam * g2 * s.cx, out: -lam * g2 * s.co }, diffusion: probabilityFlow ? 0 : diffusion };
      },
      discretize: (t) => {
        const { f, G } = this.discretize(t);
        const s = score(t), G2 = G * G;
        return { f: { x: f - lam * G2 * s.cx, out: -lam * G2 * s.co }, G: probabilityFlow ? 0 : G };
      },
    };
  }

  /** The score a network of this SDE's parametrisation implies: the adapter at the marginal of t. */
  modelScore(): ScoreFn {
    return (t) => adapt(this.prediction, this.marginalProb(t)).score;
  }

  /** score_sde's index of a time in its N-point tables: ⌊t·(N − 1)/T⌋ (a hair of slack so t = i/(N − 1) maps to i despite rounding). */
  timestep(t: number): number {
    if (!(t >= 0 && t <= this.T)) throw new RangeError(`${this.name}: time ${t} is outside [0, ${this.T}]`);
    return Math.min(this.N - 1, Math.floor((t * (this.N - 1)) / this.T + 1e-9));
  }
}

// ------------------------------------------------------------------ device formulas (f32)

/**
 * 1 − e^{−B} for B ≥ 0 on the device without the cancellation of 1 − exp(−B) in f32 at small B
 * (at B = 1e-6, the VP variance at t = 1e-5, that loses ~5 % of the result): the series
 * B·(1 − B/2·(1 − B/3·(1 − B/4·(1 − B/5)))) below B = 0.1 (truncation < 2e-8 relative), the direct
 * form above (rounding ≲ 1e-6 relative).
 */
export function oneMinusExpNeg(B: Tensor): Tensor {
  const direct = op.affine(op.exp(op.neg(B)), -1, 1);
  const b = unary('clamp', B, 0, 0.1); // the series only where it is used (no overflow at large B)
  let h = op.affine(b, -1 / 5, 1);
  for (const k of [4, 3, 2]) h = op.affine(op.mul(b, h), -1 / k, 1);
  const series = op.mul(b, h);
  // w·direct + (1 − w)·series with w ∈ {0, 1}: each product is exact, nothing cancels
  const w = unary('stepGt', B, 0.1); // 1 where B > 0.1
  return op.add(op.mul(w, direct), op.mul(op.affine(w, -1, 1), series));
}

/** A [B, 1] column of ones shaped like t (VE's mean coefficient). */
export function ones(t: Tensor): Tensor {
  return fill(t.device, t.shape, 1);
}
