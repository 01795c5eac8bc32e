// Unary, scalar and broadcasting binary ops over f32 tensors (shaders/elementwise.wgsl; same-shape
// ops on tensors whose sizes are multiples of 4 by shaders/elementwise_vec4.wgsl; both prepend the
// op tables of elementwise_ops.wgsl).
import opsSource from '../../../shaders/elementwise_ops.wgsl';
import scalarSource from '../../../shaders/elementwise.wgsl';
import vec4Part from '../../../shaders/elementwise_vec4.wgsl';
import { Tensor, broadcastShapes, sameDevice } from '../tensor.js';
import { grid1d } from '../dispatch.js';
import { ShapeError, fmtShape } from '../../gpu/errors.js';

const FILE = 'elementwise.wgsl';
const source = opsSource + scalarSource;
const FILE4 = 'elementwise_vec4.wgsl';
const vec4Source = opsSource + vec4Part;
const WG = 256;

/** Every tensor a multiple of 4 elements at a 16-byte offset: the vec4 kernels apply. */
function vec4able(...ts: Tensor[]): boolean {
  return ts.every((t) => t.size % 4 === 0 && t.byteOffset % 16 === 0);
}
const MAX_RANK = 8;

export const UNARY = {
  neg: 0, exp: 1, log: 2, sqrt: 3, rsqrt: 4, square: 5, abs: 6, sin: 7, cos: 8, tanh: 9, sigmoid: 10,
  silu: 11, softplus: 12, relu: 13, siluGrad: 14, affine: 15, powScalar: 16, clamp: 17, stepGt: 18,
  sign: 19, reciprocal: 20, sigmoidGrad: 21, tanhGrad: 22, fill: 23, nanToZero: 24, floor: 25,
} as const;
export type UnaryOp = keyof typeof UNARY;

export const BINARY = { add: 0, sub: 1, mul: 2, div: 3, maximum: 4, minimum: 5, pow: 6, gt: 7, axpby: 8, mulScaled: 9, left: 10 } as const;
export type BinaryOp = keyof typeof BINARY;

/** out = f(a) elementwise; alpha/beta parametrise affine, powScalar, clamp, stepGt, fill. */
export function unary(op: UnaryOp, a: Tensor, alpha = 0, beta = 0, out?: Tensor): Tensor {
  const o = out ?? Tensor.empty(a.device, a.shape);
  if (o.size !== a.size) throw new ShapeError(`${op}: out ${fmtShape(o.shape)} does not match input ${fmtShape(a.shape)}`);
  if (vec4able(a, o)) {
    a.device.run(
      { file: FILE4, source: vec4Source, entry: 'unary4', constants: { OP: UNARY[op], WG: 64 } },
      { a: op === 'fill' ? a.device.dummy : a, b: a.device.dummy, out: o, p: { n: a.size / 4, rank: 0, alpha, beta, shape: [], sa: [], sb: [] } },
      grid1d(a.device, a.size / 4, 64),
    );
    return o;
  }
  a.device.run(
    { file: FILE, source, entry: 'unary', constants: { OP: UNARY[op], WG } },
    { a: op === 'fill' ? a.device.dummy : a, b: a.device.dummy, out: o, p: { n: a.size, rank: 0, alpha, beta, shape: [], sa: [], sb: [] } },
    grid1d(a.device, a.size, WG),
  );
  return o;
}

/** out = g(a, b) with numpy broadcasting; alpha/beta parametrise axpby and mulScaled. */
export function binary(op: BinaryOp, a: Tensor, b: Tensor, alpha = 1, beta = 1, out?: Tensor): Tensor {
  const device = sameDevice(op, a, b);
  const shape = broadcastShapes(a.shape, b.shape, op);
  if (shape.length > MAX_RANK) throw new ShapeError(`${op}: rank ${shape.length} over the supported ${MAX_RANK}`);
  const o = out ?? Tensor.empty(device, shape);
  const n = o.size;
  if (n !== shape.reduce((x, y) => x * y, 1)) throw new ShapeError(`${op}: out ${fmtShape(o.shape)} does not match ${fmtShape(shape)}`);
  const same = a.size === n && b.size === n;
  if (same && vec4able(a, b, o)) {
    device.run(
      { file: FILE4, source: vec4Source, entry: 'binary_same4', constants: { OP: BINARY[op], WG: 64 } },
      { a, b, out: o, p: { n: n / 4, rank: 0, alpha, beta, shape: [], sa: [], sb: [] } },
      grid1d(device, n / 4, 64),
    );
    return o;
  }
  if (same) {
    device.run(
      { file: FILE, source, entry: 'binary_same', constants: { OP: BINARY[op], WG } },
      { a, b, out: o, p: { n, rank: 0, alpha, beta, shape: [], sa: [], sb: [] } },
      grid1d(device, n, WG),
    );
    return o;
  }
  const sa = bcastStrides(a.shape, shape);
  const sb = bcastStrides(b.shape, shape);
  device.run(
    { file: FILE, source, entry: 'binary_bcast', constants: { OP: BINARY[op], WG } },
    { a, b, out: o, p: { n, rank: shape.length, alpha, beta, shape, sa, sb } },
    grid1d(device, n, WG),
  );
  return o;
}

/** Row-major strides of `s` aligned to `out`, 0 on broadcast dimensions. */
export function bcastStrides(s: readonly number[], out: readonly number[]): number[] {
  const r = new Array(out.length).fill(0);
  let stride = 1;
  for (let i = s.length - 1; i >= 0; i--) {
    const j = out.length - s.length + i;
    r[j] = s[i] === 1 ? 0 : stride;
    stride *= s[i];
  }
  return r;
}

export function fill(device: Tensor['device'], shape: readonly number[], value: number): Tensor {
  const o = Tensor.empty(device, shape);
  return unary('fill', o, value, 0, o);
}

/** Broadcast `a` to `shape` (a materialised copy; the adjoint is sumTo). */
export function expand(a: Tensor, shape: readonly number[]): Tensor {
  const full = broadcastShapes(a.shape, shape, 'expand');
  if (full.length !== shape.length || full.some((d, i) => d !== shape[i])) {
    throw new ShapeError(`expand: ${fmtShape(a.shape)} does not broadcast to ${fmtShape(shape)}`);
  }
  const o = Tensor.empty(a.device, shape);
  if (o.size === 0) return o;
  a.device.run(
    { file: FILE, source, entry: 'binary_bcast', constants: { OP: BINARY.left, WG } },
    { a, b: a.device.dummy, out: o, p: { n: o.size, rank: shape.length, alpha: 1, beta: 1, shape, sa: bcastStrides(a.shape, shape), sb: shape.map(() => 0) } },
    grid1d(a.device, o.size, WG),
  );
  return o;
}

/** In place: out ← β·out + α·a (same element count). */
export function accumulate(out: Tensor, a: Tensor, alpha = 1, beta = 1): Tensor {
  if (out.size !== a.size) throw new ShapeError(`accumulate: ${fmtShape(a.shape)} into ${fmtShape(out.shape)}`);
  if (vec4able(a, out)) {
    out.device.run(
      { file: FILE4, source: vec4Source, entry: 'accumulate4', constants: { WG: 64 } },
      { a, b: out.device.dummy, out, p: { n: out.size / 4, rank: 0, alpha, beta, shape: [], sa: [], sb: [] } },
      grid1d(out.device, out.size / 4, 64),
    );
    return out;
  }
  out.device.run(
    { file: FILE, source, entry: 'accumulate', constants: { WG } },
    { a, b: out.device.dummy, out, p: { n: out.size, rank: 0, alpha, beta, shape: [], sa: [], sb: [] } },
    grid1d(out.device, out.size, WG),
  );
  return out;
}
