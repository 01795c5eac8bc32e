// Score-matching objectives, each the batch mean of its per-sample formula. x is a data batch [B, D];
// randomness (z, v, noise-level indices) comes from the Noise source so that a recorded training step
// draws fresh values on the device at every replay.
import * as op from '../autograd/ops.js';
import { grad } from '../autograd/engine.js';
import { Tensor } from '../tensor/tensor.js';
import type { Prediction } from './processes/process.js';

export interface ScoreModel {
  /** s_θ(x[, σ]); energy models return −∇ₓE (createGraph keeps it differentiable in θ). */
  score(x: Tensor, sigma?: Tensor, createGraph?: boolean): Tensor;
}

/** On-device random draws for a loss. */
export interface Noise {
  normal(shape: number[]): Tensor;
  rademacher(shape: number[]): Tensor;
  /** Integers in [0, high) as f32. */
  randint(shape: number[], high: number): Tensor;
}

export const LOSSES = ['esm', 'dsm', 'ssm', 'ssmvr', 'deen', 'ncsn'] as const;
export type LossName = (typeof LOSSES)[number];

/** Σ over every axis but the batch: [B, ...] → [B] (vectors and images alike). */
const rowSum = (t: Tensor) => op.sum(t, t.shape.slice(1).map((_, i) => i + 1));
/** A per-sample scalar [B, 1] shaped to broadcast against x ([B, 1, 1, 1] for images). */
const perSample = (s: Tensor, x: Tensor) => (x.rank === 2 ? s : op.reshape(s, [x.shape[0], ...x.shape.slice(1).map(() => 1)]));

/**
 * x, or x + σz when the data are to be smoothed first: score matching assumes a differentiable
 * density, which data with sharp edges (a checkerboard) do not have; the model then learns the
 * score of the σ-smoothed data, as DSM does (NCSN's sliced variant perturbs the data the same way).
 */
function smoothed(x: Tensor, sigma: number | undefined, noise: Noise | undefined): Tensor {
  if (!sigma) return x.detach();
  if (!noise) throw new Error('smoothing the data (σ > 0) needs a noise source');
  return op.axpby(1, x, sigma, noise.normal([...x.shape])).detach();
}

/**
 * Explicit score matching (Hyvärinen 2005): J(θ) = E[½‖s(x)‖² + tr ∇ₓs(x)].
 * The trace is exact: one backward per dimension, ∂s_d/∂x_d read off the d-th vector-Jacobian product.
 */
export function esmLoss(model: ScoreModel, x: Tensor, opts: { sigma?: number; noise?: Noise } = {}): Tensor {
  const [B, D] = x.shape;
  const xl = smoothed(x, opts.sigma, opts.noise);
  xl.requiresGrad = true;
  const s = model.score(xl, undefined, true);
  let trace: Tensor | null = null;
  for (let d = 0; d < D; d++) {
    const e = Tensor.constant(x.device, `onehot${D}.${d}`, Float32Array.from({ length: D }, (_, k) => (k === d ? 1 : 0)), [1, D]);
    const [g] = grad(op.sum(op.mul(s, e)), [xl], { createGraph: true }); // row b: ∇ₓ s_d(x_b)
    const diag = rowSum(op.mul(g!, e)); // ∂s_d/∂x_d
    trace = trace ? op.add(trace, diag) : diag;
  }
  void B;
  return op.mean(op.add(op.scale(rowSum(op.square(s)), 0.5), trace!));
}

/**
 * Denoising score matching (Vincent 2011) at one noise level σ:
 * J(θ) = E ½‖s(x + σz) + z/σ‖², whose minimiser is the score of the σ-smoothed data.
 */
export function dsmLoss(model: ScoreModel, x: Tensor, sigma: number, noise: Noise, opts: { antithetic?: boolean } = {}): Tensor {
  let z = noise.normal([...x.shape]);
  if (opts.antithetic) {
    // each row with z and with −z: E is unchanged (−z ~ z), and the term of the loss that is odd in
    // z — (2/σ)·zᵀs(x), whose variance ∝ 1/σ² buries the signal at small σ — cancels in each pair
    x = op.concat([x, x], 0);
    z = op.concat([z, op.neg(z)], 0);
  }
  const xt = op.axpby(1, x, sigma, z);
  const s = model.score(xt, undefined, true);
  return op.mean(op.scale(rowSum(op.square(op.axpby(1, s, 1 / sigma, z))), 0.5));
}

/**
 * Sliced score matching (Song et al. 2019): J(θ) = E_v E_x [vᵀ∇ₓ(vᵀs(x)) + ½(vᵀs(x))²], with
 * vᵀ∇ₓ(vᵀs) from one extra backward of Σ_b vᵀs(x_b) (samples are independent).
 * `vr` gives SSM-VR: the second term becomes ½‖s(x)‖² (its expectation over v when E[vvᵀ] = I).
 * `sigma` smooths the data first (see `smoothed`).
 */
export function ssmLoss(model: ScoreModel, x: Tensor, noise: Noise, opts: { vr?: boolean; projection?: 'rademacher' | 'gaussian'; sigma?: number } = {}): Tensor {
  const xin = smoothed(x, opts.sigma, noise);
  xin.requiresGrad = true;
  const v = opts.projection === 'gaussian' ? noise.normal([...x.shape]) : noise.rademacher([...x.shape]);
  const s = model.score(xin, undefined, true);
  const vs = rowSum(op.mul(v, s)); // [B]
  const [gvs] = grad(op.sum(vs), [xin], { createGraph: true }); // ∇ₓ(vᵀs) per row
  const term1 = rowSum(op.mul(v, gvs!));
  const term2 = opts.vr ? op.scale(rowSum(op.square(s)), 0.5) : op.scale(op.square(vs), 0.5);
  return op.mean(op.add(term1, term2));
}

/** Deep energy estimator networks (Saremi et al. 2018): DSM on s = −∇ₓE_θ. */
export function deenLoss(model: ScoreModel, x: Tensor, sigma: number, noise: Noise, opts: { antithetic?: boolean } = {}): Tensor {
  return dsmLoss(model, x, sigma, noise, opts);
}

/**
 * NCSN objective (Song & Ermon 2019): σ drawn uniformly from the geometric levels per sample,
 * weighted by λ(σ) = σ²:  ½ E_σ E σ²‖s(x + σz, σ) + z/σ‖² = ½ E‖σ·s(x̃, σ) + z‖².
 * `sigmas` is an [L, 1] tensor of the levels.
 */
export function ncsnLoss(model: ScoreModel, x: Tensor, sigmas: Tensor, noise: Noise): Tensor {
  const [B] = x.shape;
  const L = sigmas.shape[0];
  const idx = noise.randint([B], L);
  const sigma = op.gather(sigmas, idx); // [B, 1]: the model's conditioning input
  const sb = perSample(sigma, x);
  const z = noise.normal([...x.shape]);
  const xt = op.add(x, op.mul(sb, z));
  const s = model.score(xt, sigma, true);
  return op.mean(op.scale(rowSum(op.square(op.add(op.mul(sb, s), z))), 0.5));
}

/** A network fed a noise level: out = f_θ(x, c) with c [B, 1] (σ for NCSN, t for DDPM). */
export interface NoiseConditionalNet {
  forward(x: Tensor, cond: Tensor): Tensor;
}

/** A discrete process's per-index columns on the device ([N, 1] each), gathered per sample. */
export interface ProcessColumns {
  mean: Tensor;
  std: Tensor;
  cond: Tensor;
  prediction: Prediction;
  /**
   * 'half-sum': ½·Σ over pixels, batch mean (NCSN's λ(σ) = σ² weighting written as ½‖σ·s + z‖²);
   * 'mean': mean over pixels and batch (DDPM's simple loss ‖ε̂ − ε‖²).
   */
  reduction: 'half-sum' | 'mean';
}

/**
 * Denoising score matching over a discrete process, one objective for every parametrisation:
 * draw i ~ U{0 … N−1} per sample, x_i = m_i·x₀ + s_i·z, and regress the network's implied noise
 * ε̂(x_i) onto z. For NCSN (the network predicts the score, ε̂ = −σ·s) this is the multi-σ DSM
 * objective with λ(σ) = σ²:  ½ E σ²‖s(x̃, σ) + z/σ‖² = ½ E‖σ·s + z‖²; for DDPM (ε̂ = out) it is
 * Ho et al.'s simple loss E‖ε̂ − z‖², uniform t. ε̂ = cx·x_i + co·out per the adapter (../adapter.ts);
 * the coefficients depend on (m_i, s_i) per sample, so they are formed here as columns.
 */
export function denoisingLoss(net: NoiseConditionalNet, cols: ProcessColumns, x: Tensor, noise: Noise): Tensor {
  const B = x.shape[0];
  const N = cols.mean.shape[0];
  const idx = noise.randint([B], N);
  const m = perSample(op.gather(cols.mean, idx), x);
  const s = perSample(op.gather(cols.std, idx), x);
  const cond = op.gather(cols.cond, idx); // [B, 1]
  const z = noise.normal([...x.shape]);
  const xt = op.add(op.mul(m, x), op.mul(s, z));
  const out = net.forward(xt, cond);
  const r = op.square(op.sub(impliedNoise(cols.prediction, out, xt, m, s), z));
  return cols.reduction === 'mean' ? op.mean(r) : op.mean(op.scale(rowSum(r), 0.5));
}

/**
 * The noise ε̂ a network's output implies at x_t = m·x₀ + s·ε (m, s per sample, shaped to broadcast),
 * the adapter's ε row (./adapter.ts) written with per-sample columns.
 */
function impliedNoise(prediction: Prediction, out: Tensor, xt: Tensor, m: Tensor, s: Tensor): Tensor {
  switch (prediction) {
    case 'eps':
      return out;
    case 'score':
      return op.neg(op.mul(s, out));
    case 'x0': // ε̂ = (x_t − m·x̂₀)/s
      return op.div(op.sub(xt, op.mul(m, out)), s);
    case 'v': // ε̂ = (s·x_t + m·v)/(m² + s²)
      return op.div(op.add(op.mul(s, xt), op.mul(m, out)), op.add(op.square(m), op.square(s)));
  }
}

/** A continuous-time process as the loss sees it: its end time, parametrisation and per-row coefficients at times t [B, 1]. */
export interface ContinuousColumns {
  readonly T: number;
  readonly prediction: Prediction;
  columns(t: Tensor): { mean: Tensor; std: Tensor; cond: Tensor; g2: Tensor };
}

export interface SdeLossOptions {
  /** t ~ U(ε, T). */
  eps: number;
  /** λ(t) = s(t)² ('std2', the paper's choice) or g(t)² ('likelihood', Song et al. 2021b). */
  weighting: 'std2' | 'likelihood';
  /** Per sample: mean over pixels ('mean', score_sde's reduce_mean = True) or ½·sum ('half-sum', reduce_mean = False). */
  reduction: 'mean' | 'half-sum';
}

/** ε = 1e-5, λ = s², mean over pixels: the defaults (score_sde: its VP/sub-VP configs; its VE configs sum). */
export const SDE_LOSS_DEFAULTS: SdeLossOptions = { eps: 1e-5, weighting: 'std2', reduction: 'mean' };

/** u ~ U[0, 1) per row from 24 random bits: randint(2^24)·2^−24 is exactly the device's uniform draw (rng.wgsl's u01). */
const U24 = 2 ** 24;

/**
 * Continuous-time denoising score matching (Song et al. 2021, eq. 7; score_sde's get_sde_loss_fn):
 *   E_t E_{x₀} E_{x_t|x₀} λ(t)·‖s_θ(x_t, t) − ∇ log p_{0t}(x_t | x₀)‖²,   t ~ U(ε, T),
 * with x_t = m(t)·x₀ + s(t)·z, ∇ log p_{0t} = −z/s(t) and s_θ = −ε̂/s(t) (any parametrisation, via
 * the adapter's ε), so per sample
 *   λ = s²  ('std2'):        ‖s·s_θ + z‖²       = ‖ε̂ − z‖²
 *   λ = g²  ('likelihood'):  g²‖s_θ + z/s‖²    = (g²/s²)·‖ε̂ − z‖²,
 * reduced over pixels by mean or ½·sum, then averaged over the batch. t is drawn on the device per
 * row (24 random bits through the noise source: a recorded training step draws new times at every
 * replay), and the coefficients are computed there from t.
 */
export function continuousDsmLoss(net: NoiseConditionalNet, proc: ContinuousColumns, x: Tensor, noise: Noise, opts: Partial<SdeLossOptions> = {}): Tensor {
  const o = { ...SDE_LOSS_DEFAULTS, ...opts };
  if (!(o.eps > 0 && o.eps < proc.T)) throw new Error(`continuous DSM: ε must be in (0, T), got ${o.eps}`);
  const B = x.shape[0];
  const t = op.affine(noise.randint([B, 1], U24), (proc.T - o.eps) / U24, o.eps); // t = ε + (T − ε)·u
  const c = proc.columns(t);
  const m = perSample(c.mean, x), s = perSample(c.std, x);
  const z = noise.normal([...x.shape]);
  const xt = op.add(op.mul(m, x), op.mul(s, z));
  const out = net.forward(xt, c.cond);
  const r = op.square(op.sub(impliedNoise(proc.prediction, out, xt, m, s), z));
  let perRow = o.reduction === 'mean' ? op.mean(r, r.shape.slice(1).map((_, i) => i + 1)) : op.scale(rowSum(r), 0.5); // [B]
  if (o.weighting === 'likelihood') perRow = op.mul(perRow, op.reshape(op.div(c.g2, op.square(c.std)), [B]));
  return op.mean(perRow);
}
