// Float64 references for softmax and friends along `axis` of `shape`.

function lanes(shape: readonly number[], axis: number) {
  const len = shape[axis];
  const outer = shape.slice(0, axis).reduce((a, b) => a * b, 1);
  const inner = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  return { len, outer, inner };
}

export function softmaxRef(op: 'softmax' | 'logSoftmax', x: ArrayLike<number>, shape: readonly number[], axis: number): Float64Array {
  const { len, outer, inner } = lanes(shape, axis);
  const o = new Float64Array(x.length);
  for (let a = 0; a < outer; a++) {
    for (let b = 0; b < inner; b++) {
      const at = (i: number) => (a * len + i) * inner + b;
      let m = -Infinity;
      for (let i = 0; i < len; i++) m = Math.max(m, x[at(i)]);
      let s = 0;
      for (let i = 0; i < len; i++) s += Math.exp(x[at(i)] - m);
      for (let i = 0; i < len; i++) o[at(i)] = op === 'softmax' ? Math.exp(x[at(i)] - m) / s : x[at(i)] - m - Math.log(s);
    }
  }
  return o;
}

/** Backward given the forward output y: softmax y·(g − Σ g·y); logSoftmax g − exp(y)·Σ g. */
export function softmaxBackwardRef(op: 'softmax' | 'logSoftmax', y: ArrayLike<number>, g: ArrayLike<number>, shape: readonly number[], axis: number): Float64Array {
  const { len, outer, inner } = lanes(shape, axis);
  const o = new Float64Array(y.length);
  for (let a = 0; a < outer; a++) {
    for (let b = 0; b < inner; b++) {
      const at = (i: number) => (a * len + i) * inner + b;
      let s = 0;
      for (let i = 0; i < len; i++) s += op === 'softmax' ? g[at(i)] * y[at(i)] : g[at(i)];
      for (let i = 0; i < len; i++) o[at(i)] = op === 'softmax' ? y[at(i)] * (g[at(i)] - s) : g[at(i)] - Math.exp(y[at(i)]) * s;
    }
  }
  return o;
}
