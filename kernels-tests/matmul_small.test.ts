// The small/skinny matmul kernels (shaders/matmul_small.wgsl): narrow N, tiny K, short M and split
// reductions, against the float64 reference, with the pool NaN-poisoned.
import { describe, it, expect, beforeAll } from 'vitest';
import { device, rng, relErr, poisonPool, TEST_SEED } from './helpers.js';
import { Tensor } from '../src/tensor/tensor.js';
import { matmul, type MatmulAct } from '../src/tensor/ops/matmul.js';
import { defaultMatmulConfig, smallMatmulKind } from '../src/tensor/ops/matmul_plan.js';
import { matmulSmall } from '../src/tensor/ops/matmul_small.js';
import { matmulRef } from '../src/tensor/cpu/matmul.js';
import type { Device } from '../src/gpu/device.js';

let d: Device;
beforeAll(async () => {
  d = await device();
});

interface Case {
  batchA?: number[];
  batchB?: number[];
  M: number;
  N: number;
  K: number;
  transA?: boolean;
  transB?: boolean;
  bias?: boolean;
  act?: MatmulAct;
  split?: number;
}

const name = (c: Case) =>
  `${(c.batchA ?? []).join('x') || '-'}|${(c.batchB ?? []).join('x') || '-'} ${c.M}x${c.N}x${c.K}${c.transA ? ' tA' : ''}${c.transB ? ' tB' : ''}${c.bias ? ' +bias' : ''}${c.act ? ' ' + c.act : ''}${c.split ? ' split ' + c.split : ''}`;

async function check(c: Case, seed: number): Promise<number> {
  const r = rng(seed);
  const batchA = c.batchA ?? [], batchB = c.batchB ?? [];
  const aShape = [...batchA, ...(c.transA ? [c.K, c.M] : [c.M, c.K])];
  const bShape = [...batchB, ...(c.transB ? [c.N, c.K] : [c.K, c.N])];
  const na = aShape.reduce((x, y) => x * y, 1), nb = bShape.reduce((x, y) => x * y, 1);
  const xa = r.normal(na), xb = r.normal(nb), xbias = r.normal(c.N);
  const ref = matmulRef(xa, aShape, xb, bShape, { transA: c.transA, transB: c.transB, bias: c.bias ? xbias : undefined, act: c.act });
  poisonPool(d, Math.max(ref.data.length * 4 * 4, 4096) + 1024, 2);
  const a = Tensor.fromArray(d, xa, aShape), b = Tensor.fromArray(d, xb, bShape);
  const bias = c.bias ? Tensor.fromArray(d, xbias, [c.N]) : undefined;
  let o: Tensor;
  if (c.split !== undefined) {
    const nA = batchA.reduce((x, y) => x * y, 1), nB = batchB.reduce((x, y) => x * y, 1);
    o = Tensor.empty(d, ref.shape);
    const q = { M: c.M, N: c.N, K: c.K, batch: Math.max(nA, nB), transA: !!c.transA, transB: !!c.transB };
    const ok = matmulSmall(d, {
      a, b, out: o, bias, act: { none: 0, silu: 1, relu: 2 }[c.act ?? 'none'], q,
      sa: nA === 1 ? 0 : c.M * c.K, sb: nB === 1 ? 0 : c.K * c.N, split: c.split,
    });
    expect(ok).toBe(true);
  } else {
    o = matmul(a, b, { transA: c.transA, transB: c.transB, bias, act: c.act });
  }
  expect(o.shape).toEqual(ref.shape);
  const arr = await o.toArray();
  const err = relErr(arr, ref.data);
  [a, b, o, bias].forEach((t) => t?.dispose());
  return err;
}

const TRANS: [boolean, boolean][] = [[false, false], [true, false], [false, true], [true, true]];

describe(`small matmul kernels (seed ${TEST_SEED})`, () => {
  it('default config picks them by shape', async () => {
    const q = (M: number, N: number, K: number) => ({ M, N, K, batch: 1, transA: false, transB: false });
    expect(smallMatmulKind(q(1024, 2, 128))).toBe('rows');
    expect(smallMatmulKind(q(1024, 128, 2))).toBe('outer');
    expect(smallMatmulKind(q(2, 128, 1024))).toBe('cols');
    expect(smallMatmulKind(q(128, 128, 1024))).toBe(null);
    expect(defaultMatmulConfig(d, q(128, 2, 1024)).variant).toBe('small');
    expect(defaultMatmulConfig(d, q(128, 128, 128)).variant).not.toBe('small');
  });

  it('narrow N (N in 1,2,3,4,7,8), every transpose, aligned and unaligned K', async () => {
    let seed = TEST_SEED;
    for (const M of [1, 7, 257, 1031]) {
      for (const N of [1, 2, 3, 4, 7, 8]) {
        const [transA, transB] = TRANS[(M + N) % 4];
        for (const K of [M === 1031 ? 36 : 64, 33]) {
          const c: Case = { M, N, K, transA, transB };
          expect(await check(c, seed++), name(c)).toBeLessThan(1e-4);
        }
      }
      for (const [transA, transB] of M === 7 || M === 1031 ? TRANS : []) {
        const c: Case = { M, N: 5, K: 20, transA, transB };
        expect(await check(c, seed++), name(c)).toBeLessThan(1e-4);
      }
    }
  });

  it('tiny K (K in 1,2,3,4,7,8), every transpose', async () => {
    let seed = TEST_SEED + 1000;
    for (const M of [1, 7, 257, 1031]) {
      for (const K of [1, 2, 3, 4, 7, 8]) {
        const [transA, transB] = TRANS[(M + K) % 4];
        const N = [9, 33, 128, 130][K % 4];
        const c: Case = { M, N, K, transA, transB };
        expect(await check(c, seed++), name(c)).toBeLessThan(1e-4);
      }
      for (const [transA, transB] of TRANS) {
        const c: Case = { M, N: 44, K: 2, transA, transB };
        expect(await check(c, seed++), name(c)).toBeLessThan(1e-4);
      }
    }
  });

  it('short M (M in 1,2,3,4,7,8: the transposed problem), every transpose, split reductions', async () => {
    let seed = TEST_SEED + 2000;
    for (const M of [1, 2, 3, 4, 7, 8]) {
      for (const [transA, transB] of TRANS) {
        const N = [12, 257, 128, 33][M % 4];
        const K = transA ? 1031 : 40;
        const c: Case = { M, N, K, transA, transB };
        expect(await check(c, seed++), name(c)).toBeLessThan(1e-4);
      }
    }
  });

  it('weight-gradient shapes: long reductions, default and forced splits', async () => {
    let seed = TEST_SEED + 3000;
    const cases: Case[] = [
      { M: 128, N: 2, K: 1024, transA: true }, // [B,H]ᵀ·[B,2]
      { M: 2, N: 128, K: 1024, transA: true }, // [B,2]ᵀ·[B,H]
      { M: 33, N: 3, K: 1031, transA: true },
      { M: 7, N: 129, K: 1031, transA: true },
      { M: 1, N: 1, K: 4099 },
      { M: 128, N: 2, K: 1024, transA: true, split: 5 },
      { M: 2, N: 130, K: 1031, transA: true, split: 3 },
      { M: 257, N: 7, K: 1031, transB: true, split: 9, bias: true, act: 'silu' },
      { M: 5, N: 40, K: 333, transA: true, transB: true, split: 4, bias: true, act: 'relu' },
      { batchA: [3], batchB: [3], M: 17, N: 2, K: 300, transA: true, split: 2, bias: true },
    ];
    for (const c of cases) expect(await check(c, seed++), name(c)).toBeLessThan(1e-4);
  });

  it('batched and broadcast batch, bias and activation epilogues', async () => {
    let seed = TEST_SEED + 4000;
    const cases: Case[] = [];
    // one activation per kernel (each combination is its own pipeline: a second of LLVM on lavapipe)
    const acts: MatmulAct[] = ['none', 'silu', 'relu'];
    for (let i = 0; i < 3; i++) {
      cases.push({ batchA: [3], batchB: [3], M: 257, N: 2, K: 128, bias: true, act: acts[i] });
      cases.push({ batchA: [2, 2], batchB: [], M: 33, N: 128, K: 2, transB: true, bias: true, act: acts[(i + 1) % 3] });
      cases.push({ batchA: [2, 2], batchB: [], M: 33, N: 13, K: 3, transA: true, bias: true, act: acts[(i + 2) % 3] });
    }
    cases.push({ batchA: [], batchB: [4], M: 3, N: 37, K: 64, transA: true, bias: true, act: 'silu' });
    cases.push({ batchA: [5], batchB: [1], M: 7, N: 7, K: 7, transA: true, transB: true });
    cases.push({ batchA: [1], batchB: [6], M: 1031, N: 8, K: 8, bias: true, act: 'silu' });
    cases.push({ batchA: [2], batchB: [2], M: 8, N: 260, K: 1030, transA: true });
    for (const c of cases) expect(await check(c, seed++), name(c)).toBeLessThan(1e-4);
  });
});
