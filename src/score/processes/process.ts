// The noise processes behind one interface, in the shape of score_sde's `sde_lib.py`: each process
// perturbs clean data x₀ into x_i = m_i·x₀ + s_i·z (z ~ N(0, I)) at noise index i, says how it
// starts from its prior, how one forward step of its discretisation looks, and what the network is
// fed as its noise level. Index i runs 0 … N−1 with noise increasing in i (score_sde's convention
// for its discrete VE and VP chains): for NCSN i indexes σ from the smallest up, for DDPM it is t−1.
// The continuous SDEs (../sde/: VE, VP, sub-VP) come in as discrete processes on a time grid
// (../sde/grid.ts), carrying their drift/diffusion at a time t alongside.
//
// Every per-index coefficient is a float64 scalar computed here; samplers and losses upload the few
// they need to small device buffers (tables for training, one coefficient row per replayed step).

/** What the network predicts; the model-output adapter (../adapter.ts) turns any of them into a score. */
export type Prediction = 'score' | 'eps' | 'x0' | 'v';

/** Pixel scaling the process's defaults assume: NCSN works on [0, 1] images, DDPM on [−1, 1]. */
export type DataRange = '[0,1]' | '[-1,1]';

export interface Marginal {
  /** m_i: x_i = m_i·x₀ + s_i·z. */
  mean: number;
  /** s_i. */
  std: number;
}

/** One forward step of the discretisation: x_i = a_i·x_{i−1} + g_i·z (x_{−1} = x₀). */
export interface ForwardStep {
  a: number;
  g: number;
}

export interface DiscreteProcess {
  readonly name: string;
  /** Number of noise indices. */
  readonly N: number;
  /** What a model of this process predicts by default. */
  readonly prediction: Prediction;
  readonly dataRange: DataRange;
  marginal(i: number): Marginal;
  /** Prior N(0, priorStd²·I) that sampling starts from (σ_max for NCSN, 1 for DDPM). */
  readonly priorStd: number;
  /** log N(x; 0, priorStd²·I) for a point of `dim` coordinates with squared norm `sqNorm`. */
  priorLogProb(sqNorm: number, dim: number): number;
  discretize(i: number): ForwardStep;
  /** The network's noise-level input at index i: σ_i (NCSN, Fourier features of log σ) or t (DDPM). */
  conditioning(i: number): number;
  /** JSON-able description (what the run's config stores to rebuild the process). */
  describe(): ProcessSpec;
}

export type ProcessSpec =
  | { kind: 'ncsn'; sigmaMax: number; sigmaMin: number; levels: number }
  | { kind: 'ddpm'; schedule: 'linear' | 'cosine'; T: number; betaStart: number; betaEnd: number }
  | { kind: 've'; sigmaMin: number; sigmaMax: number; N: number }
  | { kind: 'vp'; betaMin: number; betaMax: number; N: number }
  | { kind: 'subvp'; betaMin: number; betaMax: number; N: number };

/** log N(x; 0, s²I) = −½·‖x‖²/s² − (D/2)·log(2π s²). */
export function gaussianLogProb(sqNorm: number, dim: number, std: number): number {
  return -0.5 * sqNorm / (std * std) - 0.5 * dim * Math.log(2 * Math.PI * std * std);
}

/** Per-index tables of a process, as float32 columns [N, 1] ready to upload (training gathers rows). */
export function processTables(p: DiscreteProcess): { mean: Float32Array; std: Float32Array; cond: Float32Array } {
  const mean = new Float32Array(p.N), std = new Float32Array(p.N), cond = new Float32Array(p.N);
  for (let i = 0; i < p.N; i++) {
    const m = p.marginal(i);
    mean[i] = m.mean;
    std[i] = m.std;
    cond[i] = p.conditioning(i);
  }
  return { mean, std, cond };
}

export function checkIndex(p: DiscreteProcess, i: number): void {
  if (!(Number.isInteger(i) && i >= 0 && i < p.N)) throw new RangeError(`${p.name}: noise index ${i} is outside 0..${p.N - 1}`);
}
