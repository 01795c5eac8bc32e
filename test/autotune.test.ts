// The matmul and implicit-GEMM conv autotuners (src/bench/autotune.ts): a tuned choice is one of
// the candidates, is cached (in memory and in the JSON file under $XDG_CACHE_HOME/scoregpu), and
// once the chooser is installed the op uses it — and still computes the right result.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { device, rng, relErr, TEST_SEED } from '../kernels-tests/helpers.js';
import type { Device } from '../src/gpu/device.js';
import { Tensor } from '../src/tensor/tensor.js';
import { matmul } from '../src/tensor/ops/matmul.js';
import { conv2d } from '../src/tensor/ops/conv2d.js';
import { implicitTileFor, defaultImplicitTile } from '../src/tensor/ops/conv2d_plan.js';
import { matmulRef } from '../src/tensor/cpu/matmul.js';
import { conv2dRef } from '../src/tensor/cpu/conv2d.js';
import { tuneMatmul, tunedChoosers, candidates, tuneConv, convCandidates } from '../src/bench/autotune.js';

let d: Device;
let cacheDir = '';
const savedCache = process.env.XDG_CACHE_HOME;
beforeAll(async () => {
  d = await device();
  cacheDir = mkdtempSync(join(tmpdir(), 'scoregpu-tune-'));
  process.env.XDG_CACHE_HOME = cacheDir; // never the user's cache
});
afterAll(() => {
  if (savedCache === undefined) delete process.env.XDG_CACHE_HOME;
  else process.env.XDG_CACHE_HOME = savedCache;
  rmSync(cacheDir, { recursive: true, force: true });
});

describe(`autotuners (seed ${TEST_SEED})`, () => {
  it('matmul: tunes, caches, and under the tuned chooser still computes A·B', async () => {
    const q = { batch: 1, M: 37, N: 24, K: 20, transA: false, transB: false };
    const first = await tuneMatmul(d, q, { reps: 1, targetMs: 1 });
    expect(first.cached).toBe(false);
    expect(first.tried).toBe(candidates(d, q).length);
    expect(candidates(d, q).map((c) => JSON.stringify(c))).toContain(JSON.stringify(first.config));
    const again = await tuneMatmul(d, q, { reps: 1, targetMs: 1 });
    expect(again.cached).toBe(true);
    expect(again.config).toEqual(first.config);
    const file = JSON.parse(readFileSync(join(cacheDir, 'scoregpu', 'matmul-autotune.json'), 'utf8'));
    expect(Object.values(file).map((e: any) => JSON.stringify(e.config))).toContain(JSON.stringify(first.config));
    const r = rng(TEST_SEED + 1);
    const av = r.normal(q.M * q.K), bv = r.normal(q.K * q.N);
    const c = d.withPolicy({ choosers: tunedChoosers() }, () => matmul(Tensor.fromArray(d, av, [q.M, q.K]), Tensor.fromArray(d, bv, [q.K, q.N])));
    expect(relErr(await c.toArray(), matmulRef(av, [q.M, q.K], bv, [q.K, q.N]).data)).toBeLessThan(1e-5);
  });

  it('conv: tunes the implicit-GEMM tile, caches it, and the tuned chooser uses it', async (ctx) => {
    if (!d.caps.subgroups) return ctx.skip();
    await d.withPolicy({ convImplicit: 'always' }, async () => {
      const [B, Cin, H, W, Cout] = [2, 12, 7, 7, 24];
      const dims = { B, Cin, H, W, Cout, KH: 3, KW: 3, Ho: H, Wo: W, s: 1, p: 1 };
      const q = { B, Rc: Cin, N: Cout, Ho: H, Wo: W, KH: 3, KW: 3, stride: 1, dil: 1 };
      const first = await tuneConv(d, dims, 'forward', { reps: 1, targetMs: 1 });
      expect(first).not.toBeNull();
      expect(first!.cached).toBe(false);
      expect(convCandidates(q).map((t) => JSON.stringify(t))).toContain(JSON.stringify(first!.tile));
      expect((await tuneConv(d, dims, 'forward'))!.cached).toBe(true);
      const file = JSON.parse(readFileSync(join(cacheDir, 'scoregpu', 'conv-autotune.json'), 'utf8'));
      expect(Object.values(file).map((e: any) => JSON.stringify(e.tile))).toContain(JSON.stringify(first!.tile));
      expect(implicitTileFor(d, q)).toEqual(defaultImplicitTile(q));
      const r = rng(TEST_SEED + 2);
      const xv = r.normal(B * Cin * H * W), wv = r.normal(Cout * Cin * 9);
      await d.withPolicy({ choosers: tunedChoosers() }, async () => {
        expect(implicitTileFor(d, q)).toEqual(first!.tile);
        const y = conv2d(Tensor.fromArray(d, xv, [B, Cin, H, W]), Tensor.fromArray(d, wv, [Cout, Cin, 3, 3]), { padding: 1 });
        expect(relErr(await y.toArray(), conv2dRef(xv, [B, Cin, H, W], wv, [Cout, Cin, 3, 3], { padding: 1 }).data)).toBeLessThan(1e-4);
      });
      expect(implicitTileFor(d, q)).toEqual(defaultImplicitTile(q));
      // the input gradient is its own problem: tuning it leaves the forward's entry alone
      const inp = await tuneConv(d, { ...dims, Cin: Cout, Cout: Cin }, 'input', { reps: 1, targetMs: 1 });
      expect(inp!.cached, 'an input-gradient problem with the forward\'s numbers is not the forward').toBe(false);
    });
  });

  it('the default rule: 7×7 blocks for forwards of any 7-divisible size, input gradients up to 14×14; strips where a block cannot run', () => {
    const q = (Ho: number, o: Partial<{ input: boolean; stride: number; B: number }> = {}) =>
      ({ B: o.B ?? 64, Rc: 32, N: 32, Ho, Wo: Ho, KH: 3, KW: 3, stride: o.stride ?? 1, dil: 1, input: o.input });
    expect(defaultImplicitTile(q(28))).toEqual({ block: '7x7' });
    expect(defaultImplicitTile(q(14, { input: true }))).toEqual({ block: '7x7' });
    expect('block' in defaultImplicitTile(q(28, { input: true }))).toBe(false);
    expect('block' in defaultImplicitTile(q(30))).toBe(false);
    expect('block' in defaultImplicitTile(q(28, { stride: 2 }))).toBe(false);
    // a grid of B·16 blocks past the adapter's workgroup limit falls back to strips
    const tooMany = Math.floor(d.limits.maxComputeWorkgroupsPerDimension / 16) + 1;
    expect('block' in implicitTileFor(d, q(28, { B: tooMany }))).toBe(false);
  });
});
