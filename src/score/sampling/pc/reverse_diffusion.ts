// Reverse-diffusion predictor (score_sde's ReverseDiffusionPredictor): the forward discretisation
// x_{i+1} = x_i + f_i(x_i) + G_i·z run backwards with the score (rsde.discretize):
//   rev_f = f − G²·∇ₓ log p_t(x),  rev_G = G,   x_mean = x − rev_f(x),   x = x_mean + rev_G·z.
// For VP that is DDPM's chain (f = (√(1 − β_i) − 1)·x, G = √β_i), for VE SMLD's (f = 0, G² = σ_i² − σ_{i−1}²).
import type { UpdateCoef } from '../../../tensor/ops/affine_update.js';
import type { PcContext } from './context.js';

export function reverseDiffusion(ctx: PcContext, t: number, noise: boolean): UpdateCoef {
  const { f, G } = ctx.rsde.discretize(t);
  return { p: f.x, q: f.out, a: 1, b: -1, c: noise ? G : 0 };
}
