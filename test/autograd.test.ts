import { describe, it, expect, beforeAll } from 'vitest';
import { device, TEST_SEED } from '../kernels-tests/helpers.js';
import { firstOrder, secondOrder, type CpuFn, type GpuFn } from './gradcheck.js';
import * as op from '../src/autograd/ops.js';
import { unaryRef, binaryRef } from '../src/tensor/cpu/elementwise.js';
import type { Device } from '../src/gpu/device.js';
import { Tensor } from '../src/tensor/tensor.js';
import { grad, backward, noGrad } from '../src/autograd/engine.js';

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
  second?: boolean; // also check uᵀHv (ops used by the energy / sliced objectives)
}

const un = (name: Parameters<typeof unaryRef>[0], f: (x: Tensor) => Tensor, ranges?: [number, number][], second = true): Case => ({
  name, gpu: f, cpu: (x) => unaryRef(name, x), shapes: [[7, 5]], ranges, second,
});
const bin = (name: Parameters<typeof binaryRef>[0], f: (a: Tensor, b: Tensor) => Tensor, shapes: number[][], ranges?: [number, number][]): Case => ({
  name: `${name} ${JSON.stringify(shapes)}`, gpu: f, cpu: (a, b) => binaryRef(name, a, shapes[0], b, shapes[1]).data, shapes, ranges, second: true,
});

export const elementwiseCases: Case[] = [
  un('exp', op.exp),
  un('log', op.log, [[0.3, 2]]),
  un('sqrt', op.sqrt, [[0.3, 2]]),
  un('square', op.square),
  un('tanh', op.tanh),
  un('sigmoid', op.sigmoid),
  un('silu', op.silu, [[-3, 3]]),
  un('softplus', op.softplus, [[-3, 3]]),
  un('neg', op.neg),
  un('sin', op.sin),
  un('cos', op.cos),
  { name: 'affine', gpu: (x) => op.affine(x, 1.5, -0.25), cpu: (x) => unaryRef('affine', x, 1.5, -0.25), shapes: [[9]], second: true },
  { name: 'powScalar', gpu: (x) => op.powScalar(x, 3), cpu: (x) => unaryRef('powScalar', x, 3), shapes: [[9]], ranges: [[0.2, 2]], second: true },
  bin('add', op.add, [[4, 3], [3]]),
  bin('sub', op.sub, [[4, 1], [1, 5]]),
  bin('mul', op.mul, [[2, 3, 4], [3, 1]]),
  bin('div', op.div, [[5, 3], [5, 3]], [[-1, 1], [0.5, 2]]),
];

describe(`autograd: elementwise rules vs finite differences (seed ${TEST_SEED})`, () => {
  for (const c of elementwiseCases) {
    it(c.name, async () => {
      const r1 = await firstOrder(d, c.gpu, c.cpu, c.shapes, { seed: TEST_SEED, ranges: c.ranges });
      for (const r of r1) expect(close(r.analytic, r.numeric), `${c.name} d/dx${r.i}: ${r.analytic} vs ${r.numeric}`).toBe(true);
      if (c.second) {
        for (let i = 0; i < c.shapes.length; i++) {
          const r2 = await secondOrder(d, c.gpu, c.cpu, c.shapes, i, { seed: TEST_SEED + 1, ranges: c.ranges, h: 1e-3 });
          expect(close(r2.analytic, r2.numeric, 5e-3), `${c.name} uᵀHv wrt x${i}: ${r2.analytic} vs ${r2.numeric}`).toBe(true);
        }
      }
    });
  }
});

describe('autograd engine', () => {
  it('accumulates gradients of a shared input used twice (x·x + x)', async () => {
    const x = Tensor.fromArray(d, [0.5, -1.5, 2], [3]);
    x.requiresGrad = true;
    const y = op.sum(op.add(op.mul(x, x), x));
    backward(y);
    expect(Array.from(await x.grad!.toArray())).toEqual([2, -2, 5]);
  });
  it('noGrad records nothing and grad() says so', () => {
    const x = Tensor.fromArray(d, [1, 2], [2]);
    x.requiresGrad = true;
    const y = noGrad(() => op.sum(op.square(x)));
    expect(y.requiresGrad).toBe(false);
    expect(() => grad(y, [x])).toThrow(/does not depend/);
  });
  it('grad of a non-scalar output without gradOutput names the shape', () => {
    const x = Tensor.fromArray(d, [1, 2], [2]);
    x.requiresGrad = true;
    expect(() => grad(op.square(x), [x])).toThrow(/\[2\]/);
  });
});
