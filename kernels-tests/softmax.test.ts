import { describe, it, expect, beforeAll } from 'vitest';
import { device, rng, relErr, poisonPool, TEST_SEED, itUnder } from './helpers.js';
import { Tensor } from '../src/tensor/tensor.js';
import { softmax, logSoftmax, softmaxBackward, logSoftmaxBackward } from '../src/tensor/ops/softmax.js';
import { softmaxRef, softmaxBackwardRef } from '../src/tensor/cpu/softmax.js';
import type { Device } from '../src/gpu/device.js';

let d: Device;
beforeAll(async () => {
  d = await device();
});

const numel = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

// Both launch styles run on every adapter: GPU-style trees and CPU-style thread-per-row.
for (const style of ['gpu', 'cpu'] as const)
describe(`softmax ${style} style (seed ${TEST_SEED})`, () => {
  // the policy's rowStyle forces the style for this block's tests (Device.withPolicy)
  const it = itUnder({ rowStyle: style });
  const cases: [number[], number][] = [
    [[1], -1],
    [[7], 0],
    [[33, 5], -1],
    [[33, 5], 0],
    [[129, 257], -1],
    [[3, 1000], 1],
    [[2, 7, 33], 1],
    [[4, 33, 3], -2],
    [[5, 2049], -1],
    [[1, 1], -1],
    [[70001, 3], -1],   // folded 2-D grid of row workgroups
  ];
  for (const op of ['softmax', 'logSoftmax'] as const) {
    it(`${op} forward and backward`, async () => {
      const r = rng(TEST_SEED + op.length);
      const fwd = op === 'softmax' ? softmax : logSoftmax;
      const bwd = op === 'softmax' ? softmaxBackward : logSoftmaxBackward;
      for (const [shape, axis] of cases) {
        const n = numel(shape);
        const xs = r.uniform(n, -8, 8);
        xs[0] = 60; // large logits must not overflow
        const gs = r.normal(n);
        poisonPool(d, n * 4 + 4096, 2);
        const x = Tensor.fromArray(d, xs, shape);
        const y = fwd(x, axis);
        const ax = axis < 0 ? axis + shape.length : axis;
        const yv = await y.toArray();
        expect(relErr(yv, softmaxRef(op, xs, shape, ax)), `${op} ${shape} axis ${axis}`).toBeLessThan(1e-5);
        const g = Tensor.fromArray(d, gs, shape);
        const gx = bwd(y, g, axis);
        expect(relErr(await gx.toArray(), softmaxBackwardRef(op, yv, gs, shape, ax)), `${op}' ${shape} axis ${axis}`).toBeLessThan(1e-4);
        [x, y, g, gx].forEach((t) => t.dispose());
      }
    });
  }
  it('names the shape and the axis in errors', () => {
    const x = Tensor.fromArray(d, new Float32Array(6), [2, 3]);
    expect(() => softmax(x, 2)).toThrow(/axis 2 .*\[2, 3\]/);
    expect(() => logSoftmax(x, -3)).toThrow(/axis -3 .*\[2, 3\]/);
    const g = Tensor.fromArray(d, new Float32Array(6), [3, 2]);
    expect(() => softmaxBackward(x, g)).toThrow(/\[3, 2\] .*\[2, 3\]/);
    [x, g].forEach((t) => t.dispose());
  });
});
