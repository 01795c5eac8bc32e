import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { spawnSync } from 'node:child_process';
import { device, rng, relErr, poisonPool, TEST_SEED, forEachTexelOutput } from './helpers.js';
import { Tensor } from '../src/tensor/tensor.js';
import { matmul, type MatmulAct } from '../src/tensor/ops/matmul.js';
import { matmulRef } from '../src/tensor/cpu/matmul.js';
import { DEFAULT_TEX_TILE, type TexTile } from '../src/tensor/ops/matmul_tex.js';
import type { Device } from '../src/gpu/device.js';

// The texture GEMM (src/tensor/ops/matmul_tex.ts), forced with config.variant 'texture' on every
// adapter that has subgroups of at least 8 lanes.
let d: Device;
let usable = false;
beforeAll(async () => {
  d = await device();
  usable = d.caps.subgroups;
  if (!usable) console.warn('matmul_tex tests skipped: the adapter has no `subgroups` feature with subgroups of ≥ 8 lanes');
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
  const o = matmul(a, b, { transA: c.transA, transB: c.transB, bias, act: c.act, config: { variant: 'texture' } });
  expect(o.shape).toEqual(ref.shape);
  const err = relErr(await o.toArray(), ref.data);
  [a, b, o, bias].forEach((t) => t?.dispose());
  return err;
}

const name = (c: Case) =>
  `${c.batchA.join('x') || '-'}|${c.batchB.join('x') || '-'} ${c.M}x${c.N}x${c.K}${c.transA ? ' tA' : ''}${c.transB ? ' tB' : ''}${c.bias ? ' +bias' : ''}${c.act ? ' ' + c.act : ''}`;

// every test that packs runs with staged and direct texel outputs (helpers.ts forEachTexelOutput)
forEachTexelOutput((staging, it) => {
describe(`matmul texture variant (seed ${TEST_SEED})`, () => {
  it('odd sizes, all transposes', async (ctx) => {
    if (!usable) return ctx.skip();
    let seed = TEST_SEED;
    const sizes: [number, number, number][] = [[1, 1, 1], [7, 5, 3], [33, 17, 9], [1, 129, 7], [129, 1, 33], [257, 33, 65], [129, 120, 257], [64, 64, 64]];
    for (const [M, N, K] of sizes) {
      for (const [transA, transB] of [[false, false], [true, false], [false, true], [true, true]]) {
        const c: Case = { batchA: [], batchB: [], M, N, K, transA, transB };
        expect(await check(c, seed++), name(c)).toBeLessThan(1e-4);
      }
    }
  });
  it('batched, broadcast batch, bias + activation', async (ctx) => {
    if (!usable) return ctx.skip();
    let seed = TEST_SEED + 100;
    const cases: Case[] = [
      { batchA: [3], batchB: [3], M: 17, N: 12, K: 8, bias: true, act: 'relu' },
      { batchA: [2, 3], batchB: [2, 3], M: 9, N: 37, K: 5, transB: true, act: 'silu' },
      { batchA: [5], batchB: [], M: 33, N: 16, K: 24, transA: true, bias: true },
      { batchA: [], batchB: [4], M: 8, N: 33, K: 12 },
      { batchA: [1], batchB: [3], M: 12, N: 20, K: 7, transA: true, transB: true, bias: true, act: 'silu' },
      { batchA: [2], batchB: [], M: 49, N: 128, K: 49, bias: true },
      // whole-texel rows (C % 4 == 0) on both sides: the vec4 packing pass, batched and broadcast
      { batchA: [3], batchB: [3], M: 21, N: 36, K: 44, bias: true },
      { batchA: [2, 2], batchB: [], M: 13, N: 8, K: 20, act: 'relu' },
    ];
    for (const c of cases) expect(await check(c, seed++), name(c)).toBeLessThan(1e-4);
  });
  it('other tiles: explicit 16x4 and 16x8, generic loops', async (ctx) => {
    if (!usable) return ctx.skip();
    let seed = TEST_SEED + 200;
    const saved = { ...DEFAULT_TEX_TILE };
    try {
      for (const tile of [{ tm: 16, tn: 4, explicit: true }, { tm: 16, tn: 8, explicit: true }, { tm: 8, tn: 8, explicit: false }] as TexTile[]) {
        Object.assign(DEFAULT_TEX_TILE, tile);
        for (const [transA, transB, K] of [[false, false, 29], [true, true, 29], [false, false, 32]] as [boolean, boolean, number][]) {
          const c: Case = { batchA: [2], batchB: [], M: 37, N: 70, K, transA, transB, bias: true };
          expect(await check(c, seed++), `${name(c)} ${JSON.stringify(tile)}`).toBeLessThan(1e-4);
        }
      }
    } finally {
      Object.assign(DEFAULT_TEX_TILE, saved);
    }
  });
  it('replays inside a recording: one submit, fresh inputs packed (and staged copies landed) each time', async (ctx) => {
    if (!usable) return ctx.skip();
    const r = rng(TEST_SEED + 300);
    const [M, N, K] = [37, 44, 28]; // K % 4 == 0: A takes the vec4 pack, Bᵀ the scalar one
    const a = Tensor.fromArray(d, r.normal(M * K), [M, K]), b = Tensor.fromArray(d, r.normal(N * K), [N, K]);
    const { recording, result } = d.record(() => matmul(a, b, { transB: true, config: { variant: 'texture' } }));
    for (let k = 0; k < 3; k++) {
      const av = r.normal(M * K), bv = r.normal(N * K);
      a.write(av);
      b.write(bv);
      poisonPool(d, M * N * 4 + 4096, 2);
      const submits = d.submits;
      recording.replay();
      expect(d.submits - submits).toBe(1);
      expect(relErr(await result.toArray(), matmulRef(av, [M, K], bv, [N, K], { transB: true }).data), `replay ${k}`).toBeLessThan(1e-4);
    }
    expect(recording.commands.length - recording.dispatches.length, 'a texture copy per staged pack').toBe(staging === 'always' ? 2 : 0);
    recording.dispose();
    [a, b, result].forEach((t) => t.dispose());
  });
});
});

describe('generated texture-GEMM shader', () => {
  it('matches scripts/gen-matmul-tex.mjs (edit the generator, not the .wgsl)', () => {
    const r = spawnSync(process.execPath, ['scripts/gen-matmul-tex.mjs', '--check'], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
  });
});
