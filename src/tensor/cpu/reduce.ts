// Float64 references for reductions.

export function stridesOf(shape: readonly number[]): number[] {
  const s = new Array(shape.length).fill(1);
  for (let i = shape.length - 2; i >= 0; i--) s[i] = s[i + 1] * shape[i + 1];
  return s;
}

/** Reduce `x` of `shape` over `axes` (non-negative, any order) with sum/mean/max; keepDims shape. */
export function reduceRef(op: 'sum' | 'mean' | 'max', x: ArrayLike<number>, shape: readonly number[], axes: readonly number[]): { data: Float64Array; shape: number[] } {
  const outShape = shape.map((d, i) => (axes.includes(i) ? 1 : d));
  const outStr = stridesOf(outShape);
  const n = outShape.reduce((a, b) => a * b, 1);
  const o = new Float64Array(n).fill(op === 'max' ? -Infinity : 0);
  const total = shape.reduce((a, b) => a * b, 1);
  let count = 1;
  for (const a of axes) count *= shape[a];
  const idx = new Array(shape.length).fill(0);
  for (let i = 0; i < total; i++) {
    let k = 0;
    for (let d = 0; d < shape.length; d++) if (!axes.includes(d)) k += idx[d] * outStr[d];
    o[k] = op === 'max' ? Math.max(o[k], x[i]) : o[k] + x[i];
    for (let d = shape.length - 1; d >= 0; d--) {
      if (++idx[d] < shape[d]) break;
      idx[d] = 0;
    }
  }
  if (op === 'mean') for (let i = 0; i < n; i++) o[i] /= count;
  return { data: o, shape: outShape };
}

/** Sum a tensor of `shape` down to `to` (numpy broadcasting in reverse). */
export function sumToRef(x: ArrayLike<number>, shape: readonly number[], to: readonly number[]): Float64Array {
  const lead = shape.length - to.length;
  const axes: number[] = [];
  for (let i = 0; i < shape.length; i++) if (i < lead || (to[i - lead] === 1 && shape[i] !== 1)) axes.push(i);
  return reduceRef('sum', x, shape, axes).data;
}

export function sumSquaresRef(x: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i] * x[i];
  return s;
}

export function dotRef(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}
