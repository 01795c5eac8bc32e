// The sub-VP SDE (Song et al. 2021, eq. 12 and Appendix B): VP's drift with a smaller diffusion, so
// the variance stays below VP's at every t (it excels at likelihoods):
//   dx = −½·β(t)·x dt + √(β(t)·(1 − e^{−2β_min·t − (β_max − β_min)·t²})) dw    (the exponent is −2B(t)),
//   x(t) | x(0) ~ N(e^{−B(t)/2}·x(0), (1 − e^{−B(t)})²·I),       prior N(0, I),
// β(t) and B(t) as VP's (./vp.ts). Note the std is 1 − e^{−B}, not its square root (score_sde's
// `std = 1 − exp(2·log_mean_coeff)`). No discretisation of its own: Euler–Maruyama (score_sde too).
// Conditioning 999·t, ε-prediction, data in [−1, 1], as VP.
import type { Tensor } from '../../tensor/tensor.js';
import * as op from '../../autograd/ops.js';
import type { ProcessSpec } from '../processes/process.js';
import { oneMinusExpNeg, type SdeColumns } from './sde.js';
import { LinearBetaSde, VP_TIME_SCALE } from './vp.js';

export class SubVpSde extends LinearBetaSde {
  readonly name = 'subvp' as const;

  sde(t: number) {
    const b = this.beta(t);
    // 1 − e^{−2β_min·t − (β_max − β_min)·t²} = 1 − e^{−2B(t)}
    return { drift: -0.5 * b, diffusion: Math.sqrt(b * -Math.expm1(-2 * this.integral(t))) };
  }

  /** mean e^{−B/2}, std 1 − e^{−B}. */
  marginalProb(t: number) {
    const B = this.integral(t);
    return { mean: Math.exp(-0.5 * B), std: -Math.expm1(-B) };
  }

  /** σ = s/m = (1 − e^{−B})·e^{B/2} = 2·sinh(B/2)  ⇒  B = 2·asinh(σ/2). */
  timeOfSigma(sigma: number): number {
    return this.timeOfIntegral(2 * Math.asinh(sigma / 2));
  }

  columns(t: Tensor): SdeColumns {
    const B = this.integralColumn(t);
    return {
      mean: op.exp(op.scale(B, -0.5)),
      std: oneMinusExpNeg(B),
      cond: op.scale(t, VP_TIME_SCALE),
      g2: op.mul(this.betaColumn(t), oneMinusExpNeg(op.scale(B, 2))), // β(t)·(1 − e^{−2B})
    };
  }

  describe(): ProcessSpec {
    return { kind: 'subvp', betaMin: this.betaMin, betaMax: this.betaMax, N: this.N };
  }
}
