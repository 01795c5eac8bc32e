// The `ops` namespace: differentiable ops (autograd records them when inputs require grad), plus
// the random and sampler kernels that have no gradient. This is the public table: each entry is the
// kernel-level function wrapped by `checked` (src/tensor/args.ts) with what each parameter must
// be, so a wrong argument is a TypeError (wrong kind) or ShapeError (wrong rank) naming the op and
// the parameter. Library code imports the unchecked functions from autograd/ and tensor/ops/.
import * as ag from './autograd/ops.js';
import * as rnd from './tensor/ops/random.js';
import * as lgv from './tensor/ops/langevin.js';
import * as ew from './tensor/ops/elementwise.js';
import { Device } from './gpu/device.js';
import { Tensor } from './tensor/tensor.js';
import {
  checked, T, tensor, tensors, num, int, posInt, nonNegInt, bool, any, shape, shapeInfer, ints, axes, options, optional, either, instance,
  type Check,
} from './tensor/args.js';

export type { MatmulOpts, ConvOpts, ConvAdds } from './autograd/ops.js';
export type { RandomOptions, Clock } from './tensor/ops/random.js';
export type { LangevinOptions } from './tensor/ops/langevin.js';

type Fn = (...args: any[]) => any;
const c = <F extends Fn>(name: string, fn: F, params: [string, Check][]): F => checked(`ops.${name}`, fn, params);
const binary = <F extends Fn>(name: string, fn: F) => c(name, fn, [['a', T], ['b', T]]);
const unary = <F extends Fn>(name: string, fn: F) => c(name, fn, [['x', T]]);

const device = instance(Device);
const clock = instance(rnd.Clock);
const seed = optional(num);
const T_ = optional(T);

// ------------------------------------------------------------------ elementwise

export const add = binary('add', ag.add);
export const sub = binary('sub', ag.sub);
export const mul = binary('mul', ag.mul);
export const div = binary('div', ag.div);
export const maximum = binary('maximum', ag.maximum);
export const axpby = c('axpby', ag.axpby, [['alpha', num], ['a', T], ['beta', num], ['b', T]]);
export const affine = c('affine', ag.affine, [['x', T], ['alpha', num], ['beta', optional(num)]]);
export const scale = c('scale', ag.scale, [['x', T], ['s', num]]);
export const addScalar = c('addScalar', ag.addScalar, [['x', T], ['s', num]]);
export const powScalar = c('powScalar', ag.powScalar, [['x', T], ['p', num]]);
export const neg = unary('neg', ag.neg);
export const exp = unary('exp', ag.exp);
export const log = unary('log', ag.log);
export const sqrt = unary('sqrt', ag.sqrt);
export const square = unary('square', ag.square);
export const sigmoid = unary('sigmoid', ag.sigmoid);
export const tanh = unary('tanh', ag.tanh);
export const silu = unary('silu', ag.silu);
export const softplus = unary('softplus', ag.softplus);
export const relu = unary('relu', ag.relu);
export const sin = unary('sin', ag.sin);
export const cos = unary('cos', ag.cos);

// ------------------------------------------------------------------ shape

export const reshape = c('reshape', ag.reshape, [['x', T], ['shape', shapeInfer]]);
export const expand = c('expand', ag.expand, [['x', T], ['shape', shape]]);
export const transpose = c('transpose', ag.transpose, [['x', T], ['perm', ints]]);
export const concat = c('concat', ag.concat, [['xs', tensors], ['axis', int]]);
export const slice = c('slice', ag.slice, [['x', T], ['starts', ints], ['sizes', ints]]);
export const padTo = c('padTo', ag.padTo, [['x', T], ['shape', shape], ['starts', ints]]);
export const gather = c('gather', ag.gather, [['x', tensor({ minRank: 1 })], ['idx', T]]);

// ------------------------------------------------------------------ reductions

export const sum = c('sum', ag.sum, [['x', T], ['axes', optional(axes)], ['keepDims', optional(bool)]]);
export const mean = c('mean', ag.mean, [['x', T], ['axes', optional(axes)], ['keepDims', optional(bool)]]);
export const sumTo = c('sumTo', ag.sumTo, [['x', T], ['shape', shape]]);
export const sumSquares = unary('sumSquares', ag.sumSquares);
export const softmax = c('softmax', ag.softmax, [['x', tensor({ minRank: 1 })], ['axis', optional(int)]]);
export const logSoftmax = c('logSoftmax', ag.logSoftmax, [['x', tensor({ minRank: 1 })], ['axis', optional(int)]]);

// ------------------------------------------------------------------ linear algebra, convolution

const MATMUL_OPTS = options({ transA: bool, transB: bool });
export const matmul = c('matmul', ag.matmul, [['a', tensor({ minRank: 2 })], ['b', tensor({ minRank: 2 })], ['opts', MATMUL_OPTS]]);
export const linear = c('linear', ag.linear, [['x', tensor({ minRank: 2 })], ['w', tensor({ rank: 2 })], ['b', T_]]);

const GEOMETRY = { stride: posInt, padding: nonNegInt };
const CONV_ADDS = { cbias: T, residual: T };
const CONV_OPTS = options({ ...GEOMETRY, ...CONV_ADDS });

/** conv2d's options when given as the third argument: the bias too. */
export interface Conv2dOptions extends ag.ConvOpts, ag.ConvAdds {
  /** Per-output-channel bias [Cout]. */
  bias?: Tensor;
}

/**
 * y = conv(x, w) + bias, NCHW: x [B, Cin, H, W], w [Cout, Cin, kh, kw]. Called as
 * conv2d(x, w, { bias, stride, padding }) or conv2d(x, w, bias, { stride, padding }).
 */
function conv2dEither(x: Tensor, w: Tensor, biasOrOpts?: Tensor | Conv2dOptions, opts?: ag.ConvOpts & ag.ConvAdds): Tensor {
  if (biasOrOpts === undefined || biasOrOpts instanceof Tensor) return ag.conv2d(x, w, biasOrOpts, opts);
  if (opts !== undefined) throw new TypeError('ops.conv2d: options given twice; call conv2d(x, w, { bias, stride, padding }) or conv2d(x, w, bias, { stride, padding })');
  const { bias, ...rest } = biasOrOpts;
  return ag.conv2d(x, w, bias, rest);
}
export const conv2d = c('conv2d', conv2dEither, [
  ['x', tensor({ rank: 4 })],
  ['w', tensor({ rank: 4 })],
  ['bias (or options)', either(T, options({ bias: T, ...GEOMETRY, ...CONV_ADDS }))],
  ['opts', CONV_OPTS],
]) as {
  (x: Tensor, w: Tensor, opts?: Conv2dOptions): Tensor;
  (x: Tensor, w: Tensor, bias: Tensor | undefined, opts?: ag.ConvOpts & ag.ConvAdds): Tensor;
};
const GEO_OPTS = options(GEOMETRY);
export const conv2dBackwardInput = c('conv2dBackwardInput', ag.conv2dBackwardInput, [['g', tensor({ rank: 4 })], ['w', tensor({ rank: 4 })], ['xShape', shape], ['opts', GEO_OPTS]]);
export const conv2dBackwardWeight = c('conv2dBackwardWeight', ag.conv2dBackwardWeight, [['x', tensor({ rank: 4 })], ['g', tensor({ rank: 4 })], ['wShape', shape], ['opts', GEO_OPTS]]);
export const avgPool2d = c('avgPool2d', ag.avgPool2d, [['x', tensor({ minRank: 2 })], ['k', posInt]]);
export const upsampleNearest2d = c('upsampleNearest2d', ag.upsampleNearest2d, [['x', tensor({ minRank: 2 })], ['k', posInt]]);

// ------------------------------------------------------------------ normalisation

export const groupNorm = c('groupNorm', ag.groupNorm, [
  ['x', tensor({ minRank: 2 })], ['groups', posInt], ['gamma', T_], ['beta', T_],
  ['opts', options({ eps: num, silu: bool })],
]);
export const groupNormComposite = c('groupNormComposite', ag.groupNormComposite, [
  ['x', tensor({ minRank: 2 })], ['groups', posInt], ['gamma', T_], ['beta', T_], ['eps', num], ['withSilu', optional(bool)],
]);

// ------------------------------------------------------------------ random, sampler kernels

const KEY = { clock, stream: num, offset: num };
export const randn = c('randn', rnd.randn, [['device', device], ['shape', shape], ['seed', seed], ['opts', options({ ...KEY, mean: num, std: num })]]);
export const rand = c('rand', rnd.rand, [['device', device], ['shape', shape], ['seed', seed], ['opts', options({ ...KEY, low: num, high: num })]]);
export const rademacher = c('rademacher', rnd.rademacher, [['device', device], ['shape', shape], ['seed', seed], ['opts', options(KEY)]]);
export const randint = c('randint', rnd.randint, [['device', device], ['shape', shape], ['high', posInt], ['seed', seed], ['opts', options(KEY)]]);
export const createClock = c('createClock', rnd.createClock, [['device', device], ['step', optional(nonNegInt)]]);
export const setClock = c('setClock', rnd.setClock, [['clock', clock], ['step', nonNegInt]]);
export const setSeed = c('setSeed', rnd.setSeed, [['device', device], ['seed', num]]);

export const langevinStep = c('langevinStep', lgv.langevinStep, [
  ['x', T], ['score', T],
  ['opts', options({ ...KEY, step: num, noiseScale: num, seed: num, out: T, coef: T, box: T }, ['step', 'noiseScale'])],
]);
export const langevinUpdate = c('langevinUpdate', lgv.langevinUpdate, [['x', T], ['score', T], ['alpha', num], ['seed', seed], ['opts', options({ ...KEY, out: T })]]);
export const fill = c('fill', ew.fill, [['device', device], ['shape', shape], ['value', num]]);
export const accumulate = c('accumulate', ew.accumulate, [['out', T], ['a', T], ['alpha', optional(num)], ['beta', optional(num)]]);

// ------------------------------------------------------------------ helpers kept from the old table

/** Whether two shapes are equal. */
export const sameShape = c('sameShape', ag.sameShape, [['a', ints], ['b', ints]]);
