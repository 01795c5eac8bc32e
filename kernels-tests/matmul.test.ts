import { describe, it, expect, beforeAll } from 'vitest';
import { device, rng, relErr, poisonPool, TEST_SEED } from './helpers.js';
import { Tensor } from '../src/tensor/tensor.js';
import { matmul, type MatmulAct } from '../src/tensor/ops/matmul.js';
import type { MatmulConfig } from '../src/tensor/ops/matmul_plan.js';
import { matmulRef } from '../src/tensor/cpu/matmul.js';
import type { Device } from '../src/gpu/device.js';

let d: Device;
beforeAll(async () => {
  d = await device();
});

interface Case {
  batchA: number[];
  batchB: number[];
  M: number;
  N: number;
  K: number;
  transA?: boolean;
  transB?: boolean;
  bias?: boolean;
  act?: MatmulAct;
  config?: Partial<MatmulConfig>;
}

async function check(c: Case, seed: number) {
  const r = rng(seed);
  const aShape = [...c.batchA, ...(c.transA ? [c.K, c.M] : [c.M, c.K])];
  const bShape = [...c.batchB, ...(c.transB ? [c.N, c.K] : [c.K, c.N])];
  const na = aShape.reduce((x, y) => x * y, 1), nb = bShape.reduce((x, y) => x * y, 1);
  const xa = r.normal(na), xb = r.normal(nb), xbias = r.normal(c.N);
  const ref = matmulRef(xa, aShape, xb, bShape, { transA: c.transA, transB: c.transB, bias: c.bias ? xbias : undefined, act: c.act });
  poisonPool(d, ref.data.length * 4 + 1024, 2);
  const a = Tensor.fromArray(d, xa, aShape), b = Tensor.fromArray(d, xb, bShape);
  const bias = c.bias ? Tensor.fromArray(d, xbias, [c.N]) : undefined;
  const o = matmul(a, b, { transA: c.transA, transB: c.transB, bias, act: c.act, config: c.config });
  expect(o.shape).toEqual(ref.shape);
  const arr = await o.toArray();
  const err = relErr(arr, ref.data);
  [a, b, o, bias].forEach((t) => t?.dispose());
  return err;
}

const name = (c: Case) =>
  `${c.batchA.join('x') || '-'}|${c.batchB.join('x') || '-'} ${c.M}x${c.N}x${c.K}${c.transA ? ' tA' : ''}${c.transB ? ' tB' : ''}${c.bias ? ' +bias' : ''}${c.act ? ' ' + c.act : ''}${c.config ? ' ' + JSON.stringify(c.config) : ''}`;

describe(`matmul (seed ${TEST_SEED})`, () => {
  it('odd sizes, all transpose combinations, both variants', async () => {
    const sizes: [number, number, number][] = [
      [1, 1, 1], [7, 5, 3], [33, 17, 9], [1, 129, 7], [129, 1, 33], [4, 4, 4], [36, 44, 20], [64, 64, 64],
      [257, 33, 65], [33, 257, 128], [129, 120, 257],
    ];
    let seed = TEST_SEED;
    for (const [M, N, K] of sizes) {
      for (const transA of [false, true]) {
        for (const transB of [false, true]) {
          const c: Case = { batchA: [], batchB: [], M, N, K, transA, transB };
          expect(await check(c, seed++), name(c)).toBeLessThan(1e-4);
        }
      }
    }
  });
  it('register tiles 4 and 8, workgroup shapes, forced scalar variant', async () => {
    let seed = TEST_SEED + 1000;
    // Each config × transpose pair is its own pipeline (a second of LLVM on lavapipe): keep few.
    for (const config of [
      { tm: 4, tn: 4, wgx: 8, wgy: 1 }, { tm: 8, tn: 8, wgx: 4, wgy: 4 }, { tm: 8, tn: 4, wgx: 16, wgy: 2 },
      { variant: 'scalar', tm: 4, tn: 8, wgx: 8, wgy: 1 },
    ] as Partial<MatmulConfig>[]) {
      for (const [M, N, K] of [[36, 76, 52], [37, 76, 31]]) {
        for (const [transA, transB] of [[false, false], [true, true]]) {
          const c: Case = { batchA: [], batchB: [], M, N, K, transA, transB, config };
          expect(await check(c, seed++), name(c)).toBeLessThan(1e-4);
        }
      }
    }
  });
  it('subgroup variant (when the device has subgroups)', async () => {
    let seed = TEST_SEED + 1500;
    for (const [M, N, K] of [[37, 76, 52], [8, 4, 4], [100, 36, 33]]) {
      for (const [transA, transB] of [[false, false], [true, true], [false, true], [true, false]]) {
        const c: Case = { batchA: [2], batchB: [], M, N, K, transA, transB, bias: true, act: 'relu', config: { variant: 'subgroup', tn: 8 } };
        expect(await check(c, seed++), name(c)).toBeLessThan(1e-4);
      }
    }
  });
  it('batched and broadcast batch', async () => {
    let seed = TEST_SEED + 2000;
    const cases: Case[] = [
      { batchA: [3], batchB: [3], M: 17, N: 12, K: 8 },
      { batchA: [2, 3], batchB: [2, 3], M: 9, N: 7, K: 5, transB: true },
      { batchA: [5], batchB: [], M: 33, N: 16, K: 24, transA: true },
      { batchA: [], batchB: [4], M: 8, N: 33, K: 12 },
      { batchA: [1], batchB: [3], M: 12, N: 20, K: 7, transA: true, transB: true },
      { batchA: [6], batchB: [1], M: 20, N: 8, K: 16, transB: true },
    ];
    for (const c of cases) expect(await check(c, seed++), name(c)).toBeLessThan(1e-4);
  });
  it('fused bias and activation epilogue', async () => {
    let seed = TEST_SEED + 3000;
    for (const act of ['none', 'silu', 'relu'] as MatmulAct[]) {
      for (const [M, N, K] of [[33, 129, 20], [64, 7, 3], [128, 64, 64]]) {
        const c: Case = { batchA: [], batchB: [], M, N, K, bias: true, act, transB: M === 128 };
        expect(await check(c, seed++), name(c)).toBeLessThan(1e-4);
      }
    }
    const c: Case = { batchA: [2], batchB: [], M: 10, N: 12, K: 8, act: 'silu' };
    expect(await check(c, seed++), name(c)).toBeLessThan(1e-4);
  });
  it('writes into a given out tensor', async () => {
    const a = Tensor.fromArray(d, [1, 2, 3, 4], [2, 2]), b = Tensor.fromArray(d, [1, 0, 0, 1], [2, 2]);
    const out = Tensor.empty(d, [2, 2]);
    expect(matmul(a, b, { out })).toBe(out);
    expect([...(await out.toArray())]).toEqual([1, 2, 3, 4]);
    [a, b, out].forEach((t) => t.dispose());
  });
  it('shape errors name both shapes', async () => {
    const a = Tensor.empty(d, [3, 5]), b = Tensor.empty(d, [4, 6]);
    expect(() => matmul(a, b)).toThrow(/\[3, 5\].*\[4, 6\]/);
    const c = Tensor.empty(d, [2, 3, 4]), e = Tensor.empty(d, [3, 4, 2]);
    expect(() => matmul(c, e)).toThrow(/\[2, 3, 4\].*\[3, 4, 2\]/);
    [a, b, c, e].forEach((t) => t.dispose());
  });
});
