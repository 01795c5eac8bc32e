// Sampling by the probability-flow ODE (Song et al. 2021, eq. 13; score_sde's `get_ode_sampler`):
//   dx/dt = f(x, t) − ½·g(t)²·∇ₓ log p_t(x),     x(T) ~ prior,   integrated from T = 1 down to ε = 1e-3,
// the score being the adapter's cx·x + co·out of the network's output, so the drift is affine in
// (x, out) with scalars per t: one network call and one axpby per evaluation. With `denoise`, a final
// reverse-diffusion predictor step without noise at ε (score_sde's noise_removal):
//   x ← x − [f_ε(x) − G_ε²·∇ₓ log p_ε(x)]     (the forward discretisation's f, G at ε),
// which costs one more evaluation. Deterministic given the prior draw; the solver's evaluation count is
// the sampler's cost (scipy's nfev; the adaptive one depends on the batch, which shares its steps).
import type { Device } from '../../../gpu/device.js';
import type { Tensor } from '../../../tensor/tensor.js';
import * as op from '../../../autograd/ops.js';
import { noGrad } from '../../../autograd/engine.js';
import { fill } from '../../../tensor/ops/elementwise.js';
import { randn } from '../../../tensor/ops/random.js';
import type { NoiseConditionalNet } from '../../losses.js';
import type { Sde } from '../../sde/sde.js';
import { solveOde, type OdeSolveOptions } from './index.js';
import { disposeState, type Field } from './state.js';

/** score_sde's sampling ε: the ODE stops at t = 1e-3 (the score is poorly learnt below). */
export const SAMPLING_EPS = 1e-3;

/** The network's noise-level input at time t: the SDE's own conditioning, or (a DDPM/NCSN model sampled through its SDE) the process's. */
export type Conditioning = (t: number) => number;

/** The network's output at (x, t): its noise-level input cond(t) for every row. */
export function netAt(net: NoiseConditionalNet, cond: Conditioning, x: Tensor, t: number): Tensor {
  return net.forward(x, fill(x.device, [x.shape[0], 1], cond(t)));
}

/** The probability-flow drift f̃(x, t) = f(t)·x − ½g(t)²·score(x, t), as an ODE field on the state [x]. */
export function flowField(net: NoiseConditionalNet, sde: Sde, cond: Conditioning = (t) => sde.conditioning(t)): Field {
  const rev = sde.reverse(sde.modelScore(), true);
  return (t, [x]) => noGrad(() => {
    const { drift } = rev.sde(t);
    return [op.axpby(drift.x, x, drift.out, netAt(net, cond, x, t))];
  });
}

/** score_sde's denoising step at t: the reverse-diffusion predictor's mean, x − rev_f(x, t) (fresh tensor). */
export function denoiseStep(net: NoiseConditionalNet, sde: Sde, x: Tensor, t: number, cond: Conditioning = (u) => sde.conditioning(u)): Tensor {
  const { f } = sde.reverse(sde.modelScore(), false).discretize(t);
  return noGrad(() => op.axpby(1 - f.x, x, -f.out, netAt(net, cond, x, t)));
}

export interface FlowSampleOptions extends OdeSolveOptions {
  n: number;
  /** Per-sample shape, e.g. [1, 28, 28]. */
  shape: readonly number[];
  seed?: number;
  /** End time (default 1e-3). */
  eps?: number;
  /** The final denoising step (default true, score_sde's noise_removal). */
  denoise?: boolean;
  /** Start from these points instead of a prior draw ([n, ...shape], the caller's). */
  init?: Tensor;
  /** The network's input at t (default: the SDE's conditioning). */
  cond?: Conditioning;
}

export interface FlowSampleResult {
  samples: Float32Array;
  /** Network evaluations: the solver's, plus one for the denoising step. */
  nfe: number;
  /** Adaptive solver: accepted and rejected steps. */
  accepted: number;
  rejected: number;
  seconds: number;
}

/** n samples by the probability-flow ODE, one solve for the whole batch. */
export async function sampleFlow(device: Device, net: NoiseConditionalNet, sde: Sde, o: FlowSampleOptions): Promise<FlowSampleResult> {
  if (!(Number.isInteger(o.n) && o.n >= 1)) throw new Error(`ode: the number of samples must be a positive integer, got ${o.n}`);
  const eps = o.eps ?? SAMPLING_EPS;
  if (!(eps > 0 && eps < sde.T)) throw new RangeError(`ode: ε must lie in (0, ${sde.T}), got ${eps}`);
  const t0 = performance.now();
  const x0 = o.init ?? noGrad(() => op.scale(randn(device, [o.n, ...o.shape], o.seed ?? 0, { stream: 0 }), sde.priorStd));
  try {
    const sol = await solveOde(device, flowField(net, sde, o.cond), [x0], sde.T, eps, o);
    let [x] = sol.y;
    let nfe = sol.nfe;
    if (o.denoise ?? true) {
      const d = device.scope(() => denoiseStep(net, sde, x, eps, o.cond).keep());
      x.dispose();
      x = d;
      nfe++;
    }
    const samples = await x.toArray();
    disposeState([x]);
    return { samples, nfe, accepted: sol.accepted, rejected: sol.rejected, seconds: (performance.now() - t0) / 1000 };
  } finally {
    if (!o.init) x0.dispose();
  }
}

export interface FlowImagesOptions extends Omit<FlowSampleOptions, 'init' | 'onStep'> {
  batch?: number;
  /** After each solver step: the batch, the fraction of [ε, T] covered in it, the evaluations so far in it. */
  onProgress?: (batch: number, batches: number, fraction: number, nfe: number) => void;
}

/** n images in batches of at most `batch` (seeds as sampleImages: seed·1000 + batch index); nfe is the mean per batch. */
export async function sampleFlowImages(device: Device, net: NoiseConditionalNet, sde: Sde, o: FlowImagesOptions): Promise<FlowSampleResult & { nfePerBatch: number[] }> {
  const B = Math.min(o.n, o.batch ?? 64);
  const per = o.shape.reduce((a, b) => a * b, 1);
  const all = new Float32Array(o.n * per);
  const eps = o.eps ?? SAMPLING_EPS;
  const batches = Math.ceil(o.n / B);
  const nfes: number[] = [];
  let done = 0, seconds = 0, accepted = 0, rejected = 0;
  for (let k = 0; k < batches; k++) {
    const n = Math.min(B, o.n - done);
    const r = await sampleFlow(device, net, sde, {
      ...o, n, seed: (o.seed ?? 0) * 1000 + k,
      onStep: (t, nfe) => o.onProgress?.(k, batches, (sde.T - t) / (sde.T - eps), nfe),
    });
    all.set(r.samples, done * per);
    done += n;
    seconds += r.seconds;
    accepted += r.accepted;
    rejected += r.rejected;
    nfes.push(r.nfe);
  }
  return { samples: all, nfe: nfes.reduce((a, b) => a + b, 0) / batches, nfePerBatch: nfes, accepted, rejected, seconds };
}
