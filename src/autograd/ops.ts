// Differentiable ops: each calls its kernel and records a backward rule written with these same
// ops, so that gradients can be differentiated again. Where a fused backward kernel exists (silu',
// tanh', ...) it is used when no graph of the backward is being built, and the composite form of
// the same formula is used when one is.
import { Tensor } from '../tensor/tensor.js';
import { ShapeError } from '../gpu/errors.js';
import * as ew from '../tensor/ops/elementwise.js';
import * as red from '../tensor/ops/reduce.js';
import * as lay from '../tensor/ops/layout.js';
import * as sm from '../tensor/ops/softmax.js';
import * as pl from '../tensor/ops/pool.js';
import * as nrm from '../tensor/ops/norm.js';
import * as mm from '../tensor/ops/matmul.js';
import * as cv from '../tensor/ops/conv2d.js';
import * as nc from '../tensor/ops/norm_conv.js';
import * as uc from '../tensor/ops/upsample_conv.js';
import { record, isGradEnabled, grad as gradOfAll } from './engine.js';

const gradOf = (y: Tensor, xs: Tensor[], g: Tensor): Tensor[] => gradOfAll(y, xs, { gradOutput: g, createGraph: true }) as Tensor[];

type T = Tensor;
export const sameShape = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((d, i) => d === b[i]);

/** Reduce a broadcast gradient back to the input's shape. */
function unbroadcast(g: T, shape: readonly number[]): T {
  if (sameShape(g.shape, shape)) return g;
  return sumTo(g, shape);
}

// ------------------------------------------------------------------ binary

export function add(a: T, b: T): T {
  return record(ew.binary('add', a, b), 'add', [a, b], (g) => [unbroadcast(g, a.shape), unbroadcast(g, b.shape)]);
}

export function sub(a: T, b: T): T {
  return record(ew.binary('sub', a, b), 'sub', [a, b], (g) => [unbroadcast(g, a.shape), b.requiresGrad ? unbroadcast(neg(g), b.shape) : null]);
}

export function mul(a: T, b: T): T {
  return record(ew.binary('mul', a, b), 'mul', [a, b], (g) => [
    a.requiresGrad ? unbroadcast(mul(g, b), a.shape) : null,
    b.requiresGrad ? unbroadcast(mul(g, a), b.shape) : null,
  ]);
}

export function div(a: T, b: T): T {
  const y = ew.binary('div', a, b);
  return record(y, 'div', [a, b], (g) => [
    a.requiresGrad ? unbroadcast(div(g, b), a.shape) : null,
    // d(a/b)/db = -a/b² = -y/b
    b.requiresGrad ? unbroadcast(neg(div(mul(g, a), square(b))), b.shape) : null,
  ]);
}

/** α·a + β·b (broadcasting). */
export function axpby(alpha: number, a: T, beta: number, b: T): T {
  return record(ew.binary('axpby', a, b, alpha, beta), 'axpby', [a, b], (g) => [
    a.requiresGrad ? unbroadcast(scale(g, alpha), a.shape) : null,
    b.requiresGrad ? unbroadcast(scale(g, beta), b.shape) : null,
  ]);
}

export function maximum(a: T, b: T): T {
  const y = ew.binary('maximum', a, b);
  return record(y, 'maximum', [a, b], (g) => {
    const ma = ew.binary('gt', a, b); // 1 where a wins (ties go to b)
    return [a.requiresGrad ? unbroadcast(mul(g, ma), a.shape) : null, b.requiresGrad ? unbroadcast(mul(g, affine(ma, -1, 1)), b.shape) : null];
  });
}

// ------------------------------------------------------------------ scalar

/** α·x + β */
export function affine(x: T, alpha: number, beta = 0): T {
  return record(ew.unary('affine', x, alpha, beta), 'affine', [x], (g) => [scale(g, alpha)]);
}
export const scale = (x: T, s: number): T => affine(x, s, 0);
export const addScalar = (x: T, s: number): T => affine(x, 1, s);

export function powScalar(x: T, p: number): T {
  return record(ew.unary('powScalar', x, p), 'pow', [x], (g) => [mul(g, scale(powScalar(x, p - 1), p))]);
}

// ------------------------------------------------------------------ unary

export function neg(x: T): T {
  return record(ew.unary('neg', x), 'neg', [x], (g) => [neg(g)]);
}
export function exp(x: T): T {
  const y = ew.unary('exp', x);
  return record(y, 'exp', [x], (g) => [mul(g, isGradEnabled() ? exp(x) : y)]);
}
export function log(x: T): T {
  return record(ew.unary('log', x), 'log', [x], (g) => [div(g, x)]);
}
export function sqrt(x: T): T {
  const y = ew.unary('sqrt', x);
  return record(y, 'sqrt', [x], (g) => [div(scale(g, 0.5), isGradEnabled() ? sqrt(x) : y)]);
}
export function square(x: T): T {
  return record(ew.unary('square', x), 'square', [x], (g) => [scale(mul(g, x), 2)]);
}
export function sigmoid(x: T): T {
  const y = ew.unary('sigmoid', x);
  return record(y, 'sigmoid', [x], (g) => {
    if (!isGradEnabled()) return [mul(g, ew.unary('sigmoidGrad', x))];
    const s = sigmoid(x);
    return [mul(g, mul(s, affine(s, -1, 1)))];
  });
}
export function tanh(x: T): T {
  const y = ew.unary('tanh', x);
  return record(y, 'tanh', [x], (g) => {
    if (!isGradEnabled()) return [mul(g, ew.unary('tanhGrad', x))];
    const t = tanh(x);
    return [mul(g, affine(square(t), -1, 1))];
  });
}
/** silu(x) = x·σ(x); silu'(x) = σ(x)(1 + x(1 − σ(x))). */
export function silu(x: T): T {
  return record(ew.unary('silu', x), 'silu', [x], (g) => {
    if (!isGradEnabled()) return [mul(g, ew.unary('siluGrad', x))];
    const s = sigmoid(x);
    return [mul(g, mul(s, addScalar(mul(x, affine(s, -1, 1)), 1)))];
  });
}
/** softplus(x) = log(1 + eˣ); softplus' = σ. */
export function softplus(x: T): T {
  return record(ew.unary('softplus', x), 'softplus', [x], (g) => [mul(g, sigmoid(x))]);
}
export function relu(x: T): T {
  return record(ew.unary('relu', x), 'relu', [x], (g) => [mul(g, ew.unary('stepGt', x, 0))]);
}
export function sin(x: T): T {
  return record(ew.unary('sin', x), 'sin', [x], (g) => [mul(g, cos(x))]);
}
export function cos(x: T): T {
  return record(ew.unary('cos', x), 'cos', [x], (g) => [neg(mul(g, sin(x)))]);
}

// ------------------------------------------------------------------ shape

export function reshape(x: T, shape: readonly number[]): T {
  const y = x.reshape(shape);
  return record(y, 'reshape', [x], (g) => [reshape(g, x.shape)]);
}

export function expand(x: T, shape: readonly number[]): T {
  return record(ew.expand(x, shape), 'expand', [x], (g) => [sumTo(g, x.shape)]);
}

export function transpose(x: T, perm: number[]): T {
  const inv = perm.map((_, i) => perm.indexOf(i));
  return record(lay.transpose(x, perm), 'transpose', [x], (g) => [transpose(g, inv)]);
}

export function concat(xs: T[], axis: number): T {
  const ax = axis < 0 ? axis + xs[0].rank : axis;
  const y = lay.concat(xs, ax);
  return record(y, 'concat', xs, (g) => {
    let start = 0;
    return xs.map((x) => {
      const starts = g.shape.map((_, i) => (i === ax ? start : 0));
      start += x.shape[ax];
      return x.requiresGrad ? slice(g, starts, [...x.shape]) : null;
    });
  });
}

export function slice(x: T, starts: number[], sizes: number[]): T {
  return record(lay.slice(x, starts, sizes), 'slice', [x], (g) => [padTo(g, x.shape, starts)]);
}

/** Zero tensor of `shape` with x placed at `starts` (the adjoint of slice). */
export function padTo(x: T, shape: readonly number[], starts: number[]): T {
  return record(lay.padTo(x, shape, starts), 'padTo', [x], (g) => [slice(g, starts, [...x.shape])]);
}

/** Rows of x (along axis 0) picked by integer indices held in an f32 tensor; no gradient to idx. */
export function gather(x: T, idx: T): T {
  if (x.requiresGrad && isGradEnabled()) throw new Error('gather: gradients with respect to the gathered tensor are not supported');
  return lay.gather(x, idx, 0);
}

// ------------------------------------------------------------------ reductions

function normAxes(axes: number | number[] | undefined, rank: number): number[] {
  if (axes === undefined) return [...Array(rank).keys()];
  const a = (Array.isArray(axes) ? axes : [axes]).map((x) => (x < 0 ? x + rank : x));
  for (const x of a) if (x < 0 || x >= rank) throw new ShapeError(`axis ${x} out of range for rank ${rank}`);
  return a;
}

function keptShape(shape: readonly number[], axes: number[]): number[] {
  return shape.map((d, i) => (axes.includes(i) ? 1 : d));
}

export function sum(x: T, axes?: number | number[], keepDims = false): T {
  const ax = normAxes(axes, x.rank);
  const y = red.sum(x, ax, keepDims);
  return record(y, 'sum', [x], (g) => [expand(reshape(g, keptShape(x.shape, ax)), x.shape)]);
}

export function mean(x: T, axes?: number | number[], keepDims = false): T {
  const ax = normAxes(axes, x.rank);
  const n = ax.reduce((p, a) => p * x.shape[a], 1);
  return scale(sum(x, ax, keepDims), 1 / n);
}

export function sumTo(x: T, shape: readonly number[]): T {
  return record(red.sumTo(x, shape), 'sumTo', [x], (g) => [expand(reshape(g, padShape(shape, x.rank)), x.shape)]);
}

function padShape(shape: readonly number[], rank: number): number[] {
  return [...Array(rank - shape.length).fill(1), ...shape];
}

/** Σ x² over everything, shape [1]. */
export function sumSquares(x: T): T {
  return sum(square(x));
}

// ------------------------------------------------------------------ softmax

export function softmax(x: T, axis = -1): T {
  const y = sm.softmax(x, axis);
  return record(y, 'softmax', [x], (g) => {
    if (!isGradEnabled()) return [sm.softmaxBackward(y, g, axis)];
    const yy = softmax(x, axis);
    return [mul(yy, sub(g, sum(mul(g, yy), axis, true)))];
  });
}

/** y = x − log Σ exp(x) along `axis`; ∂/∂x of ⟨y, g⟩ = g − softmax(x)·Σ g. */
export function logSoftmax(x: T, axis = -1): T {
  const y = sm.logSoftmax(x, axis);
  return record(y, 'logSoftmax', [x], (g) => {
    if (!isGradEnabled()) return [sm.logSoftmaxBackward(y, g, axis)];
    return [sub(g, mul(softmax(x, axis), sum(g, axis, true)))];
  });
}

// ------------------------------------------------------------------ linear algebra

export interface MatmulOpts {
  transA?: boolean;
  transB?: boolean;
}

/** A·B with optional transposes; batch dims broadcast when one side is 2-D. */
export function matmul(a: T, b: T, opts: MatmulOpts = {}): T {
  const { transA = false, transB = false } = opts;
  const y = mm.matmul(a, b, { transA, transB });
  return record(y, 'matmul', [a, b], (g) => {
    // C = op(A)·op(B): dA from g·op(B)ᵀ, dB from op(A)ᵀ·g, then undo the transposes.
    let ga: T | null = null, gb: T | null = null;
    if (a.requiresGrad) {
      ga = transA ? matmul(b, g, { transA: transB, transB: true }) : matmul(g, b, { transB: !transB });
      if (a.rank === 2 && ga.rank > 2) ga = sumBatch(ga);
    }
    if (b.requiresGrad) {
      if (b.rank === 2 && a.rank > 2) {
        // fold the batch into rows: B is shared across the batch
        const a2 = reshape(a, [-1, a.shape[a.rank - 1]]);
        const g2 = reshape(g, [-1, g.shape[g.rank - 1]]);
        if (transA) throw new ShapeError('matmul backward: batched transA with a shared B is not supported');
        gb = transB ? matmul(g2, a2, { transA: true }) : matmul(a2, g2, { transA: true });
      } else {
        gb = transB ? matmul(g, a, { transA: true, transB: transA }) : matmul(a, g, { transA: !transA });
      }
    }
    return [ga, gb];
  });
}

function sumBatch(x: T): T {
  return sum(reshape(x, [-1, x.shape[x.rank - 2], x.shape[x.rank - 1]]), 0);
}

/** y = x·W + b, the Linear layer's op (bias fused into the matmul epilogue). */
export function linear(x: T, w: T, b?: T): T {
  const y = mm.matmul(x, w, { bias: b });
  const ins = b ? [x, w, b] : [x, w];
  return record(y, 'linear', ins, (g) => {
    const gx = x.requiresGrad ? matmul(g, w, { transB: true }) : null;
    const g2 = g.rank > 2 ? reshape(g, [-1, g.shape[g.rank - 1]]) : g;
    const x2 = x.rank > 2 ? reshape(x, [-1, x.shape[x.rank - 1]]) : x;
    const gw = w.requiresGrad ? matmul(x2, g2, { transA: true }) : null;
    const gb = b?.requiresGrad ? sum(g2, 0) : null;
    return b ? [gx, gw, gb] : [gx, gw];
  });
}

// ------------------------------------------------------------------ convolution

export interface ConvOpts {
  stride?: number;
  padding?: number;
}

/** conv2d's fused extras: y = conv(x, w) + bias + cbias[:, :, None, None] + residual. */
export interface ConvAdds {
  /** Per-(image, channel) bias [B, Cout] (a noise-level embedding). */
  cbias?: T;
  /** Residual [B, Cout, Ho, Wo]. */
  residual?: T;
}

export function conv2d(x: T, w: T, bias?: T, opts: ConvOpts & ConvAdds = {}): T {
  const { cbias, residual } = opts;
  return recordConv2d(cv.conv2d(x, w, { bias, stride: opts.stride, padding: opts.padding, cbias, residual }), x, w, bias, opts);
}

/** conv2d's backward rule on y = conv(x, w) + bias + cbias + residual, computed by the kernels. */
function recordConv2d(y: T, x: T, w: T, bias: T | undefined, opts: ConvOpts & ConvAdds): T {
  const geo: ConvOpts = { stride: opts.stride, padding: opts.padding };
  const { cbias, residual } = opts;
  const ins = [x, w, ...(bias ? [bias] : []), ...(cbias ? [cbias] : []), ...(residual ? [residual] : [])];
  return record(y, 'conv2d', ins, (g) => {
    // both gradients in one call: the weight gradient may read gy as the input gradient laid it out
    const r = cv.conv2dBackward(x, g, w, { ...geo, input: x.requiresGrad, weight: w.requiresGrad });
    const gx = r.gx && recordBackwardInput(r.gx, g, w, geo);
    const gw = r.gw && recordBackwardWeight(r.gw, x, g, geo);
    const out: (T | null)[] = [gx, gw];
    if (bias) out.push(bias.requiresGrad ? sum(g, [0, 2, 3]) : null);
    if (cbias) out.push(cbias.requiresGrad ? reshape(sum(g, [2, 3]), cbias.shape) : null);
    if (residual) out.push(residual.requiresGrad ? g : null);
    return out;
  });
}

/** ∂/∂x of ⟨conv(x, w), g⟩; bilinear in (g, w), so its own gradients are a conv and a weight-grad. */
export function conv2dBackwardInput(g: T, w: T, xShape: number[], opts: ConvOpts = {}): T {
  return recordBackwardInput(cv.conv2dBackwardInput(g, w, xShape, opts), g, w, opts);
}

function recordBackwardInput(y: T, g: T, w: T, opts: ConvOpts): T {
  return record(y, 'conv2dBackwardInput', [g, w], (h) => [
    g.requiresGrad ? conv2d(h, w, undefined, opts) : null,
    w.requiresGrad ? conv2dBackwardWeight(h, g, [...w.shape], opts) : null,
  ]);
}

/** ∂/∂w of ⟨conv(x, w), g⟩. */
export function conv2dBackwardWeight(x: T, g: T, wShape: number[], opts: ConvOpts = {}): T {
  return recordBackwardWeight(cv.conv2dBackwardWeight(x, g, wShape, opts), x, g, opts);
}

function recordBackwardWeight(y: T, x: T, g: T, opts: ConvOpts): T {
  return record(y, 'conv2dBackwardWeight', [x, g], (h) => [
    x.requiresGrad ? conv2dBackwardInput(g, h, [...x.shape], opts) : null,
    g.requiresGrad ? conv2d(x, h, undefined, opts) : null,
  ]);
}

/** The GroupNorm of groupNormConv2d: groups, affine γ and β, ε, and whether SiLU follows. */
export interface NormArgs {
  groups: number;
  gamma?: T;
  beta?: T;
  eps?: number;
  silu?: boolean;
}

/**
 * conv(silu?(GroupNorm(x)), w) + bias + cbias + residual as one op (tensor/ops/norm_conv.ts: the
 * norm writes its output in the form the conv reads), and optionally `side`, a conv of x itself (a
 * residual block's skip projection) that shares the norm's pass over x. x may be given as the parts
 * of a channel concatenation. Value and gradients are those of groupNorm then conv2d (and
 * concat, when a backward will need x whole).
 */
export function groupNormConv2d(
  x: T | T[], n: NormArgs, w: T, bias?: T, opts: ConvOpts & ConvAdds = {}, side?: ({ w: T; bias?: T } & ConvOpts) | null,
): { y: T; side: T | null } {
  const eps = n.eps ?? 1e-5, silu = !!n.silu;
  const conv = { bias, stride: opts.stride, padding: opts.padding, cbias: opts.cbias, residual: opts.residual };
  const sideGeo: ConvOpts = { stride: side?.stride, padding: side?.padding };
  const sideOpts = side ? { w: side.w, opts: { bias: side.bias, ...sideGeo } } : undefined;
  const norm = { groups: n.groups, gamma: n.gamma, beta: n.beta, eps, silu };
  if (!isGradEnabled()) {
    const r = nc.groupNormConv2d(x, norm, w, conv, { side: sideOpts });
    return { y: r.y, side: r.side };
  }
  // a backward may follow: the norm's output is kept, and x is one tensor
  const xx = Array.isArray(x) ? (x.length === 1 ? x[0] : concat(x, 1)) : x;
  const r = nc.groupNormConv2d(xx, norm, w, conv, { side: sideOpts, keep: true });
  const h = recordGroupNorm(r.norm!, xx, n.groups, n.gamma, n.beta, eps, silu);
  return {
    y: recordConv2d(r.y, h, w, bias, opts),
    side: side && r.side ? recordConv2d(r.side, xx, side.w, side.bias, sideGeo) : null,
  };
}

/**
 * conv(upsampleNearest2d(x, 2), w) + bias + cbias + residual as one op: without gradients the
 * up-sampled image is never written (tensor/ops/upsample_conv.ts); with them, the two ops.
 */
export function upsample2Conv2d(x: T, w: T, bias?: T, opts: ConvOpts & ConvAdds = {}): T {
  if (isGradEnabled()) return conv2d(upsampleNearest2d(x, 2), w, bias, opts);
  return uc.upsample2Conv2d(x, w, { bias, stride: opts.stride, padding: opts.padding, cbias: opts.cbias, residual: opts.residual });
}

// ------------------------------------------------------------------ pooling

export function avgPool2d(x: T, k: number): T {
  return record(pl.avgPool2d(x, k), 'avgPool2d', [x], (g) => [scale(upsampleNearest2d(g, k), 1 / (k * k))]);
}

export function upsampleNearest2d(x: T, k: number): T {
  return record(pl.upsampleNearest2d(x, k), 'upsampleNearest2d', [x], (g) => [scale(avgPool2d(g, k), k * k)]);
}

// ------------------------------------------------------------------ normalisation

/**
 * GroupNorm over NCHW (or [B, C, ...]) with optional affine and fused SiLU (one kernel each way:
 * the backward recomputes the pre-SiLU value). The fused backward is not itself differentiable;
 * with createGraph the composite form (reductions and elementwise ops) is used instead, so the
 * objectives that need second derivatives also work through GroupNorm.
 */
export function groupNorm(x: T, groups: number, gamma?: T, beta?: T, opts: { eps?: number; silu?: boolean } = {}): T {
  const eps = opts.eps ?? 1e-5;
  const silu_ = !!opts.silu;
  return recordGroupNorm(nrm.groupNormWithStats(x, groups, gamma, beta, eps, { silu: silu_ }), x, groups, gamma, beta, eps, silu_);
}

/** groupNorm's backward rule on its output y, from the forward's per-(batch, group) mean and rstd. */
function recordGroupNorm(r: { y: T; mean: T; rstd: T }, x: T, groups: number, gamma: T | undefined, beta: T | undefined, eps: number, silu_: boolean): T {
  const ins = [x, ...(gamma ? [gamma] : []), ...(beta ? [beta] : [])];
  return record(r.y, 'groupNorm', ins, (g) => {
    if (isGradEnabled()) {
      // differentiate the composite form: same value, a graph of ordinary ops
      const yc = groupNormComposite(x, groups, gamma, beta, eps, silu_);
      const want = ins.filter((t) => t.requiresGrad);
      const gs = gradOf(yc, want, g);
      return ins.map((t) => (t.requiresGrad ? gs[want.indexOf(t)] : null));
    }
    const b = nrm.groupNormBackward(x, g, r.mean, r.rstd, groups, gamma, { silu: silu_, beta });
    const out: (T | null)[] = [b.gx];
    if (gamma) out.push(b.ggamma);
    if (beta) out.push(b.gbeta);
    return out;
  });
}

/** (x − μ_g)/√(σ²_g + ε)·γ + β (then SiLU) written with differentiable ops. */
export function groupNormComposite(x: T, groups: number, gamma: T | undefined, beta: T | undefined, eps: number, withSilu = false): T {
  const [B, C] = x.shape;
  const rest = x.shape.slice(2);
  const xg = reshape(x, [B, groups, -1]);
  const mu = mean(xg, 2, true);
  const xc = sub(xg, mu);
  const v = mean(square(xc), 2, true);
  let y = reshape(mul(xc, powScalar(addScalar(v, eps), -0.5)), x.shape);
  const bshape = [1, C, ...rest.map(() => 1)];
  if (gamma) y = mul(y, reshape(gamma, bshape));
  if (beta) y = add(y, reshape(beta, bshape));
  return withSilu ? silu(y) : y;
}

