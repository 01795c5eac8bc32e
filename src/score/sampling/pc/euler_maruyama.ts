// Euler–Maruyama predictor (score_sde's EulerMaruyamaPredictor): one step of the reverse-time SDE
//   dx = [f(x, t) − g(t)²·∇ₓ log p_t(x)] dt + g(t) dw̄   with dt = −1/N:
//   x_mean = x + drift(x, t)·dt,   x = x_mean + g(t)·√(1/N)·z.
// The drift is affine in (x, out) (./context.ts: rsde.sde), so in the fused update
// x̂₀ := drift = drift.x·x + drift.out·out and x ← x + dt·x̂₀ + g·√(1/N)·z.
import type { UpdateCoef } from '../../../tensor/ops/affine_update.js';
import type { PcContext } from './context.js';

export function eulerMaruyama(ctx: PcContext, t: number, noise: boolean): UpdateCoef {
  const dt = -1 / ctx.rsde.N;
  const { drift, diffusion } = ctx.rsde.sde(t);
  return { p: drift.x, q: drift.out, a: 1, b: dt, c: noise ? diffusion * Math.sqrt(-dt) : 0 };
}
