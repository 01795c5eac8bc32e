// Float64 references for elementwise ops: the ground truth the kernels are tested against.
import type { UnaryOp, BinaryOp } from '../ops/elementwise.js';

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

export function unaryRef(op: UnaryOp, a: ArrayLike<number>, alpha = 0, beta = 0): Float64Array {
  const f: (x: number) => number = {
    neg: (x: number) => -x, exp: Math.exp, log: Math.log, sqrt: Math.sqrt, rsqrt: (x: number) => 1 / Math.sqrt(x),
    square: (x: number) => x * x, abs: Math.abs, sin: Math.sin, cos: Math.cos, tanh: Math.tanh, sigmoid,
    silu: (x: number) => x * sigmoid(x), softplus: (x: number) => Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x))),
    relu: (x: number) => Math.max(x, 0), siluGrad: (x: number) => { const s = sigmoid(x); return s * (1 + x * (1 - s)); },
    affine: (x: number) => alpha * x + beta, powScalar: (x: number) => Math.pow(x, alpha),
    clamp: (x: number) => Math.min(Math.max(x, alpha), beta), stepGt: (x: number) => (x > alpha ? 1 : 0),
    sign: Math.sign, reciprocal: (x: number) => 1 / x, sigmoidGrad: (x: number) => sigmoid(x) * (1 - sigmoid(x)),
    tanhGrad: (x: number) => 1 - Math.tanh(x) ** 2, fill: () => alpha, nanToZero: (x: number) => (Number.isNaN(x) ? 0 : x),
    floor: Math.floor,
  }[op];
  const o = new Float64Array(a.length);
  for (let i = 0; i < a.length; i++) o[i] = f(a[i]);
  return o;
}

export function broadcastRef(shape: readonly number[], out: readonly number[]): (i: number) => number {
  const strides = new Array(out.length).fill(0);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    const j = out.length - shape.length + i;
    strides[j] = shape[i] === 1 ? 0 : s;
    s *= shape[i];
  }
  return (idx: number) => {
    let r = idx, k = 0;
    for (let d = out.length - 1; d >= 0; d--) {
      k += (r % out[d]) * strides[d];
      r = Math.floor(r / out[d]);
    }
    return k;
  };
}

export function binaryRef(op: BinaryOp, a: ArrayLike<number>, as: readonly number[], b: ArrayLike<number>, bs: readonly number[], alpha = 1, beta = 1): { data: Float64Array; shape: number[] } {
  const n = Math.max(as.length, bs.length);
  const shape: number[] = [];
  for (let i = 0; i < n; i++) {
    const x = as[as.length - n + i] ?? 1, y = bs[bs.length - n + i] ?? 1;
    shape.push(x === 1 ? y : x);
  }
  const f: (x: number, y: number) => number = {
    add: (x: number, y: number) => x + y, sub: (x: number, y: number) => x - y, mul: (x: number, y: number) => x * y,
    div: (x: number, y: number) => x / y, maximum: Math.max, minimum: Math.min, pow: Math.pow,
    gt: (x: number, y: number) => (x > y ? 1 : 0), axpby: (x: number, y: number) => alpha * x + beta * y,
    mulScaled: (x: number, y: number) => x * y * alpha, left: (x: number) => x,
  }[op];
  const ia = broadcastRef(as, shape), ib = broadcastRef(bs, shape);
  const size = shape.reduce((x, y) => x * y, 1);
  const o = new Float64Array(size);
  for (let i = 0; i < size; i++) o[i] = f(a[ia(i)], b[ib(i)]);
  return { data: o, shape };
}
