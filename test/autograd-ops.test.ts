// Every non-elementwise backward rule against central finite differences of the float64 CPU
// references; second derivatives (uᵀHv) for the compositions the energy and sliced objectives use.
import { describe, it, expect, beforeAll } from 'vitest';
import { device, TEST_SEED } from '../kernels-tests/helpers.js';
import { firstOrder, secondOrder, type CpuFn, type GpuFn } from './gradcheck.js';
import * as op from '../src/autograd/ops.js';
import type { Device } from '../src/gpu/device.js';
import { matmulRef } from '../src/tensor/cpu/matmul.js';
import { conv2dRef, conv2dBackwardInputRef, conv2dBackwardWeightRef } from '../src/tensor/cpu/conv2d.js';
import { reduceRef, sumToRef } from '../src/tensor/cpu/reduce.js';
import { transposeRef, sliceRef, padToRef, concatRef } from '../src/tensor/cpu/layout.js';
import { softmaxRef } from '../src/tensor/cpu/softmax.js';
import { avgPool2dRef, upsampleNearest2dRef } from '../src/tensor/cpu/pool.js';
import { groupNormRef } from '../src/tensor/cpu/norm.js';
import { unaryRef, broadcastRef } from '../src/tensor/cpu/elementwise.js';

let d: Device;
beforeAll(async () => {
  d = await device();
});

const close = (a: number, n: number, tol = 2e-3) => Math.abs(a - n) <= tol * Math.max(1, Math.abs(n));

interface Case {
  name: string;
  gpu: GpuFn;
  cpu: CpuFn;
  shapes: number[][];
  ranges?: [number, number][];
  /** inputs for which to also check uᵀHv */
  second?: number[];
}

const mmCase = (M: number, K: number, N: number, transA: boolean, transB: boolean, batchA = 0, batchB = 0): Case => {
  const as = [...(batchA ? [batchA] : []), ...(transA ? [K, M] : [M, K])];
  const bs = [...(batchB ? [batchB] : []), ...(transB ? [N, K] : [K, N])];
  return {
    name: `matmul ${JSON.stringify(as)}${transA ? 'ᵀ' : ''}·${JSON.stringify(bs)}${transB ? 'ᵀ' : ''}`,
    gpu: (a, b) => op.matmul(a, b, { transA, transB }),
    cpu: (a, b) => matmulRef(a, as, b, bs, { transA, transB }).data,
    shapes: [as, bs],
  };
};

const expandRef = (x: ArrayLike<number>, xs: number[], to: number[]) => {
  const f = broadcastRef(xs, to);
  const n = to.reduce((p, q) => p * q, 1);
  return Float64Array.from({ length: n }, (_, i) => x[f(i)]);
};

const cases: Case[] = [
  mmCase(5, 7, 3, false, false),
  mmCase(5, 7, 3, true, false),
  mmCase(5, 7, 3, false, true),
  mmCase(5, 7, 3, true, true),
  mmCase(4, 6, 5, false, false, 3, 3),
  mmCase(4, 6, 5, false, false, 3, 0),
  {
    name: 'linear x·W + b',
    gpu: (x, w, b) => op.linear(x, w, b),
    cpu: (x, w, b) => matmulRef(x, [6, 5], w, [5, 3], { bias: b }).data,
    shapes: [[6, 5], [5, 3], [3]],
  },
  { name: 'sum over axis 1', gpu: (x) => op.sum(x, 1), cpu: (x) => reduceRef('sum', x, [3, 4, 5], [1]).data, shapes: [[3, 4, 5]] },
  { name: 'mean over axes [0, 2] keepDims', gpu: (x) => op.mean(x, [0, 2], true), cpu: (x) => reduceRef('mean', x, [3, 4, 5], [0, 2]).data, shapes: [[3, 4, 5]] },
  { name: 'sumTo [3,1,5]→[1,5]', gpu: (x) => op.sumTo(x, [1, 5]), cpu: (x) => sumToRef(x, [3, 4, 5], [1, 5]), shapes: [[3, 4, 5]] },
  { name: 'expand [4,1]→[3,4,5]', gpu: (x) => op.expand(x, [3, 4, 5]), cpu: (x) => expandRef(x, [4, 1], [3, 4, 5]), shapes: [[4, 1]] },
  { name: 'transpose [0,2,1]', gpu: (x) => op.transpose(x, [0, 2, 1]), cpu: (x) => transposeRef(x, [2, 3, 5], [0, 2, 1]), shapes: [[2, 3, 5]] },
  { name: 'reshape', gpu: (x) => op.square(op.reshape(x, [5, 6])), cpu: (x) => unaryRef('square', x), shapes: [[2, 3, 5]] },
  {
    name: 'concat axis 1',
    gpu: (a, b) => op.concat([a, b], 1),
    cpu: (a, b) => concatRef([{ data: a, shape: [3, 2] }, { data: b, shape: [3, 4] }], 1),
    shapes: [[3, 2], [3, 4]],
  },
  { name: 'slice', gpu: (x) => op.slice(x, [1, 0, 2], [2, 3, 2]), cpu: (x) => sliceRef(x, [4, 3, 5], [1, 0, 2], [2, 3, 2]), shapes: [[4, 3, 5]] },
  { name: 'padTo', gpu: (x) => op.padTo(x, [4, 5], [1, 2]), cpu: (x) => padToRef(x, [2, 3], [4, 5], [1, 2]), shapes: [[2, 3]] },
  { name: 'softmax', gpu: (x) => op.softmax(x, -1), cpu: (x) => softmaxRef('softmax', x, [3, 7], 1), shapes: [[3, 7]], second: [0] },
  { name: 'avgPool2d k=2', gpu: (x) => op.avgPool2d(x, 2), cpu: (x) => avgPool2dRef(x, [2, 3, 4, 6], 2), shapes: [[2, 3, 4, 6]] },
  { name: 'upsampleNearest2d k=2', gpu: (x) => op.upsampleNearest2d(x, 2), cpu: (x) => upsampleNearest2dRef(x, [2, 3, 3, 2], 2), shapes: [[2, 3, 3, 2]] },
  {
    name: 'conv2d 3×3 stride 2 pad 1 with bias',
    gpu: (x, w, b) => op.conv2d(x, w, b, { stride: 2, padding: 1 }),
    cpu: (x, w, b) => conv2dRef(x, [2, 3, 7, 6], w, [5, 3, 3, 3], { bias: b, stride: 2, padding: 1 }).data,
    shapes: [[2, 3, 7, 6], [5, 3, 3, 3], [5]],
  },
  {
    name: 'conv2dBackwardInput as an op of (g, w)',
    gpu: (g, w) => op.conv2dBackwardInput(g, w, [2, 3, 6, 6], { padding: 1 }),
    cpu: (g, w) => conv2dBackwardInputRef(g, [2, 4, 6, 6], w, [4, 3, 3, 3], [2, 3, 6, 6], { padding: 1 }),
    shapes: [[2, 4, 6, 6], [4, 3, 3, 3]],
  },
  {
    name: 'conv2dBackwardWeight as an op of (x, g)',
    gpu: (x, g) => op.conv2dBackwardWeight(x, g, [4, 3, 3, 3], { padding: 1 }),
    cpu: (x, g) => conv2dBackwardWeightRef(x, [2, 3, 6, 6], g, [2, 4, 6, 6], [4, 3, 3, 3], { padding: 1 }),
    shapes: [[2, 3, 6, 6], [2, 4, 6, 6]],
  },
  {
    name: 'groupNorm + SiLU with affine',
    gpu: (x, g, b) => op.groupNorm(x, 2, g, b, { silu: true }),
    cpu: (x, g, b) => groupNormRef(x, [2, 4, 3, 3], 2, g, b, 1e-5, true).y,
    shapes: [[2, 4, 3, 3], [4], [4]],
    second: [0],
  },
  {
    // the energy-MLP path: E(x) = Σ softplus(x·W₁ + b₁)·w₂ — Hessians wrt x and W₁ drive DEEN and SSM
    name: 'softplus MLP energy',
    gpu: (x, w1, b1, w2) => op.linear(op.softplus(op.linear(x, w1, b1)), w2),
    cpu: (x, w1, b1, w2) => {
      const h = matmulRef(x, [4, 2], w1, [2, 6], { bias: b1 }).data;
      return matmulRef(unaryRef('softplus', h), [4, 6], w2, [6, 1]).data;
    },
    shapes: [[4, 2], [2, 6], [6], [6, 1]],
    second: [0, 1],
  },
  {
    name: 'SiLU MLP score',
    gpu: (x, w1, w2) => op.matmul(op.silu(op.matmul(x, w1)), w2),
    cpu: (x, w1, w2) => matmulRef(unaryRef('silu', matmulRef(x, [5, 2], w1, [2, 7]).data), [5, 7], w2, [7, 2]).data,
    shapes: [[5, 2], [2, 7], [7, 2]],
    second: [0, 1],
  },
];

describe(`autograd: backward rules vs finite differences of the float64 references (seed ${TEST_SEED})`, () => {
  for (const c of cases) {
    it(c.name, async () => {
      const r1 = await firstOrder(d, c.gpu, c.cpu, c.shapes, { seed: TEST_SEED, ranges: c.ranges });
      for (const r of r1) expect(close(r.analytic, r.numeric), `${c.name} d/dx${r.i}: ${r.analytic} vs ${r.numeric}`).toBe(true);
      for (const i of c.second ?? []) {
        const r2 = await secondOrder(d, c.gpu, c.cpu, c.shapes, i, { seed: TEST_SEED + 1, ranges: c.ranges });
        expect(close(r2.analytic, r2.numeric, 5e-3), `${c.name} uᵀHv wrt x${i}: ${r2.analytic} vs ${r2.numeric}`).toBe(true);
      }
    });
  }
});
