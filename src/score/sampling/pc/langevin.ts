// Langevin corrector (score_sde's LangevinCorrector; Song et al. 2021, Alg. 4/5): at a fixed t, n steps of
//   x_mean = x + ε·s,   x = x_mean + √(2ε)·z,   ε = 2α·(snr·‖z‖/‖s‖)²,
// with s the score at t, ‖·‖ the per-sample norm averaged over the batch and α = 1 − β_i for VP-type
// SDEs (1 for VE; ./context.ts). ε depends on the batch, so it is computed on the device (plan.ts's
// SnrState): the host writes the score's adapter coefficients (x̂₀ := s, a = 1, b = c = 0) and
// 2α·snr², and the op adds ε to b and √(2ε) to c.
import type { PlanStep } from '../plan.js';
import { langevinAlpha, type PcContext } from './context.js';

export function langevin(ctx: PcContext, t: number, n: number, snr: number, lastNoise: boolean): PlanStep[] {
  const s = ctx.score(t), alpha = langevinAlpha(ctx.sde, t);
  return Array.from({ length: n }, (_, k) => ({
    cond: ctx.cond(t),
    coef: { p: s.cx, q: s.co, a: 1, b: 0, c: 0 },
    snr: { scale: 2 * alpha * snr * snr, noise: k === n - 1 && !lastNoise ? 0 : 1 },
  }));
}
