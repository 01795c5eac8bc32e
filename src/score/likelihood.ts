// Exact likelihoods through the probability-flow ODE (Song et al. 2021, Sec. 4.3 and App. D.2;
// score_sde's likelihood.py). Along dx/dt = f̃(x, t) = f(x, t) − ½g(t)²·∇ₓ log p_t(x) the density
// changes by the instantaneous change of variables (Chen et al. 2018),
//   d log p_t(x(t))/dt = −∇·f̃(x(t), t),   so   log p_ε(x(ε)) = log p_T(x(T)) + ∫_ε^T ∇·f̃(x(t), t) dt.
// We integrate the augmented ODE d[x, Δ]/dt = [f̃(x, t), ∇·f̃(x, t)] from ε = 1e-5 up to T = 1 with
// RK45 (rtol = atol = 1e-5) and take log p(x) = log p_T(x(T)) + Δ(T), p_T the SDE's prior.
// The divergence is the Hutchinson–Skilling estimate ∇·f̃ ≈ vᵀ(∂f̃/∂x)v, E[vvᵀ] = I, with one probe v
// per image (Rademacher ±1 or Gaussian) held fixed for the whole solve (so the integrand is a smooth
// function of t and the estimate of log p unbiased): one vector–Jacobian product vᵀ(∂f̃/∂x) by
// reverse-mode autograd per evaluation.
//
// Bits per dimension of 8-bit images k ∈ {0 … 255}^D: uniform dequantisation y = (k + u)/256,
// u ~ U(0, 1)^D, gives a density on [0, 1]^D whose log-likelihood bounds the discrete one; the model
// sees x = y ([0, 1] data, VE) or x = 2y − 1 ([−1, 1] data, VP/sub-VP), so log p(y) = log p(x) + D·log 2
// in the centred case. Per pixel, in bits, with the 256 bins of width 1/256:
//   bpd = −log p(x)/(D·ln 2) + 8 − offset,   offset = log₂(scale) = 1 for [−1, 1] data, 0 for [0, 1]
// (score_sde: bpd + 7 − inverse_scaler(−1), i.e. +7 centred, +8 not).
import type { Device } from '../gpu/device.js';
import { Tensor } from '../tensor/tensor.js';
import * as op from '../autograd/ops.js';
import { enableGrad, grad, noGrad, requireGrad } from '../autograd/engine.js';
import { fill } from '../tensor/ops/elementwise.js';
import { rand, randn, rademacher } from '../tensor/ops/random.js';
import type { NoiseConditionalNet } from './losses.js';
import type { Sde } from './sde/sde.js';
import type { DataRange } from './processes/process.js';
import { solveOde, disposeState, type Field, type OdeMethod } from './sampling/ode/index.js';
import { netAt, type Conditioning } from './sampling/ode/flow.js';

/** score_sde's likelihood ε: the augmented ODE starts at t = 1e-5. */
export const LIKELIHOOD_EPS = 1e-5;

export const PROBES = ['rademacher', 'gaussian'] as const;
export type Probe = (typeof PROBES)[number];

/** A probe tensor of x's shape: ±1 with equal odds, or N(0, 1). */
export function drawProbe(device: Device, shape: readonly number[], kind: Probe, seed: number): Tensor {
  if (kind === 'rademacher') return rademacher(device, shape, seed, { stream: 1 });
  if (kind === 'gaussian') return randn(device, shape, seed, { stream: 1 });
  throw new Error(`unknown Hutchinson probe '${kind}'; valid: ${PROBES.join(', ')}`);
}

/**
 * Rows first … first + m − 1 of a draw of first + m rows (one dispatch and a copy): a row's numbers
 * depend on the seed and its index in the whole set only, not on how the set is cut into batches, so
 * an image's probe and dequantisation noise are the same at any batch size (and when a run resumes).
 */
function rowsOfDraw(draw: (shape: number[]) => Tensor, rowShape: readonly number[], first: number, m: number): Tensor {
  if (first === 0) return draw([m, ...rowShape]);
  return op.slice(draw([first + m, ...rowShape]), [first, ...rowShape.map(() => 0)], [m, ...rowShape]);
}

/**
 * fn(x) and the Hutchinson–Skilling estimate of its divergence per row, vᵀ(∂fn/∂x)v with the probe v
 * of x's shape: one vector–Jacobian product. fn maps [B, …] to [B, …] row by row. Returns [B, …] and
 * [B, 1], both without a graph.
 */
export function hutchinsonDivergence(fn: (x: Tensor) => Tensor, x: Tensor, probe: Tensor): { value: Tensor; div: Tensor } {
  if (probe.size !== x.size) throw new Error(`hutchinson: probe of ${probe.size} values for x of ${x.size}`);
  const B = x.shape[0];
  const leaf = requireGrad(x.detach());
  return enableGrad(() => {
    const y = fn(leaf);
    if (y.size !== x.size) throw new Error(`hutchinson: the field maps ${x.size} values to ${y.size}`);
    const [vjp] = grad(y, [leaf], { gradOutput: probe }); // vᵀ ∂y/∂x
    const div = noGrad(() => op.sum(op.reshape(op.mul(vjp!, probe), [B, x.size / B]), 1, true));
    return { value: y.detach(), div };
  });
}

/** The augmented probability-flow field on [x, Δ]: [f̃(x, t), vᵀ(∂f̃/∂x)v]. */
export function augmentedFlowField(net: NoiseConditionalNet, sde: Sde, probe: Tensor, cond: Conditioning = (t) => sde.conditioning(t)): Field {
  const rev = sde.reverse(sde.modelScore(), true);
  return (t, [x]) => {
    const { drift } = rev.sde(t);
    const { value, div } = hutchinsonDivergence((xr) => op.axpby(drift.x, xr, drift.out, netAt(net, cond, xr, t)), x, probe);
    return [value, div];
  };
}

export interface LikelihoodOptions {
  probe?: Probe;
  /** Seeds the probes (and, for bitsPerDim, the dequantisation noise). */
  seed?: number;
  rtol?: number;
  atol?: number;
  method?: OdeMethod;
  steps?: number;
  /** Start time (default 1e-5). */
  eps?: number;
  /** The network's input at t (default: the SDE's conditioning; a DDPM model through its VP SDE feeds t·(T − 1)). */
  cond?: Conditioning;
  /** Tensors to keep out of the backward pass during the solve (the network's parameters: no weight gradients). */
  frozen?: readonly Tensor[];
  /** x's rows are rows first, first + 1, … of a larger set: row r's probe is that row's of the whole set's draw (default 0). */
  first?: number;
  onStep?: (t: number, nfe: number) => void;
}

export interface LogLikelihood {
  /** log p(x) per row (nats), x in the model's data range. */
  logp: Float64Array;
  /** log p_T(x(T)) and ∫∇·f̃ per row. */
  priorLogp: Float64Array;
  delta: Float64Array;
  nfe: number;
  /** The adaptive solver's accepted and rejected steps (0 for the fixed-step methods). */
  accepted: number;
  rejected: number;
}

/** log p(x) of each row of x ([B, …] in the model's data range) by the augmented ODE; one solve for the batch. */
export async function logLikelihood(device: Device, net: NoiseConditionalNet, sde: Sde, x: Tensor, o: LikelihoodOptions = {}): Promise<LogLikelihood> {
  const eps = o.eps ?? LIKELIHOOD_EPS;
  if (!(eps > 0 && eps < sde.T)) throw new RangeError(`likelihood: ε must lie in (0, ${sde.T}), got ${eps}`);
  const B = x.shape[0], D = x.size / B;
  const first = o.first ?? 0;
  if (!(Number.isInteger(first) && first >= 0)) throw new RangeError(`likelihood: first row must be an integer ≥ 0, got ${first}`);
  const probe = device.scope(() => rowsOfDraw((s) => drawProbe(device, s, o.probe ?? 'rademacher', o.seed ?? 0), x.shape.slice(1), first, B).keep());
  const delta0 = fill(device, [B, 1], 0).keep();
  const frozen = (o.frozen ?? []).filter((t) => t.requiresGrad);
  for (const t of frozen) t.requiresGrad = false;
  try {
    const sol = await solveOde(device, augmentedFlowField(net, sde, probe, o.cond), [x, delta0], eps, sde.T, { rtol: o.rtol, atol: o.atol, method: o.method, steps: o.steps, onStep: o.onStep });
    const [z, delta] = sol.y;
    const sq = device.scope(() => noGrad(() => op.sum(op.reshape(op.square(z), [B, D]), 1)).keep());
    const [sqs, ds] = [await sq.toArray(), await delta.toArray()];
    sq.dispose();
    disposeState(sol.y);
    const priorLogp = Float64Array.from(sqs, (s) => sde.priorLogp(s, D));
    const d = Float64Array.from(ds);
    return { logp: priorLogp.map((p, i) => p + d[i]), priorLogp, delta: d, nfe: sol.nfe, accepted: sol.accepted, rejected: sol.rejected };
  } finally {
    for (const t of frozen) t.requiresGrad = true;
    probe.dispose();
    delta0.dispose();
  }
}

/** log₂ of the data range's width relative to [0, 1]: what score_sde's offset subtracts (1 for [−1, 1]). */
export function rangeOffset(range: DataRange): number {
  return range === '[-1,1]' ? 1 : 0;
}

/** bpd = −log p(x)/(D·ln 2) + 8 − offset, for x the dequantised 8-bit data mapped into `range`. */
export function bitsPerDimOf(logp: number, D: number, range: DataRange): number {
  return -logp / (D * Math.LN2) + 8 - rangeOffset(range);
}

/**
 * Uniformly dequantised 8-bit images in the model's range: x = (k + u)/256 (·2 − 1 for [−1, 1]),
 * u ~ U(0, 1) on the device. The images are rows first … of a larger set; each row's u is that
 * row's of the whole set's draw under the seed (independent of the batching, as the probes are).
 */
export function dequantize(device: Device, bytes: ArrayLike<number>, shape: readonly number[], range: DataRange, seed: number, first = 0): Tensor {
  return device.scope(() => noGrad(() => {
    const k = Tensor.fromArray(device, Float32Array.from(bytes), shape, 'images');
    const u = rowsOfDraw((s) => rand(device, s, seed, { stream: 2 }), shape.slice(1), first, shape[0]);
    const y = op.scale(op.add(k, u), 1 / 256);
    return range === '[-1,1]' ? op.affine(y, 2, -1) : y;
  }));
}

export interface BatchBitsPerDim {
  /** Per image of the batch. */
  bpd: Float64Array;
  /** Evaluations of the batch's one shared solve, its accepted and rejected steps, and its wall time. */
  nfe: number;
  accepted: number;
  rejected: number;
  seconds: number;
}

/**
 * Bits/dim of images first … first + m − 1 of a set of 8-bit images ([n, …shape] values 0…255,
 * row-major): one augmented solve for the whole batch (one error norm over the batch, as score_sde's
 * RK45 over the flattened batch), one vector–Jacobian product per evaluation for all its probes.
 * Image i's dequantisation noise and probe depend only on (seed, i).
 */
export async function bitsPerDimBatch(
  device: Device, net: NoiseConditionalNet, sde: Sde, bytes: ArrayLike<number>, shape: readonly number[], first: number, m: number,
  o: LikelihoodOptions = {},
): Promise<BatchBitsPerDim> {
  const D = shape.reduce((a, b) => a * b, 1);
  if (!(Number.isInteger(first) && Number.isInteger(m) && first >= 0 && m >= 1 && (first + m) * D <= bytes.length)) {
    throw new RangeError(`bits/dim: images ${first} … ${first + m - 1} are not in a set of ${Math.floor(bytes.length / D)}`);
  }
  const t0 = performance.now();
  const seed = o.seed ?? 0;
  const x = dequantize(device, Array.prototype.slice.call(bytes, first * D, (first + m) * D), [m, ...shape], sde.dataRange, seed, first).keep();
  try {
    const r = await logLikelihood(device, net, sde, x, { ...o, seed, first });
    return { bpd: r.logp.map((lp) => bitsPerDimOf(lp, D, sde.dataRange)), nfe: r.nfe, accepted: r.accepted, rejected: r.rejected, seconds: (performance.now() - t0) / 1000 };
  } finally {
    x.dispose();
  }
}

export interface BitsPerDim {
  /** Per image. */
  bpd: Float64Array;
  /** Evaluations per batch (one shared adaptive solve per batch). */
  nfe: number[];
  seconds: number;
}

/** Bits/dim of n 8-bit images ([n, …shape] values 0…255, row-major) in batches of `batch` (default 64), each one solve. */
export async function bitsPerDim(
  device: Device, net: NoiseConditionalNet, sde: Sde, bytes: ArrayLike<number>, shape: readonly number[],
  o: LikelihoodOptions & { batch?: number; onBatch?: (done: number, total: number) => void } = {},
): Promise<BitsPerDim> {
  const D = shape.reduce((a, b) => a * b, 1);
  const n = bytes.length / D;
  if (!(Number.isInteger(n) && n >= 1)) throw new Error(`bits/dim: ${bytes.length} values are not a whole number of ${shape.join('×')} images`);
  const B = Math.min(n, o.batch ?? 64);
  const t0 = performance.now();
  const bpd = new Float64Array(n), nfe: number[] = [];
  for (let start = 0; start < n; start += B) {
    const m = Math.min(B, n - start);
    const r = await bitsPerDimBatch(device, net, sde, bytes, shape, start, m, o);
    bpd.set(r.bpd, start);
    nfe.push(r.nfe);
    o.onBatch?.(start + m, n);
  }
  return { bpd, nfe, seconds: (performance.now() - t0) / 1000 };
}
