// An SDE seen at N times as a discrete process (../processes/process.ts), so that the discrete
// samplers (DDIM, ancestral) and everything typed on DiscreteProcess take a continuous-time model:
//   index i = 0 … N−1  ↔  t_i = (i + 1)·T/N
// (DDPM's t/T; for N = 1000 also score_sde's sampling grid linspace(T, 1e-3, N)). The marginal at i
// is the SDE's at t_i, the conditioning the SDE's at t_i, and one forward step is the exact
// transition of the linear SDE between consecutive grid times,
//   x(t_i) = a_i·x(t_{i−1}) + g_i·z,   a_i = m_i/m_{i−1},   g_i² = s_i² − a_i²·s_{i−1}²   ((m, s)_{−1} = (1, 0)),
// so the steps compose to the marginals exactly and ancestral sampling's posterior is the true one.
// (For VP this chain has β_i = 1 − a_i² = 1 − e^{−∫β over the step}, within O(1/N²) of the DDPM
// chain the SDE's own `discretize` gives; that one is score_sde's, for its reverse-diffusion predictor.)
import { checkIndex, type DataRange, type DiscreteProcess, type Marginal, type Prediction, type ProcessSpec } from '../processes/process.js';
import type { Sde } from './sde.js';

export class SdeGrid implements DiscreteProcess {
  readonly name: string;
  readonly N: number;
  readonly prediction: Prediction;
  readonly dataRange: DataRange;
  readonly priorStd: number;

  constructor(readonly sde: Sde) {
    this.name = sde.name;
    this.N = sde.N;
    this.prediction = sde.prediction;
    this.dataRange = sde.dataRange;
    this.priorStd = sde.priorStd;
  }

  /** t_i = (i + 1)·T/N. */
  time(i: number): number {
    checkIndex(this, i);
    return ((i + 1) * this.sde.T) / this.N;
  }

  marginal(i: number): Marginal {
    return this.sde.marginalProb(this.time(i));
  }

  priorLogProb(sqNorm: number, dim: number): number {
    return this.sde.priorLogp(sqNorm, dim);
  }

  discretize(i: number) {
    const m = this.marginal(i);
    const p = i > 0 ? this.marginal(i - 1) : { mean: 1, std: 0 };
    const a = m.mean / p.mean;
    return { a, g: Math.sqrt(Math.max(0, m.std * m.std - a * a * p.std * p.std)) };
  }

  conditioning(i: number): number {
    return this.sde.conditioning(this.time(i));
  }

  describe(): ProcessSpec {
    return this.sde.describe();
  }
}
