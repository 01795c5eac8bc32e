// Langevin samplers. Every step runs on the GPU: the score network, then the fused update
//   x ← x + (α/2)·s_θ(x) + √α·z,   z ~ N(0, I) drawn inside the kernel (Philox keyed by the step),
// recorded once and replayed: per step the host writes only the step counter (the RNG clock) and,
// for annealed Langevin, the level's (α/2, √α) and σ. No read-back inside the chain; the final
// samples (and any snapshots asked for) come back at the end.
import type { Device } from '../gpu/device.js';
import { Tensor } from '../tensor/tensor.js';
import { noGrad } from '../autograd/engine.js';
import * as op from '../autograd/ops.js';
import { rand, randn, createClock, type Clock } from '../tensor/ops/random.js';
import { langevinStep } from '../tensor/ops/langevin.js';
import { annealedStepSize } from './sigmas.js';
import type { ScoreModel } from './losses.js';

export const SAMPLERS = ['langevin', 'annealed'] as const;
export type SamplerName = (typeof SAMPLERS)[number];

export interface ChainOptions {
  n: number;
  /** One sample's shape: [D] for rows, [C, H, W] for images (the chain runs on [n, ...shape]). */
  shape: readonly number[];
  seed?: number;
  /**
   * Initial points: uniform on [−initScale, initScale]^D (NCSN's choice), N(0, initScale²I), or
   * `mixture` (rows [D] only): the Gaussian mixture `startMixture`, rows assigned to its components
   * in proportion to their weights (stratified: the k-th component gets round(n·w_k) rows).
   */
  init?: 'uniform' | 'normal' | 'mixture';
  initScale?: number;
  startMixture?: StartMixture;
  /**
   * Rows [D] only: after every step, clamp each coordinate into [lo_d, hi_d] — keeps chains where
   * the model was trained when its field outside points away (toy_fit.ts: single-σ runs on data in
   * separated groups).
   */
  bounds?: Bounds;
  /** Steps after which a copy of x is kept (read back at the end). */
  snapshotAt?: number[];
  /** Called every `progressEvery` steps with the step count (the queue is drained, nothing read). */
  onProgress?: (done: number, total: number) => void;
  progressEvery?: number;
  /**
   * Finish with Tweedie's denoising step x ← x + σ²·s(x) (for a model of the σ-smoothed data,
   * as denoising score matching learns): the chain samples p_σ, the step returns E[x₀ | x].
   */
  denoiseSigma?: number;
}

/** A Gaussian mixture to start chains from: weights w_k, means μ_k [D], Cholesky factors L_k (row-major D×D, lower). */
export interface StartMixture {
  weights: number[];
  means: number[][];
  chols: number[][];
  /** Truncate each draw at this Mahalanobis radius (‖z‖ ≤ clip; absent: no truncation). */
  clip?: number;
}

/** A box per dimension: lower and upper ends. */
export interface Bounds {
  lo: number[];
  hi: number[];
}

/** Rows per component: round(n·w_k) by largest remainders, so they add up to n. */
export function stratify(n: number, weights: readonly number[]): number[] {
  const tot = weights.reduce((t, w) => t + w, 0);
  const raw = weights.map((w) => (n * w) / tot);
  const out = raw.map(Math.floor);
  const order = raw.map((r, k) => [r - Math.floor(r), k]).sort((a, b) => b[0] - a[0]);
  for (let j = 0; out.reduce((t, v) => t + v, 0) < n; j++) out[order[j % order.length][1]]++;
  return out;
}

/**
 * x = Σ_k m_k ⊙ (z·L_kᵀ + μ_k), z ~ N(0, I) drawn on the device (with mix.clip: scaled back onto
 * ‖z‖ = clip where it lies further out), m_k the 0/1 column of the rows component k owns: one
 * matmul per component (D×D), all on the device.
 */
function mixtureStart(device: Device, n: number, dim: number, seed: number, mix: StartMixture): Tensor {
  const K = mix.weights.length;
  if (!(K >= 1) || mix.means.length !== K || mix.chols.length !== K || mix.means.some((m) => m.length !== dim) || mix.chols.some((c) => c.length !== dim * dim)) {
    throw new Error(`startMixture: need ${dim}-dimensional means and ${dim}×${dim} Cholesky factors for each of the ${K} weights`);
  }
  const counts = stratify(n, mix.weights);
  const z0 = randn(device, [n, dim], seed, { stream: 0 });
  const R = mix.clip !== undefined ? Tensor.fromArray(device, [mix.clip], [1, 1], 'start clip') : null;
  const z = R ? op.mul(z0, op.div(R, op.maximum(op.sqrt(op.sum(op.square(z0), [1], true)), R))) : z0;
  let x: Tensor | null = null;
  let row = 0;
  for (let k = 0; k < K; k++) {
    const mask = new Float32Array(n);
    mask.fill(1, row, row + counts[k]);
    row += counts[k];
    const part = op.mul(op.add(op.matmul(z, Tensor.fromArray(device, mix.chols[k], [dim, dim], 'start chol'), { transB: true }), Tensor.fromArray(device, mix.means[k], [1, dim], 'start mean')), Tensor.fromArray(device, mask, [n, 1], 'start rows'));
    x = x ? op.add(x, part) : part;
  }
  return x!;
}

export interface ChainResult {
  samples: Float32Array;
  snapshots: { step: number; samples: Float32Array }[];
}

/**
 * One Langevin chain on the device: x, the per-step coefficients (α/2, √α), an optional σ column
 * for noise-conditional models, and a recording of one step that is replayed.
 */
class Chain {
  readonly x: Tensor;
  readonly coef: Tensor;
  readonly sigma: Tensor | null;
  readonly clock: Clock;
  /** lo and −hi as [1, D] rows (bounds). */
  private readonly box: Tensor | null;
  private rec: ReturnType<Device['record']>['recording'] | null = null;
  private snaps: { step: number; t: Tensor }[] = [];
  step = 0;

  constructor(readonly device: Device, readonly model: ScoreModel, readonly o: ChainOptions, conditional: boolean) {
    const seed = o.seed ?? 0;
    const r = o.initScale ?? 1;
    const init = o.init ?? 'uniform';
    if (init === 'mixture' && (!o.startMixture || o.shape.length !== 1)) throw new Error(`init 'mixture' needs a startMixture and rows of shape [D] (got shape [${o.shape.join(', ')}])`);
    this.x = device.scope(() =>
      noGrad(() =>
        init === 'mixture'
          ? mixtureStart(device, o.n, o.shape[0], seed, o.startMixture!)
          : init === 'normal'
            ? op.scale(randn(device, [o.n, ...o.shape], seed, { stream: 0 }), r)
            : op.affine(rand(device, [o.n, ...o.shape], seed, { stream: 0 }), 2 * r, -r),
      ).keep(),
    );
    this.coef = Tensor.fromArray(device, [0, 0], [2], 'langevin coef').keep();
    const b = o.bounds;
    if (b && (o.shape.length !== 1 || b.lo.length !== o.shape[0] || b.hi.length !== o.shape[0])) throw new Error(`bounds: need ${o.shape.length === 1 ? o.shape[0] : 'rows of shape [D] and'} lower and upper ends`);
    this.box = b ? Tensor.fromArray(device, [...b.lo, ...b.hi], [2, b.lo.length], 'bounds').keep() : null;
    this.sigma = conditional ? Tensor.fromArray(device, new Float32Array(o.n), [o.n, 1], 'sigma').keep() : null;
    this.clock = createClock(device);
  }

  /** x ← x + coef₀·s(x[, σ]) + coef₁·z with z keyed by (seed, clock step). */
  private body(): void {
    this.device.scope(() =>
      noGrad(() => {
        const s = this.model.score(this.x, this.sigma ?? undefined);
        langevinStep(this.x, s, { step: 1, noiseScale: 1, coef: this.coef, seed: this.o.seed ?? 0, stream: 1, clock: this.clock, box: this.box ?? undefined });
      }),
    );
  }

  setLevel(alpha: number, sigma?: number): void {
    this.coef.write([alpha / 2, Math.sqrt(alpha)]);
    if (sigma !== undefined && this.sigma) this.sigma.write(new Float32Array(this.o.n).fill(sigma));
  }

  /** One step: eager the first time (creates constants, compiles), then replayed. */
  async advance(total: number): Promise<void> {
    this.step++;
    this.clock.set(this.step);
    if (!this.rec && this.step === 1) {
      this.body();
      this.device.flush();
    } else {
      this.rec ??= this.device.record(() => this.body()).recording;
      this.rec.replay();
    }
    if (this.o.snapshotAt?.includes(this.step)) this.snaps.push({ step: this.step, t: noGrad(() => op.scale(this.x, 1)).keep() });
    if (this.step % (this.o.progressEvery ?? 50) === 0 || this.step === total) {
      await this.device.sync(); // bounds queued work and keeps progress honest; nothing is read back
      this.o.onProgress?.(this.step, total);
    }
  }

  async finish(final: Tensor = this.x): Promise<ChainResult> {
    const samples = await final.toArray();
    const snapshots = [];
    for (const s of this.snaps) {
      snapshots.push({ step: s.step, samples: await s.t.toArray() });
      s.t.dispose();
    }
    this.rec?.dispose();
    for (const t of [this.x, this.coef, this.sigma, final, this.box]) if (t && !t.disposed) t.dispose();
    this.clock.dispose();
    return { samples, snapshots };
  }
}

/**
 * Langevin dynamics with a fixed step α (Welling & Teh 2011; Song & Ermon 2019 §2.2):
 *   x_{t+1} = x_t + (α/2)·s_θ(x_t) + √α·z_t.
 */
export async function langevin(device: Device, model: ScoreModel, steps: number, alpha: number, o: ChainOptions & { alphaEnd?: number }): Promise<ChainResult> {
  const c = new Chain(device, model, o, false);
  // With alphaEnd, α decays geometrically from alpha to alphaEnd: large early steps mix across
  // the data's modes and along its manifolds, small late ones shrink the O(α) discretisation bias.
  const end = o.alphaEnd ?? alpha;
  const rate = steps > 1 ? Math.log(end / alpha) / (steps - 1) : 0;
  c.setLevel(alpha);
  for (let t = 0; t < steps; t++) {
    if (end !== alpha) c.setLevel(alpha * Math.exp(rate * t));
    await c.advance(steps);
  }
  if (!o.denoiseSigma) return c.finish();
  const s2 = o.denoiseSigma * o.denoiseSigma;
  return c.finish(device.scope(() => noGrad(() => op.axpby(1, c.x, s2, model.score(c.x)))).keep());
}

export interface AnnealedOptions extends ChainOptions {
  /** Steps per noise level (T in Algorithm 1). */
  stepsPerLevel: number;
  /** Base step ε; level i uses αᵢ = ε·σᵢ²/σ_L². */
  eps: number;
  /** Finish with one denoising step x ← x + σ_L²·s(x, σ_L) (Tweedie's formula; as in NCSNv2). */
  denoise?: boolean;
}

/**
 * Annealed Langevin dynamics (Song & Ermon 2019, Algorithm 1): for σ₁ > … > σ_L, run T steps of
 * Langevin at each level with αᵢ = ε·σᵢ²/σ_L², starting each level where the last one ended.
 */
export async function annealedLangevin(device: Device, model: ScoreModel, sigmas: ArrayLike<number>, o: AnnealedOptions): Promise<ChainResult> {
  const L = sigmas.length;
  const sigmaL = sigmas[L - 1];
  const c = new Chain(device, model, o, true);
  const total = L * o.stepsPerLevel;
  for (let i = 0; i < L; i++) {
    c.setLevel(annealedStepSize(o.eps, sigmas[i], sigmaL), sigmas[i]);
    for (let t = 0; t < o.stepsPerLevel; t++) await c.advance(total);
  }
  if (!o.denoise) return c.finish();
  // x + σ_L²·s(x, σ_L): the posterior mean of the clean sample given the last noisy one
  c.setLevel(0, sigmaL);
  const y = device.scope(() => noGrad(() => op.axpby(1, c.x, sigmaL * sigmaL, model.score(c.x, c.sigma!)))).keep();
  return c.finish(y);
}

