import { describe, it, expect, beforeAll } from 'vitest';
import { device, rng, relErr, poisonPool, TEST_SEED } from './helpers.js';
import { Tensor } from '../src/tensor/tensor.js';
import { unary, binary, UNARY, BINARY, type UnaryOp, type BinaryOp } from '../src/tensor/ops/elementwise.js';
import { unaryRef, binaryRef } from '../src/tensor/cpu/elementwise.js';
import type { Device } from '../src/gpu/device.js';

let d: Device;
beforeAll(async () => {
  d = await device();
});

// Inputs per op kept inside each function's domain.
const domain: Partial<Record<UnaryOp, [number, number]>> = {
  log: [0.05, 5], sqrt: [0, 5], rsqrt: [0.05, 5], powScalar: [0, 3], reciprocal: [0.2, 3], exp: [-5, 5],
};

describe(`elementwise (seed ${TEST_SEED})`, () => {
  // multiples of 4 take the vec4 kernels (elementwise_vec4.wgsl), the others the f32 ones
  const sizes = [1, 7, 8, 33, 257, 4100, 70001];
  for (const op of Object.keys(UNARY) as UnaryOp[]) {
    it(`unary ${op}`, async () => {
      const r = rng(TEST_SEED + UNARY[op]);
      for (const n of sizes) {
        const [lo, hi] = domain[op] ?? [-4, 4];
        const x = r.uniform(n, lo, hi);
        poisonPool(d, n * 4 + 256, 2);
        const a = Tensor.fromArray(d, x, [n]);
        const o = unary(op, a, 1.7, 2.3);
        const out = await o.toArray();
        const ref = unaryRef(op, x, 1.7, 2.3);
        expect(relErr(out, ref), `${op} n=${n}`).toBeLessThan(1e-5);
        a.dispose();
        o.dispose();
      }
    });
  }
  const shapes: [number[], number[]][] = [
    [[7], [7]],
    [[33, 5], [5]],
    [[3, 1, 9], [1, 4, 1]],
    [[2, 3, 5, 7], [3, 1, 7]],
    [[1], [129, 3]],
    [[257, 65], [257, 65]],
    [[4, 9], [4, 9]],
    [[2, 3, 64], [2, 3, 64]],
  ];
  for (const op of Object.keys(BINARY) as BinaryOp[]) {
    it(`binary ${op} with broadcasting`, async () => {
      const r = rng(TEST_SEED + 100 + BINARY[op]);
      for (const [sa, sb] of shapes) {
        const na = sa.reduce((x, y) => x * y, 1), nb = sb.reduce((x, y) => x * y, 1);
        const lo = op === 'pow' ? 0.1 : -2;
        const xa = r.uniform(na, lo, 2), xb = op === 'div' ? r.uniform(nb, 0.5, 2) : r.uniform(nb, op === 'pow' ? -2 : -2, 2);
        poisonPool(d, Math.max(na, nb) * 4 * 130 + 256, 2);
        const a = Tensor.fromArray(d, xa, sa), b = Tensor.fromArray(d, xb, sb);
        const o = binary(op, a, b, 0.7, -1.3);
        const ref = binaryRef(op, xa, sa, xb, sb, 0.7, -1.3);
        expect(o.shape).toEqual(ref.shape);
        expect(relErr(await o.toArray(), ref.data), `${op} ${sa} ${sb}`).toBeLessThan(1e-5);
        [a, b, o].forEach((t) => t.dispose());
      }
    });
  }
  it('names both shapes when they do not broadcast', async () => {
    const a = Tensor.fromArray(d, new Float32Array(6), [2, 3]);
    const b = Tensor.fromArray(d, new Float32Array(8), [2, 4]);
    expect(() => binary('add', a, b)).toThrow(/\[2, 3\] and \[2, 4\]/);
  });
});

describe('in-place and broadcast helpers', () => {
  it('accumulate: out ← β·out + α·a', async () => {
    const r = rng(TEST_SEED + 999);
    for (const n of [1, 33, 4099, 4100]) {
      const x = r.uniform(n), y = r.uniform(n);
      const a = Tensor.fromArray(d, x), o = Tensor.fromArray(d, y);
      const { accumulate } = await import('../src/tensor/ops/elementwise.js');
      accumulate(o, a, 0.3, -2);
      const ref = Float64Array.from(y, (v, i) => -2 * v + 0.3 * x[i]);
      expect(relErr(await o.toArray(), ref)).toBeLessThan(1e-6);
    }
  });
  it('expand broadcasts to a larger shape and rejects a bad one', async () => {
    const { expand } = await import('../src/tensor/ops/elementwise.js');
    const r = rng(TEST_SEED + 998);
    const x = r.uniform(7 * 3);
    poisonPool(d, 5 * 7 * 3 * 4 + 256, 2);
    const t = Tensor.fromArray(d, x, [7, 1, 3]);
    const e = expand(t, [2, 7, 5, 3]);
    const out = await e.toArray();
    const ref = binaryRef('left', x, [7, 1, 3], new Float32Array(2 * 7 * 5 * 3), [2, 7, 5, 3]);
    expect(relErr(out, ref.data)).toBe(0);
    expect(() => expand(t, [7, 2, 2])).toThrow(/\[7, 1, 3\]/);
  });
});
