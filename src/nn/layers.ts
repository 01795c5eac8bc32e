// Layers: Linear, Gaussian-Fourier and sinusoidal noise-level embeddings.
import { Module, type Param } from './module.js';
import { type Rng } from './init.js';
import * as op from '../autograd/ops.js';
import { Tensor } from '../tensor/tensor.js';

/** y = x·W + b with W stored [in, out]; init U(±1/√in) as PyTorch does. */
export class Linear extends Module {
  readonly weight: Param;
  readonly bias: Param | null;
  constructor(rng: Rng, readonly inFeatures: number, readonly outFeatures: number, opts: { bias?: boolean; initScale?: number } = {}) {
    super();
    const bound = (opts.initScale ?? 1) / Math.sqrt(inFeatures);
    this.weight = this.param('weight', [inFeatures, outFeatures], rng.uniform(inFeatures * outFeatures, bound), { transpose: true });
    this.bias = opts.bias === false ? null : this.param('bias', [outFeatures], rng.uniform(outFeatures, 1 / Math.sqrt(inFeatures)));
  }
  forward(x: Tensor): Tensor {
    return op.linear(x, this.weight.value, this.bias?.value);
  }
}

/**
 * Gaussian Fourier features of a scalar noise level (Tancik et al.; score_sde's
 * GaussianFourierProjection): [sin(2π W t), cos(2π W t)] with fixed W ~ N(0, scale²).
 * The frequencies are a constant, not a parameter.
 */
export class FourierEmbedding {
  readonly dim: number;
  private w: Tensor | null = null;
  private readonly freqs: Float32Array;
  constructor(rng: Rng, dim: number, scale = 16) {
    if (dim % 2) throw new Error(`FourierEmbedding: dim must be even, got ${dim}`);
    this.dim = dim;
    this.freqs = rng.normal(dim / 2, scale * 2 * Math.PI);
  }
  /** t: [B, 1] → [B, dim] */
  forward(t: Tensor): Tensor {
    this.w ??= Tensor.fromArray(t.device, this.freqs, [1, this.dim / 2], 'fourier.W').keep(); // created on the first (eager) call
    const a = op.matmul(t, this.w);
    return op.concat([op.sin(a), op.cos(a)], 1);
  }
}

/** Transformer/DDPM sinusoidal embedding of a (possibly continuous) step t: [B,1] → [B, dim]. */
export class SinusoidalEmbedding {
  private w: Tensor | null = null;
  constructor(readonly dim: number, readonly maxPeriod = 10000) {
    if (dim % 2) throw new Error(`SinusoidalEmbedding: dim must be even, got ${dim}`);
  }
  forward(t: Tensor): Tensor {
    const half = this.dim / 2;
    const f = Float32Array.from({ length: half }, (_, i) => Math.exp((-Math.log(this.maxPeriod) * i) / half));
    this.w ??= Tensor.fromArray(t.device, f, [1, half], 'sinusoidal.W').keep();
    const a = op.matmul(t, this.w);
    return op.concat([op.sin(a), op.cos(a)], 1);
  }
}
