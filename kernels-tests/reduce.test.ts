import { describe, it, expect, beforeAll } from 'vitest';
import { device, rng, relErr, sumErr, poisonPool, TEST_SEED, itUnder } from './helpers.js';
import { Tensor } from '../src/tensor/tensor.js';
import { sum, mean, max, sumTo, sumSquares, dot } from '../src/tensor/ops/reduce.js';
import { reduceRef, sumToRef, sumSquaresRef, dotRef } from '../src/tensor/cpu/reduce.js';
import type { Device } from '../src/gpu/device.js';

let d: Device;
beforeAll(async () => {
  d = await device();
});

const numel = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);
const norm = (axes: number[], r: number) => axes.map((a) => (a < 0 ? a + r : a));

// Both launch styles run on every adapter: GPU-style trees and CPU-style thread-per-row.
for (const style of ['gpu', 'cpu'] as const)
describe(`reduce ${style} style (seed ${TEST_SEED})`, () => {
  // the policy's rowStyle forces the style for this block's tests (Device.withPolicy)
  const it = itUnder({ rowStyle: style });
  const cases: [number[], number[] | undefined][] = [
    [[1], undefined],
    [[7], [0]],
    [[33, 5], [-1]],
    [[33, 5], [0]],
    [[129, 7], [1]],
    [[3, 257, 5], [1]],
    [[2, 7, 33, 3], [0, 2]],
    [[2, 7, 33, 3], [1, 3]],
    [[5, 1, 9, 1], [1, 2]],
    [[4, 3, 5, 6], [0, 2, 3]],
    [[8, 6, 7], [-3, -1]],
    [[3, 20000], [1]],          // split rows
    [[9000, 3], [0]],           // split columns
    [[129, 257], undefined],
    [[3, 0, 4], [1]],           // empty reduction
    [[70001, 3], [-1]],         // more rows than one grid dimension holds: folded 2-D grid
    [[5, 7, 8], [1]],           // inner % 4 == 0: four columns a thread (reduce_cols4.wgsl)
    [[33, 12], [0]],
    [[2, 9, 7, 4], [1, 2]],
  ];
  // Signed inputs: a sum can cancel to near zero, so sums and means are judged against the size of
  // their terms (sumErr's sqrt Σx² scale), max against its value.
  for (const op of ['sum', 'mean', 'max'] as const) {
    it(`${op} over axes, keepDims and not`, async () => {
      const r = rng(TEST_SEED + op.length);
      const f = { sum, mean, max }[op];
      for (const [shape, axes] of cases) {
        const n = numel(shape);
        const xs = r.uniform(n, -2, 2);
        poisonPool(d, n * 4 + 4096, 2);
        const x = Tensor.fromArray(d, xs, shape);
        const all = axes === undefined ? shape.map((_, i) => i) : norm(axes, shape.length);
        const ref = reduceRef(op, xs, shape, all);
        // natural size of each output: sqrt(Σ x²) over its reduced elements (÷ count for mean)
        const sq = reduceRef(op === 'max' ? 'sum' : op, xs.map((v) => v * v), shape, all).data;
        const count = all.reduce((c, a) => c * shape[a], 1);
        const scale = sq.map((v) => (op === 'mean' ? Math.sqrt(v / Math.max(count, 1)) : Math.sqrt(v)));
        for (const keep of [false, true]) {
          const o = f(x, axes, keep);
          const want = keep ? ref.shape : shape.filter((_, i) => !all.includes(i));
          expect(o.shape, `${op} ${shape} ${axes}`).toEqual(want.length ? want : [1]);
          const out = await o.toArray();
          if (n === 0 && op === 'max') expect([...out].every((v) => v === -Infinity)).toBe(true);
          else if (n === 0 && op === 'mean') expect(out.length).toBe(3 * 4);
          else if (op === 'max') expect(relErr(out, ref.data), `max ${shape} axes ${axes} keep ${keep}`).toBeLessThan(1e-6);
          else expect(sumErr(out, ref.data, scale), `${op} ${shape} axes ${axes} keep ${keep}`).toBeLessThan(1e-5);
          o.dispose();
        }
        x.dispose();
      }
    });
  }

  it('sum of 1e6 elements into one (two passes)', async () => {
    const n = 1_000_000;
    const xs = rng(TEST_SEED + 7).uniform(n, 0, 1);
    poisonPool(d, 1 << 16, 2);
    const x = Tensor.fromArray(d, xs, [n]);
    const s = sum(x);
    const m = mean(x.reshape([1000, 1000]));
    const mx = max(x);
    const ss = sumSquares(x);
    expect(s.shape).toEqual([1]);
    let ref = 0, mref = -Infinity;
    for (const v of xs) { ref += v; mref = Math.max(mref, v); }
    expect(Math.abs((await s.item()) - ref) / ref).toBeLessThan(1e-5);
    expect(Math.abs((await m.item()) - ref / n) / (ref / n)).toBeLessThan(1e-5);
    expect(await mx.item()).toBe(Math.fround(mref));
    const sref = sumSquaresRef(xs);
    expect(Math.abs((await ss.item()) - sref) / sref).toBeLessThan(1e-5);
    [x, s, m, mx, ss].forEach((t) => t.dispose());
  });

  it('sumTo undoes broadcasting', async () => {
    const r = rng(TEST_SEED + 11);
    const cases: [number[], number[]][] = [
      [[7, 33], [33]],
      [[7, 33], [7, 1]],
      [[2, 3, 5, 7], [3, 1, 1]],
      [[4, 9, 6, 5], [1, 9, 1, 1]],
      [[129, 3], [1, 1]],
      [[5, 6], [5, 6]],
      [[5, 6], [1, 1, 5, 6]],
      [[257, 65], [65]],
      [[9, 8], [8]],
      [[3, 5, 4, 12], [5, 1, 12]],
    ];
    for (const [from, to] of cases) {
      const xs = r.uniform(numel(from));
      poisonPool(d, numel(from) * 4 + 4096, 2);
      const x = Tensor.fromArray(d, xs, from);
      const o = sumTo(x, to);
      expect(o.shape).toEqual(to);
      const tt = to.slice(Math.max(0, to.length - from.length));
      const size = sumToRef(xs.map((v) => v * v), from, tt).map(Math.sqrt); // sums of signed terms: sumErr
      expect(sumErr(await o.toArray(), sumToRef(xs, from, tt), size), `${from} -> ${to}`).toBeLessThan(1e-5);
      [x, o].forEach((t) => t.dispose());
    }
  });

  it('sumSquares and dot', async () => {
    const r = rng(TEST_SEED + 13);
    for (const n of [1, 7, 33, 257, 70001]) {
      const a = r.normal(n), b = r.normal(n);
      poisonPool(d, n * 4 + 4096, 2);
      const ta = Tensor.fromArray(d, a), tb = Tensor.fromArray(d, b);
      const ss = sumSquares(ta), dt = dot(ta, tb);
      expect(relErr([await ss.item()], [sumSquaresRef(a)])).toBeLessThan(1e-5);
      // a dot of random vectors cancels: judge it against sqrt Σ (a·b)², its natural size
      let s2 = 0;
      for (let i = 0; i < n; i++) s2 += (a[i] * b[i]) ** 2;
      expect(sumErr([await dt.item()], [dotRef(a, b)], [Math.sqrt(s2)]), `dot n=${n}`).toBeLessThan(1e-5);
      [ta, tb, ss, dt].forEach((t) => t.dispose());
    }
  });

  it('replays inside a recording (partials owned by the recording)', async () => {
    const r = rng(TEST_SEED + 17);
    const n = 50_000;
    const x = Tensor.fromArray(d, r.uniform(n), [n]);
    const m = Tensor.fromArray(d, r.uniform(6 * 9000), [6, 9000]);
    const { recording, result } = d.record(() => ({ s: sumSquares(x), c: sum(m, [0]) }));
    for (let k = 0; k < 2; k++) {
      const xs = r.uniform(n), ms = r.uniform(6 * 9000);
      x.write(xs);
      m.write(ms);
      poisonPool(d, 1 << 16, 2);
      recording.replay();
      expect(relErr([await result.s.item()], [sumSquaresRef(xs)])).toBeLessThan(1e-5);
      expect(relErr(await result.c.toArray(), reduceRef('sum', ms, [6, 9000], [0]).data)).toBeLessThan(1e-5);
    }
    recording.dispose();
    [x, m, result.s, result.c].forEach((t) => t.dispose());
  });

  it('names the shape and the axis in errors', () => {
    const x = Tensor.fromArray(d, new Float32Array(6), [2, 3]);
    expect(() => sum(x, 2)).toThrow(/axis 2 .*\[2, 3\]/);
    expect(() => max(x, [-3])).toThrow(/axis -3 .*\[2, 3\]/);
    expect(() => mean(x, [1, -1])).toThrow(/repeated axis/);
    expect(() => sumTo(x, [4])).toThrow(/\[4\] does not broadcast to \[2, 3\]/);
    expect(() => dot(x, Tensor.fromArray(d, new Float32Array(5)))).toThrow(/\[2, 3\] and \[5\]/);
    x.dispose();
  });
});
