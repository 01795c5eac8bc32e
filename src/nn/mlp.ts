// Toy score and energy networks for low-dimensional data.
import { Module } from './module.js';
import { Linear, FourierEmbedding } from './layers.js';
import { seeded } from './init.js';
import * as op from '../autograd/ops.js';
import { grad, enableGrad } from '../autograd/engine.js';
import type { Tensor } from '../tensor/tensor.js';

export type Activation = 'silu' | 'softplus' | 'tanh';

export interface MlpConfig {
  dim: number;
  hidden: number[];
  act: Activation;
  /** Condition on the noise level σ: Fourier features of log σ join the input, and the output is
   *  divided by σ (NCSNv2's parametrisation s(x, σ) = f(x, σ)/σ). */
  noiseConditional: boolean;
  embedDim: number;
  seed: number;
}

export const defaultMlpConfig = (dim: number, over: Partial<MlpConfig> = {}): MlpConfig => ({
  dim, hidden: [128, 128, 128], act: 'silu', noiseConditional: false, embedDim: 32, seed: 0, ...over,
});

function activate(x: Tensor, act: Activation): Tensor {
  return act === 'silu' ? op.silu(x) : act === 'softplus' ? op.softplus(x) : op.tanh(x);
}

class Trunk extends Module {
  readonly layers: Linear[] = [];
  readonly embed: FourierEmbedding | null;
  constructor(readonly cfg: MlpConfig, outDim: number) {
    super();
    const rng = seeded(cfg.seed * 7919 + 1);
    this.embed = cfg.noiseConditional ? new FourierEmbedding(rng, cfg.embedDim, 1) : null;
    let d = cfg.dim + (this.embed ? cfg.embedDim : 0);
    cfg.hidden.forEach((h, i) => {
      this.layers.push(this.child(`l${i}`, new Linear(rng, d, h)));
      d = h;
    });
    this.layers.push(this.child(`out`, new Linear(rng, d, outDim)));
  }
  forward(x: Tensor, sigma?: Tensor): Tensor {
    let h = x;
    if (this.embed) {
      if (!sigma) throw new Error('noise-conditional model needs σ');
      h = op.concat([x, this.embed.forward(op.log(sigma))], 1);
    }
    for (let i = 0; i < this.layers.length - 1; i++) h = activate(this.layers[i].forward(h), this.cfg.act);
    return this.layers[this.layers.length - 1].forward(h);
  }
}

/** s_θ(x[, σ]) : R^D → R^D directly. */
export class ScoreMLP extends Module {
  readonly kind = 'score' as const;
  private trunk: Trunk;
  constructor(readonly cfg: MlpConfig) {
    super();
    this.trunk = this.child('net', new Trunk(cfg, cfg.dim));
  }
  /** x: [B, D]; sigma: [B, 1] when noise-conditional. */
  score(x: Tensor, sigma?: Tensor): Tensor {
    const f = this.trunk.forward(x, sigma);
    return this.cfg.noiseConditional && sigma ? op.div(f, sigma) : f;
  }
}

/** E_θ(x[, σ]) : R^D → R, with the score s = −∇ₓE (DEEN; Saremi et al. 2018). */
export class EnergyMLP extends Module {
  readonly kind = 'energy' as const;
  private trunk: Trunk;
  constructor(readonly cfg: MlpConfig) {
    super();
    this.trunk = this.child('net', new Trunk(cfg, 1));
  }
  energy(x: Tensor, sigma?: Tensor): Tensor {
    const e = this.trunk.forward(x, sigma);
    return this.cfg.noiseConditional && sigma ? op.div(e, sigma) : e;
  }
  /**
   * −∇ₓE(x). With createGraph (training) the score stays differentiable in θ; sampling uses the
   * plain gradient. x must be a leaf we can differentiate with respect to.
   */
  score(x: Tensor, sigma?: Tensor, createGraph = false): Tensor {
    return enableGrad(() => {
      const xin = x.requiresGrad ? x : x.detach();
      xin.requiresGrad = true;
      const e = this.energy(xin, sigma);
      const [g] = grad(op.sum(e), [xin], { createGraph });
      return op.neg(g!);
    });
  }
}

export type ToyModel = ScoreMLP | EnergyMLP;
