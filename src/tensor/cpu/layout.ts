// Float64 references for layout ops (index arithmetic only; data are copied as given).
import { stridesOf } from './reduce.js';

const prod = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

function* coords(shape: readonly number[]): Generator<number[]> {
  const n = prod(shape);
  const c = new Array(shape.length).fill(0);
  for (let i = 0; i < n; i++) {
    yield c;
    for (let d = shape.length - 1; d >= 0; d--) {
      if (++c[d] < shape[d]) break;
      c[d] = 0;
    }
  }
}

const offset = (c: readonly number[], st: readonly number[]) => c.reduce((a, v, i) => a + v * st[i], 0);

export function transposeRef(x: ArrayLike<number>, shape: readonly number[], perm: readonly number[]): Float64Array {
  const out = perm.map((p) => shape[p]);
  const st = stridesOf(shape);
  const o = new Float64Array(prod(out));
  let i = 0;
  for (const c of coords(out)) o[i++] = x[c.reduce((a, v, k) => a + v * st[perm[k]], 0)];
  return o;
}

export function sliceRef(x: ArrayLike<number>, shape: readonly number[], starts: readonly number[], sizes: readonly number[]): Float64Array {
  const st = stridesOf(shape);
  const o = new Float64Array(prod(sizes));
  let i = 0;
  for (const c of coords(sizes)) o[i++] = x[offset(c.map((v, k) => v + starts[k]), st)];
  return o;
}

export function padToRef(x: ArrayLike<number>, xShape: readonly number[], shape: readonly number[], starts: readonly number[]): Float64Array {
  const st = stridesOf(shape);
  const o = new Float64Array(prod(shape));
  let i = 0;
  for (const c of coords(xShape)) o[offset(c.map((v, k) => v + starts[k]), st)] = x[i++];
  return o;
}

export function concatRef(xs: { data: ArrayLike<number>; shape: readonly number[] }[], axis: number): Float64Array {
  const outer = prod(xs[0].shape.slice(0, axis));
  const inner = prod(xs[0].shape.slice(axis + 1));
  const o: number[] = [];
  for (let a = 0; a < outer; a++) {
    for (const t of xs) {
      const w = t.shape[axis] * inner;
      for (let i = 0; i < w; i++) o.push(t.data[a * w + i]);
    }
  }
  return Float64Array.from(o);
}

export function gatherRef(x: ArrayLike<number>, shape: readonly number[], idx: ArrayLike<number>, axis: number): Float64Array {
  const outer = prod(shape.slice(0, axis)), len = shape[axis], inner = prod(shape.slice(axis + 1));
  const o = new Float64Array(outer * idx.length * inner);
  for (let a = 0; a < outer; a++)
    for (let m = 0; m < idx.length; m++) {
      const j = Math.round(idx[m]);
      for (let i = 0; i < inner; i++) o[(a * idx.length + m) * inner + i] = j >= 0 && j < len ? x[(a * len + j) * inner + i] : 0;
    }
  return o;
}

export function gatherBackwardRef(gy: ArrayLike<number>, idx: ArrayLike<number>, xShape: readonly number[], axis: number): Float64Array {
  const outer = prod(xShape.slice(0, axis)), len = xShape[axis], inner = prod(xShape.slice(axis + 1));
  const o = new Float64Array(prod(xShape));
  for (let a = 0; a < outer; a++)
    for (let m = 0; m < idx.length; m++) {
      const j = Math.round(idx[m]);
      if (j < 0 || j >= len) continue;
      for (let i = 0; i < inner; i++) o[(a * len + j) * inner + i] += gy[(a * idx.length + m) * inner + i];
    }
  return o;
}
