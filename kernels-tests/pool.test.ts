import { describe, it, expect, beforeAll } from 'vitest';
import { device, rng, relErr, sumErr, poisonPool, TEST_SEED } from './helpers.js';
import { Tensor } from '../src/tensor/tensor.js';
import { avgPool2d, upsampleNearest2d, avgPool2dBackward, upsampleNearest2dBackward } from '../src/tensor/ops/pool.js';
import { avgPool2dRef, upsampleNearest2dRef } from '../src/tensor/cpu/pool.js';
import type { Device } from '../src/gpu/device.js';

let d: Device;
beforeAll(async () => {
  d = await device();
});

const numel = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

describe(`pool (seed ${TEST_SEED})`, () => {
  const cases: [number[], number][] = [
    [[1, 1, 2, 2], 2],
    [[1, 7, 6, 6], 3],
    [[2, 33, 8, 4], 2],
    [[3, 5, 32, 32], 2],
    [[1, 1, 7, 7], 1],
    [[129, 6, 6], 3],
    [[2, 257, 4, 4], 4],
    // k = 2 takes the vec2 kernels (pool2.wgsl, pool2_down.wgsl): odd low-resolution sizes, rank 3
    [[3, 5, 14, 14], 2],
    [[7, 6, 10], 2],
  ];
  it('avgPool2d and its adjoint', async () => {
    const r = rng(TEST_SEED + 1);
    for (const [shape, k] of cases) {
      const xs = r.uniform(numel(shape));
      poisonPool(d, xs.length * 4 + 4096, 2);
      const x = Tensor.fromArray(d, xs, shape);
      const y = avgPool2d(x, k);
      const oshape = [...shape.slice(0, -2), shape[shape.length - 2] / k, shape[shape.length - 1] / k];
      expect(y.shape).toEqual(oshape);
      // window means of signed values can cancel: judged against the mean of |x| over each window
      const size = avgPool2dRef(xs.map(Math.abs), shape, k);
      expect(sumErr(await y.toArray(), avgPool2dRef(xs, shape, k), size), `avgPool ${shape} k=${k}`).toBeLessThan(1e-6);
      const gs = r.normal(y.size);
      const g = Tensor.fromArray(d, gs, oshape);
      const gx = avgPool2dBackward(g, k);
      expect(gx.shape).toEqual(shape);
      expect(relErr(await gx.toArray(), upsampleNearest2dRef(gs, oshape, k, 1 / (k * k))), `avgPool' ${shape}`).toBeLessThan(1e-6);
      [x, y, g, gx].forEach((t) => t.dispose());
    }
  });
  it('upsampleNearest2d and its adjoint', async () => {
    const r = rng(TEST_SEED + 2);
    for (const [big, k] of cases) {
      const shape = [...big.slice(0, -2), big[big.length - 2] / k, big[big.length - 1] / k];
      const xs = r.uniform(numel(shape));
      poisonPool(d, numel(big) * 4 + 4096, 2);
      const x = Tensor.fromArray(d, xs, shape);
      const y = upsampleNearest2d(x, k);
      expect(y.shape).toEqual(big);
      expect(relErr(await y.toArray(), upsampleNearest2dRef(xs, shape, k)), `upsample ${shape} k=${k}`).toBeLessThan(1e-6);
      const gs = r.normal(y.size);
      const g = Tensor.fromArray(d, gs, big);
      const gx = upsampleNearest2dBackward(g, k);
      expect(gx.shape).toEqual(shape);
      expect(sumErr(await gx.toArray(), avgPool2dRef(gs, big, k, 1), avgPool2dRef(gs.map(Math.abs), big, k, 1)), `upsample' ${shape}`).toBeLessThan(1e-6);
      [x, y, g, gx].forEach((t) => t.dispose());
    }
  });
  it('names the shape and k in errors', () => {
    const x = Tensor.fromArray(d, new Float32Array(2 * 3 * 5 * 4), [2, 3, 5, 4]);
    expect(() => avgPool2d(x, 2)).toThrow(/\[2, 3, 5, 4\] .*k=2/);
    expect(() => upsampleNearest2dBackward(x, 0)).toThrow(/k must be a positive integer/);
    expect(() => upsampleNearest2d(Tensor.fromArray(d, [1]), 2)).toThrow(/\[1\]/);
    x.dispose();
  });
});
