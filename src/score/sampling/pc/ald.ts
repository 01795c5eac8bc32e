// Annealed Langevin dynamics as a corrector (score_sde's AnnealedLangevinDynamics; NCSN's step rule
// in continuous time): at a fixed t, n steps of
//   x_mean = x + ε·s,   x = x_mean + √(2ε)·z,   ε = 2α·(snr·s(t))²,
// with s(t) the marginal std and α as the Langevin corrector's — a step known on the host.
import type { PlanStep } from '../plan.js';
import { langevinAlpha, type PcContext } from './context.js';

export function annealedLangevin(ctx: PcContext, t: number, n: number, snr: number, lastNoise: boolean): PlanStep[] {
  const s = ctx.score(t), std = ctx.sde.marginalProb(t).std;
  const eps = 2 * langevinAlpha(ctx.sde, t) * (snr * std) ** 2;
  return Array.from({ length: n }, (_, k) => ({
    cond: ctx.cond(t),
    coef: { p: s.cx, q: s.co, a: 1, b: eps, c: k === n - 1 && !lastNoise ? 0 : Math.sqrt(2 * eps) },
  }));
}
