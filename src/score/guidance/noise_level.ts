// What a guidance wrapper needs at each network call and only has as a device column: the marginal
// x_t = m·x₀ + s·ε at the noise-level input `cond` the sampler feeds the network. A wrapper is called
// once, while its step is recorded; every replay writes a new cond, so (m, s) are computed from cond
// on the device, for every value a sampler may feed (grid points and the fractional levels of the
// σ-parametrised samplers, ../sampling/karras.ts):
//   NCSN, VE:        cond = σ,                        m = 1, s = σ;
//   VP, sub-VP:      cond = VP_TIME_SCALE·t,          (m, s) = the SDE's marginal at t;
//   DDPM:            cond = a (fractional) index c,   σ = exp of log σ_i interpolated linearly in c
//                    (k-diffusion's sigma_to_t, inverted), m = 1/√(1 + σ²), s = m·σ
//                    (exact at integer c: m² + s² = 1 there).
// and the adapter's score coefficient (../adapter.ts: score = cx·x + co·out) as 1/co per row, so that
// a correction g of the score is a correction g/co of the network's output.
import type { Tensor } from '../../tensor/tensor.js';
import { Tensor as T } from '../../tensor/tensor.js';
import * as op from '../../autograd/ops.js';
import { unary } from '../../tensor/ops/elementwise.js';
import type { DiscreteProcess, Prediction } from '../processes/process.js';
import { DdpmProcess } from '../processes/ddpm.js';
import { NcsnProcess } from '../processes/ncsn.js';
import { sdeOf, VeSde, VP_TIME_SCALE } from '../sde/index.js';

/** (m, s) as [B, 1] columns for a [B, 1] column of noise-level inputs (no gradients needed). */
export function marginalAtCond(proc: DiscreteProcess, cond: Tensor): { mean: Tensor; std: Tensor } {
  const B = cond.shape[0];
  const c = op.reshape(cond, [B, 1]);
  const one = () => op.affine(c, 0, 1);
  const sde = sdeOf(proc);
  if (sde instanceof VeSde || (!sde && proc instanceof NcsnProcess)) return { mean: one(), std: c };
  if (sde) {
    const col = sde.columns(op.scale(c, 1 / VP_TIME_SCALE));
    return { mean: col.mean, std: col.std };
  }
  if (proc instanceof DdpmProcess) {
    const N = proc.N;
    const logSigma = Float64Array.from({ length: N }, (_, i) => {
      const m = proc.marginal(i);
      return Math.log(m.std / m.mean);
    });
    const table = T.constant(c.device, `guidance.logsigma.${JSON.stringify(proc.describe())}`, logSigma, [N, 1]);
    const cc = unary('clamp', c, 0, N - 1);
    const lo = unary('floor', cc);
    const hi = unary('clamp', op.affine(lo, 1, 1), 0, N - 1);
    const w = op.sub(cc, lo);
    const at = (idx: Tensor) => op.reshape(op.gather(table, op.reshape(idx, [B])), [B, 1]);
    const sigma = op.exp(op.add(op.mul(at(lo), op.affine(w, -1, 1)), op.mul(at(hi), w)));
    const mean = unary('rsqrt', op.affine(op.square(sigma), 1, 1));
    return { mean, std: op.mul(sigma, mean) };
  }
  throw new Error(`guidance: no marginal at a noise-level input for the process ${proc.name}`);
}

/**
 * 1/co of the adapter's score row at (m, s) per row: the factor that turns a score correction into
 * an output correction (out' = out + g·(1/co)).
 *   score: co = 1                        eps: co = −1/s  → −s
 *   x0:    co = m/s²  → s²/m             v:   co = −m/((m² + s²)·s)  → −s·(m² + s²)/m
 */
export function inverseScoreCoefficient(prediction: Prediction, mean: Tensor, std: Tensor): Tensor {
  switch (prediction) {
    case 'score':
      return op.affine(std, 0, 1);
    case 'eps':
      return op.neg(std);
    case 'x0':
      return op.div(op.square(std), mean);
    case 'v':
      return op.neg(op.div(op.mul(std, op.add(op.square(mean), op.square(std))), mean));
  }
}
