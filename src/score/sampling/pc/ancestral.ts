// Ancestral-sampling predictor (score_sde's AncestralSamplingPredictor; Ho et al. 2020 for VP, the
// VE analogue of the paper's Appendix F), at i = ⌊t·(N − 1)⌋ of the SDE's own discretisation:
//   VE:  x_mean = x + (σ_i² − σ_{i−1}²)·s,            x = x_mean + √(σ_{i−1}²(σ_i² − σ_{i−1}²)/σ_i²)·z   (σ_{−1} = 0)
//   VP:  x_mean = (x + β_i·s)/√(1 − β_i),               x = x_mean + √β_i·z
// with s = ∇ₓ log p_t(x) = cx·x + co·out from the adapter. Not defined for sub-VP (score_sde neither).
import type { UpdateCoef } from '../../../tensor/ops/affine_update.js';
import { VeSde } from '../../sde/ve.js';
import { VpSde } from '../../sde/vp.js';
import type { PcContext } from './context.js';

export function ancestralPredictor(ctx: PcContext, t: number, noise: boolean): UpdateCoef {
  const { sde } = ctx, s = ctx.score(t), i = sde.timestep(t);
  if (sde instanceof VeSde) {
    const sig2 = sde.discreteSigmas[i] ** 2, adj2 = i > 0 ? sde.discreteSigmas[i - 1] ** 2 : 0;
    return { p: s.cx, q: s.co, a: 1, b: sig2 - adj2, c: noise ? Math.sqrt((adj2 * (sig2 - adj2)) / sig2) : 0 };
  }
  if (sde instanceof VpSde) {
    const beta = sde.discreteBetas[i], r = 1 / Math.sqrt(1 - beta);
    // (x + β·s)/√(1 − β) with s = cx·x + co·out: x̂₀ := s, a = 1/√(1 − β), b = β/√(1 − β)
    return { p: s.cx, q: s.co, a: r, b: beta * r, c: noise ? Math.sqrt(beta) : 0 };
  }
  throw new Error(`predictor 'ancestral' is defined for VE and VP (and the ncsn / ddpm processes), not for ${sde.name}; use --predictor reverse_diffusion or euler_maruyama`);
}
