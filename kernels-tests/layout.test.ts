import { describe, it, expect, beforeAll } from 'vitest';
import { device, rng, relErr, poisonPool, TEST_SEED } from './helpers.js';
import { Tensor } from '../src/tensor/tensor.js';
import { transpose, concat, slice, padTo, gather, gatherBackward, copyInto } from '../src/tensor/ops/layout.js';
import { transposeRef, concatRef, sliceRef, padToRef, gatherRef, gatherBackwardRef } from '../src/tensor/cpu/layout.js';
import type { Device } from '../src/gpu/device.js';

let d: Device;
beforeAll(async () => {
  d = await device();
});

const numel = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);
// layout ops copy values: they must be exact
const exact = (out: ArrayLike<number>, ref: ArrayLike<number>) => relErr(out, ref);

describe(`layout (seed ${TEST_SEED})`, () => {
  for (const style of ['gpu', 'cpu'] as const)
  it(`transpose (${style} style): tiled 2-D, batched last-two swap, general permutes`, async () => {
    const r = rng(TEST_SEED + 1);
    const cases: [number[], number[]][] = [
      [[1], [0]],
      [[7, 33], [1, 0]],
      [[129, 257], [1, 0]],
      [[3, 17, 33], [0, 2, 1]],
      [[2, 3, 5, 7], [0, 1, 3, 2]],
      [[2, 3, 5, 7], [3, 1, 0, 2]],
      [[2, 3, 5, 7], [0, 2, 1, 3]],   // attention heads: merges to a 3-D permute
      [[4, 1, 6, 1, 5], [4, 2, 1, 0, 3]],
      [[2, 3, 2, 3, 2, 3], [5, 4, 3, 2, 1, 0]],
      [[3, 4, 5], [0, 1, 2]],         // identity: a copy
    ];
    for (const [shape, perm] of cases) {
      const xs = r.uniform(numel(shape));
      poisonPool(d, xs.length * 4 + 4096, 2);
      const x = Tensor.fromArray(d, xs, shape);
      const y = d.withPolicy({ rowStyle: style }, () => transpose(x, perm));
      expect(y.shape).toEqual(perm.map((p) => shape[p]));
      expect(exact(await y.toArray(), transposeRef(xs, shape, perm)), `${shape} ${perm}`).toBe(0);
      [x, y].forEach((t) => t.dispose());
    }
    // in the GPU style, the last-two-dims swaps above took the tiled kernel
    const names = [...((d.kernels as any).cache as Map<string, { name: string }>).values()].map((k) => k.name);
    expect(names.some((n) => n.startsWith('layout.wgsl:transpose2d'))).toBe(true);
  });

  it('concat along any axis', async () => {
    const r = rng(TEST_SEED + 2);
    const cases: [number[][], number][] = [
      [[[7], [1], [33]], 0],
      [[[3, 5], [3, 7]], -1],
      [[[3, 5], [4, 5], [1, 5]], 0],
      [[[2, 3, 4, 5], [2, 1, 4, 5], [2, 7, 4, 5]], 1],
      [[[2, 3, 4, 5], [2, 3, 4, 2]], 3],
      [[[257, 33], [257, 0]], 1],
      // rows, strides and bases all multiples of 4 floats: shaders/copy_vec4.wgsl
      [[[3, 4, 2, 2], [3, 8, 2, 2], [3, 12, 2, 2]], 1],
      [[[5, 12], [5, 4], [5, 8]], 1],
      [[[8], [12], [4]], 0],
    ];
    for (const [shapes, axis] of cases) {
      const datas = shapes.map((s) => r.uniform(numel(s)));
      poisonPool(d, 1 << 16, 2);
      const xs = shapes.map((s, i) => Tensor.fromArray(d, datas[i], s));
      const y = concat(xs, axis);
      const ax = axis < 0 ? axis + shapes[0].length : axis;
      expect(exact(await y.toArray(), concatRef(shapes.map((s, i) => ({ data: datas[i], shape: s })), ax))).toBe(0);
      [...xs, y].forEach((t) => t.dispose());
    }
  });

  it('slice and padTo are adjoint boxes', async () => {
    const r = rng(TEST_SEED + 3);
    const cases: [number[], number[], number[]][] = [
      [[7], [2], [5]],
      [[33, 5], [3, 0], [7, 5]],
      [[33, 5], [0, 1], [33, 3]],
      [[2, 9, 8, 7], [1, 2, 0, 3], [1, 5, 8, 4]],
      [[2, 9, 8, 7], [0, 0, 1, 1], [2, 9, 6, 5]],
      [[129, 257], [5, 7], [100, 129]],
      [[4, 5], [0, 0], [4, 5]],
      // vec4 rows: channel slices with H·W % 4 == 0, and one not aligned (base 6 floats)
      [[3, 8, 2, 2], [0, 4, 0, 0], [3, 4, 2, 2]],
      [[2, 12, 4, 4], [0, 0, 0, 0], [2, 8, 4, 4]],
      [[2, 12, 2, 3], [0, 1, 0, 0], [2, 8, 2, 3]],
    ];
    for (const [shape, starts, sizes] of cases) {
      const xs = r.uniform(numel(shape));
      poisonPool(d, xs.length * 4 + 4096, 2);
      const x = Tensor.fromArray(d, xs, shape);
      const s = slice(x, starts, sizes);
      expect(s.shape).toEqual(sizes);
      const sv = await s.toArray();
      expect(exact(sv, sliceRef(xs, shape, starts, sizes)), `slice ${shape} ${starts} ${sizes}`).toBe(0);
      const pd = padTo(s, shape, starts);
      expect(exact(await pd.toArray(), padToRef(sv, sizes, shape, starts)), `padTo ${shape} ${starts} ${sizes}`).toBe(0);
      [x, s, pd].forEach((t) => t.dispose());
    }
  });

  it('gather and its adjoint', async () => {
    const r = rng(TEST_SEED + 4);
    const cases: [number[], number, number[]][] = [
      [[7, 3], 0, [6, 0, 0, 2]],
      [[129, 33], 0, Array.from({ length: 64 }, () => Math.floor(r.next() * 129))],
      [[5, 10, 4], 1, [9, 1, 1, 3, 7]],
      [[4, 6], -1, [5, 0, 7, -1]],   // out-of-range indices give zeros
      [[257], 0, [256, 0, 100]],
    ];
    for (const [shape, axis, ids] of cases) {
      const xs = r.uniform(numel(shape));
      poisonPool(d, xs.length * 4 + 4096, 2);
      const x = Tensor.fromArray(d, xs, shape);
      const idx = Tensor.fromArray(d, ids);
      const ax = axis < 0 ? axis + shape.length : axis;
      const y = gather(x, idx, axis);
      expect(y.shape).toEqual(shape.map((v, i) => (i === ax ? ids.length : v)));
      expect(exact(await y.toArray(), gatherRef(xs, shape, ids, ax)), `gather ${shape} ${axis}`).toBe(0);
      const gy = r.normal(y.size);
      const tg = Tensor.fromArray(d, gy, y.shape);
      const gx = gatherBackward(tg, idx, shape, axis);
      expect(relErr(await gx.toArray(), gatherBackwardRef(gy, ids, shape, ax)), `gatherBackward ${shape}`).toBeLessThan(1e-6);
      [x, idx, y, tg, gx].forEach((t) => t.dispose());
    }
  });

  it('copyInto, including between views of one arena', async () => {
    const arena = Tensor.fromArray(d, new Float32Array(256).fill(0));
    const a = arena.view(0, [10]), b = arena.view(64, [2, 5]);
    const src = Tensor.fromArray(d, Float32Array.from({ length: 10 }, (_, i) => i + 1));
    copyInto(a, src);
    copyInto(b, a);
    expect([...(await b.toArray())]).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(() => copyInto(a, Tensor.fromArray(d, new Float32Array(3)))).toThrow(/\[3\] .*\[10\]/);
    [arena, a, b, src].forEach((t) => t.dispose());
  });

  it('names the shape and the axis in errors', () => {
    const x = Tensor.fromArray(d, new Float32Array(6), [2, 3]);
    expect(() => transpose(x, [0, 0])).toThrow(/\[0, 0\].*\[2, 3\]/);
    expect(() => concat([x, x], 2)).toThrow(/axis 2 .*\[2, 3\]/);
    expect(() => concat([x, Tensor.fromArray(d, new Float32Array(4), [2, 2])], 0)).toThrow(/\[2, 2\] does not match \[2, 3\]/);
    expect(() => slice(x, [1, 1], [2, 1])).toThrow(/\[2, 3\] \(axis 0\)/);
    expect(() => padTo(x, [2, 2], [0, 0])).toThrow(/\[2, 2\] \(axis 1\)/);
    expect(() => gather(x, x, -3)).toThrow(/axis -3 .*\[2, 3\]/);
    x.dispose();
  });
});
