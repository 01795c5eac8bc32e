import { describe, it, expect, beforeAll } from 'vitest';
import { spawnSync } from 'node:child_process';
import { device, rng, relErr, poisonPool, TEST_SEED, forEachTexelOutput } from './helpers.js';
import { Tensor } from '../src/tensor/tensor.js';
import { conv2d, conv2dBackward, conv2dBackwardInput, conv2dBackwardWeight, conv2dOutSize, packedInputGeometry, planConv2dForward } from '../src/tensor/ops/conv2d.js';
import { conv2dImplicitForward, conv2dImplicitBackwardInput, conv2dImplicitBackwardWeight } from '../src/tensor/ops/conv2d_implicit.js';
import type { ImplicitTile } from '../src/tensor/ops/conv2d_plan.js';
import { groupNorm } from '../src/tensor/ops/norm.js';
import { groupNormConv2d } from '../src/tensor/ops/norm_conv.js';
import { upsample2Conv2d } from '../src/tensor/ops/upsample_conv.js';
import { upsampleNearest2d } from '../src/tensor/ops/pool.js';
import { packTexture } from '../src/tensor/ops/tex_pack.js';
import { groupNormRef } from '../src/tensor/cpu/norm.js';
import { conv2dRef, conv2dBackwardInputRef, conv2dBackwardWeightRef } from '../src/tensor/cpu/conv2d.js';
import type { Device } from '../src/gpu/device.js';

// conv2d forward (with the fused epilogue: bias, per-image channel bias, SiLU, residual) and the
// input gradient on the implicit-GEMM texture kernels (shaders/conv2d_tex.wgsl), forced on every
// adapter with subgroups of at least 8 lanes; every strip shape; the fallback epilogue on the
// other paths.
let d: Device;
let usable = false;
beforeAll(async () => {
  d = await device();
  usable = d.caps.subgroups;
  if (!usable) console.warn('conv2d implicit tests skipped: the adapter has no `subgroups` feature with subgroups of ≥ 8 lanes');
});

// [B, Cin, H, W, Cout, k, stride, padding]
type Case = [number, number, number, number, number, number, number, number];
const cases: Case[] = [
  [2, 3, 9, 11, 5, 3, 1, 1],
  [1, 5, 7, 13, 9, 3, 2, 1],
  [1, 7, 10, 9, 3, 3, 2, 0],
  [2, 6, 5, 7, 11, 1, 1, 0],
  [1, 1, 17, 19, 16, 3, 1, 1],
  [2, 16, 4, 4, 1, 3, 1, 1],
  [3, 33, 7, 7, 40, 3, 1, 1],
  [2, 9, 6, 6, 70, 3, 1, 1],
  [1, 3, 1, 1, 2, 1, 1, 0],
  // H·W % 4 == 0, stride 2 and padding 0 with odd channel counts
  [2, 5, 6, 10, 12, 3, 2, 1],
  [1, 7, 8, 6, 20, 3, 1, 0],
  // 3×3 stride 1 whose output tiles into 7×7 blocks (conv2d_blk.wgsl by default), N not a multiple of 32
  [2, 10, 14, 7, 24, 3, 1, 1],
  [1, 6, 14, 21, 36, 3, 1, 1],
];
// cases the block kernels take (3×3, stride 1; padding 0 or 1; any size: partial blocks are masked)
const BLOCK_CASES = [0, 4, 6, 7, 10, 11, 12].map((i) => cases[i]);
const BLOCKS: ImplicitTile[] = [{ block: '7x7' }];
const tileName = (t: ImplicitTile) => ('block' in t ? `block ${t.block}` : `tile ${t.tm}x${t.tn}`);
const TILES = [{ tm: 16, tn: 4 }, { tm: 32, tn: 4 }, { tm: 16, tn: 8 }, { tm: 8, tn: 8 }, { tm: 64, tn: 4 }, { tm: 32, tn: 8 }, { tm: 48, tn: 4 }];
const name = (c: Case) => `x[${c[0]},${c[1]},${c[2]},${c[3]}] w[${c[4]},${c[1]},${c[5]},${c[5]}] s${c[6]} p${c[7]}`;

/** act(conv + bias + cbias) + res in float64. */
function reference(c: Case, xv: Float32Array, wv: Float32Array, e: { bias?: Float32Array; cbias?: Float32Array; res?: Float32Array; silu: boolean }) {
  const [B, Cin, H, W, Cout, k, stride, padding] = c;
  const y = conv2dRef(xv, [B, Cin, H, W], wv, [Cout, Cin, k, k], { stride, padding, bias: e.bias }).data;
  const hw = y.length / (B * Cout);
  for (let i = 0; i < y.length; i++) {
    const bc = Math.floor(i / hw);
    let v = y[i] + (e.cbias ? e.cbias[bc] : 0);
    if (e.silu) v = v / (1 + Math.exp(-v));
    y[i] = v + (e.res ? e.res[i] : 0);
  }
  return y;
}

async function checkForward(c: Case, seed: number, epi: number, how: 'implicit' | 'fallback', tile?: ImplicitTile) {
  const [B, Cin, H, W, Cout, k, stride, padding] = c;
  const r = rng(seed);
  const Ho = conv2dOutSize(H, k, stride, padding), Wo = conv2dOutSize(W, k, stride, padding);
  const xv = r.normal(B * Cin * H * W), wv = r.normal(Cout * Cin * k * k);
  // epi bits: 1 bias, 2 cbias, 4 silu, 8 residual
  const e = {
    bias: epi & 1 ? r.normal(Cout) : undefined, cbias: epi & 2 ? r.normal(B * Cout) : undefined,
    silu: !!(epi & 4), res: epi & 8 ? r.normal(B * Cout * Ho * Wo) : undefined,
  };
  const ref = reference(c, xv, wv, e);
  poisonPool(d, Math.max(ref.length, xv.length) * 4 + 4096, 2);
  const x = Tensor.fromArray(d, xv, [B, Cin, H, W]), w = Tensor.fromArray(d, wv, [Cout, Cin, k, k]);
  const bias = e.bias && Tensor.fromArray(d, e.bias, [Cout]);
  const cbias = e.cbias && Tensor.fromArray(d, e.cbias, [B, Cout]);
  const residual = e.res && Tensor.fromArray(d, e.res, [B, Cout, Ho, Wo]);
  let y: Tensor;
  if (tile) {
    y = Tensor.empty(d, [B, Cout, Ho, Wo]);
    const ran = conv2dImplicitForward(d, x, w, y, { B, Cin, H, W, Cout, KH: k, KW: k, Ho, Wo, s: stride, p: padding }, { bias, cbias, res: residual, silu: e.silu }, tile);
    expect(ran, `implicit path ran for ${name(c)}`).toBe(true);
  } else {
    y = conv2d(x, w, { stride, padding, bias, cbias, residual, act: e.silu ? 'silu' : 'none' });
  }
  const what = `${how} ${name(c)} epilogue ${epi}${tile ? ` ${tileName(tile)}` : ''}`;
  expect(relErr(await y.toArray(), ref), what).toBeLessThan(1e-4);
  [x, w, y, bias, cbias, residual].forEach((t) => t?.dispose());
}

// every test that packs runs with staged and direct texel outputs (helpers.ts forEachTexelOutput),
// and with the implicit GEMM forced on (the device's kernel policy)
forEachTexelOutput((_staging, it) => {
describe(`conv2d implicit-GEMM texture path (seed ${TEST_SEED})`, () => {
  it('forward with every epilogue combination against the reference (every input packing)', async (ctx) => {
    if (!usable) return ctx.skip();
    let seed = TEST_SEED;
    for (const pack of ['nhwc4', 'nhwc4_px'] as const) {
      await d.withPolicy({ implicitPack: pack }, async () => {
        for (const c of cases) await checkForward(c, seed++, seed % 16, 'implicit');
        for (const epi of [0, 1, 2, 4, 8, 15, 6, 9]) await checkForward(cases[6], seed++, epi, 'implicit');
      });
    }
  });
  it('every strip shape (rows × columns per lane)', async (ctx) => {
    if (!usable) return ctx.skip();
    let seed = TEST_SEED + 100;
    for (const tile of TILES) {
      for (const c of [cases[0], cases[1], cases[6], cases[7]]) await checkForward(c, seed++, 15, 'implicit', tile);
    }
  });
  it('every output block (3×3 stride 1), every epilogue bit, partial blocks', async (ctx) => {
    if (!usable) return ctx.skip();
    let seed = TEST_SEED + 300;
    for (const tile of BLOCKS) {
      for (const c of BLOCK_CASES) await checkForward(c, seed++, 15, 'implicit', tile);
      for (const epi of [0, 1, 2, 4, 8]) await checkForward(cases[11], seed++, epi, 'implicit', tile);
    }
  });
  it('input gradient against the reference, every strip shape and block', async (ctx) => {
    if (!usable) return ctx.skip();
    let seed = TEST_SEED + 200;
    for (const tile of [undefined, ...TILES, ...BLOCKS]) {
      for (const c of tile ? ('block' in tile ? BLOCK_CASES : [cases[1], cases[6], cases[7]]) : cases) {
        const [B, Cin, H, W, Cout, k, stride, padding] = c;
        const r = rng(seed++);
        const Ho = conv2dOutSize(H, k, stride, padding), Wo = conv2dOutSize(W, k, stride, padding);
        const xs = [B, Cin, H, W], ws = [Cout, Cin, k, k], gs = [B, Cout, Ho, Wo];
        const wv = r.normal(Cout * Cin * k * k), gv = r.normal(B * Cout * Ho * Wo);
        const ref = conv2dBackwardInputRef(gv, gs, wv, ws, xs, { stride, padding });
        poisonPool(d, Math.max(ref.length, gv.length) * 4 + 4096, 2);
        const w = Tensor.fromArray(d, wv, ws), gy = Tensor.fromArray(d, gv, gs);
        let gx: Tensor;
        if (tile) {
          gx = Tensor.empty(d, xs);
          expect(conv2dImplicitBackwardInput(d, gy, w, gx, { B, Cin, H, W, Cout, KH: k, KW: k, Ho, Wo, s: stride, p: padding }, tile)).toBe(true);
        } else gx = conv2dBackwardInput(gy, w, xs, { stride, padding });
        expect(relErr(await gx.toArray(), ref), `dx ${name(c)}${tile ? ` ${tileName(tile)}` : ''}`).toBeLessThan(1e-4);
        [w, gy, gx].forEach((t) => t.dispose());
      }
    }
  });
  it('weight gradient against the reference: every strip shape, reduction split over grid z', async (ctx) => {
    if (!usable) return ctx.skip();
    let seed = TEST_SEED + 400;
    const WT = [undefined, { tm: 16, tn: 8 }, { tm: 32, tn: 4 }, { tm: 8, tn: 8 }, { tm: 64, tn: 4 }, { tm: 32, tn: 8 }];
    for (const tile of WT) {
      // tiles of 32·k rows read gy as a padded NHWC4 image by default; also force the transposed one
      const layouts = tile && tile.tm % 32 === 0 ? (['nhwc4', 'nchw_t'] as const) : ([undefined] as const);
      for (const gyLayout of layouts)
      for (const splits of tile ? [1, 3] : [undefined, 1, 7]) {
        for (const c of cases) {
          const [B, Cin, H, W, Cout, k, stride, padding] = c;
          if (Cout < 8) continue; // below 8 output channels the buffer kernel serves
          const r = rng(seed++);
          const Ho = conv2dOutSize(H, k, stride, padding), Wo = conv2dOutSize(W, k, stride, padding);
          const xs = [B, Cin, H, W], ws = [Cout, Cin, k, k], gs = [B, Cout, Ho, Wo];
          const xv = r.normal(B * Cin * H * W), gv = r.normal(B * Cout * Ho * Wo);
          const ref = conv2dBackwardWeightRef(xv, xs, gv, gs, ws, { stride, padding });
          poisonPool(d, Math.max(ref.length, xv.length, gv.length) * 4 * 8 + 4096, 2);
          const x = Tensor.fromArray(d, xv, xs), gy = Tensor.fromArray(d, gv, gs);
          const gw = tile || splits !== undefined
            ? conv2dImplicitBackwardWeight(d, x, gy, { B, Cin, H, W, Cout, KH: k, KW: k, Ho, Wo, s: stride, p: padding }, { tile, splits, gyLayout })
            : conv2dBackwardWeight(x, gy, ws, { stride, padding });
          const what = `dw ${name(c)}${tile ? ` tile ${tile.tm}x${tile.tn}` : ''} splits ${splits ?? 'auto'}${gyLayout ? ` gy ${gyLayout}` : ''}`;
          expect(gw, what).not.toBeNull();
          expect(gw!.shape, what).toEqual(ws);
          expect(relErr(await gw!.toArray(), ref), what).toBeLessThan(1e-4);
          [x, gy, gw].forEach((t) => t?.dispose());
        }
      }
    }
  });
  it('both gradients in one call: the weight gradient reads gy from the texture the input gradient packed', async (ctx) => {
    if (!usable) return ctx.skip();
    let seed = TEST_SEED + 500;
    // strips (28×28-like, odd sizes), blocks (7-divisible), a 1×1 conv; Cout ≥ 32 takes the NHWC4 gy
    const shareCases: Case[] = [[2, 7, 9, 11, 40, 3, 1, 1], [2, 10, 14, 7, 33, 3, 1, 1], [3, 6, 5, 7, 64, 1, 1, 0]];
    for (const c of shareCases) {
      const [B, Cin, H, W, Cout, k, stride, padding] = c;
      const r = rng(seed++);
      const Ho = conv2dOutSize(H, k, stride, padding), Wo = conv2dOutSize(W, k, stride, padding);
      const xs = [B, Cin, H, W], ws = [Cout, Cin, k, k], gs = [B, Cout, Ho, Wo];
      const xv = r.normal(B * Cin * H * W), wv = r.normal(Cout * Cin * k * k), gv = r.normal(B * Cout * Ho * Wo);
      poisonPool(d, Math.max(xv.length, gv.length) * 4 * 8 + 4096, 2);
      const x = Tensor.fromArray(d, xv, xs), w = Tensor.fromArray(d, wv, ws), gy = Tensor.fromArray(d, gv, gs);
      // the two gradients alone, each packing gy for itself
      let n0 = d.dispatches;
      const gxAlone = conv2dBackwardInput(gy, w, xs, { stride, padding });
      const gwAlone = conv2dBackwardWeight(x, gy, ws, { stride, padding });
      const alone = d.dispatches - n0;
      n0 = d.dispatches;
      const { gx, gw } = conv2dBackward(x, gy, w, { stride, padding });
      expect(d.dispatches - n0, `one packing pass of gy fewer ${name(c)}`).toBe(alone - 1);
      const refX = conv2dBackwardInputRef(gv, gs, wv, ws, xs, { stride, padding });
      const refW = conv2dBackwardWeightRef(xv, xs, gv, gs, ws, { stride, padding });
      expect(relErr(await gx!.toArray(), refX), `dx ${name(c)}`).toBeLessThan(1e-4);
      expect(relErr(await gw!.toArray(), refW), `dw from the shared texture ${name(c)}`).toBeLessThan(1e-4);
      expect(relErr(await gwAlone.toArray(), refW), `dw alone ${name(c)}`).toBeLessThan(1e-4);
      // only the weight gradient: it packs gy itself
      const only = conv2dBackward(x, gy, w, { stride, padding, input: false });
      expect(only.gx).toBeNull();
      expect(relErr(await only.gw!.toArray(), refW), `dw without dx ${name(c)}`).toBeLessThan(1e-4);
      [x, w, gy, gx!, gw!, gxAlone, gwAlone, only.gw!].forEach((t) => t.dispose());
    }
  });
  it('the same epilogue on the row-conv and im2col paths (cbias and residual added after)', async () => {
    let seed = TEST_SEED + 300;
    for (const tex of ['never', 'always'] as const) {
      if (tex === 'always' && !usable) continue;
      await d.withPolicy({ convImplicit: 'never', convTex: tex }, async () => {
        for (const epi of [2, 6, 8, 15]) await checkForward(cases[0], seed++, epi, 'fallback');
        await checkForward(cases[1], seed++, 15, 'fallback');
      });
    }
  });
  it('cbias and residual shape errors name the shapes', () => {
    const x = Tensor.empty(d, [2, 3, 8, 8]), w = Tensor.empty(d, [4, 3, 3, 3]), cb = Tensor.empty(d, [2, 5]), res = Tensor.empty(d, [2, 4, 8, 7]);
    expect(() => conv2d(x, w, { padding: 1, cbias: cb })).toThrow(/cbias \[2, 5\]/);
    expect(() => conv2d(x, w, { padding: 1, residual: res })).toThrow(/residual \[2, 4, 8, 7\]/);
    [x, w, cb, res].forEach((t) => t.dispose());
  });
});

/** The texture geometry a 3×3 (or k×k) stride-1 conv of x [B, C, H, W] into Cout channels reads on d, or null. */
function geometryFor(B: number, C: number, H: number, W: number, Cout: number, k = 3, padding = 1) {
  const w = Tensor.empty(d, [Cout, C, k, k]);
  const g = packedInputGeometry(planConv2dForward(d, [B, C, H, W], w, { padding }));
  w.dispose();
  return g;
}

/** Dispatches fn issues. */
function counted<T>(fn: () => T): [T, number] {
  const n0 = d.dispatches;
  const r = fn();
  return [r, d.dispatches - n0];
}

describe(`GroupNorm fused with the conv after it (groupNormConv2d, seed ${TEST_SEED})`, () => {
  // [B, C, H, W, groups, Cout]: 7×7 blocks (14×14, 7×7), row strips (10×12), cpg 4 and 8; planes
  // of 49 and 45 pixels (not a multiple of 4: the unaligned path)
  const shapes: [number, number, number, number, number, number][] = [
    [3, 16, 14, 14, 4, 24], [2, 32, 28, 7, 8, 40], [2, 16, 10, 12, 2, 20], [1, 8, 12, 8, 2, 32],
    [3, 16, 7, 7, 4, 20], [2, 24, 5, 9, 3, 16],
    // groups of 6 and 3 channels: an invocation owns 2 or 4 groups (aligned and unaligned planes)
    [2, 12, 6, 6, 2, 16], [1, 12, 4, 5, 4, 8], [2, 12, 5, 6, 2, 8],
  ];
  it('the conv reads the texture the norm wrote (no packing pass), kept or not, call after call', async (ctx) => {
    if (!usable) return ctx.skip();
    let seed = TEST_SEED + 500;
    for (const [B, C, H, W, groups, Cout] of shapes) {
      const r = rng(seed++);
      const xs = r.uniform(B * C * H * W, -2, 3), x2s = r.normal(B * C * H * W);
      const ga = r.uniform(C, 0.5, 1.5), be = r.normal(C), wv = r.normal(Cout * C * 9), bv = r.normal(Cout);
      poisonPool(d, B * Math.max(C, Cout) * (H + 9) * (W + 9) * 4 * 4 + 4096, 2);
      const x = Tensor.fromArray(d, xs, [B, C, H, W]), x2 = Tensor.fromArray(d, x2s, [B, C, H, W]);
      const gamma = Tensor.fromArray(d, ga, [C]), beta = Tensor.fromArray(d, be, [C]);
      const w = Tensor.fromArray(d, wv, [Cout, C, 3, 3]), bias = Tensor.fromArray(d, bv, [Cout]);
      expect(geometryFor(B, C, H, W, Cout), `implicit forward for ${[B, C, H, W]}`).not.toBeNull();
      const n = { groups, gamma, beta, eps: 1e-5, silu: true };
      const refs = [xs, x2s].map((v) => {
        const h = groupNormRef(v, [B, C, H, W], groups, ga, be, 1e-5, true).y;
        return { h, y: reference([B, C, H, W, Cout, 3, 1, 1], Float32Array.from(h), wv, { bias: bv, silu: false }) };
      });
      // the plain ops: a norm, then a conv that packs its input
      const [hPlain, nNorm] = counted(() => groupNorm(x, groups, gamma, beta, 1e-5, { silu: true }));
      const [yPlain, nConv] = counted(() => conv2d(hPlain, w, { padding: 1, bias }));
      expect(relErr(await yPlain.toArray(), refs[0].y), `plain ${[B, C, H, W]}`).toBeLessThan(1e-4);
      const [kept, nKept] = counted(() => groupNormConv2d(x, n, w, { padding: 1, bias }, { keep: true }));
      expect(nKept, 'the conv of the fused norm skips its packing pass').toBe(nNorm + nConv - 1);
      expect(relErr(await kept.norm!.y.toArray(), refs[0].h), `kept norm output ${[B, C, H, W]}`).toBeLessThan(1e-5);
      expect(relErr(await kept.y.toArray(), refs[0].y), `conv of the norm-packed input ${[B, C, H, W]}`).toBeLessThan(1e-4);
      expect(kept.norm!.mean.shape).toEqual([B, groups]);
      // not kept: the norm writes only the texture; a second call on other data, then the first again
      const [second, nSecond] = counted(() => groupNormConv2d(x2, n, w, { padding: 1, bias }));
      expect(second.norm, 'nothing kept').toBeNull();
      expect(nSecond).toBe(nKept);
      const again = groupNormConv2d(x, n, w, { padding: 1, bias });
      expect(relErr(await second.y.toArray(), refs[1].y), `second input ${[B, C, H, W]}`).toBeLessThan(1e-4);
      expect(relErr(await again.y.toArray(), refs[0].y), `first input again ${[B, C, H, W]}`).toBeLessThan(1e-4);
      [x, x2, gamma, beta, w, bias, hPlain, yPlain, kept.y, kept.norm!.y, kept.norm!.mean, kept.norm!.rstd, second.y, again.y].forEach((t) => t.dispose());
    }
  });

  it('a 1×1 side conv of the norm input reads the texture the norm wrote of it', async (ctx) => {
    if (!usable) return ctx.skip();
    let seed = TEST_SEED + 800;
    // aligned planes (28×7) and unaligned (7×7)
    for (const [B, C, H, W, groups, Cout] of [[2, 16, 28, 7, 4, 24], [3, 24, 7, 7, 6, 8]]) {
      const r = rng(seed++);
      const xs = r.normal(B * C * H * W), ga = r.uniform(C, 0.5, 1.5), be = r.normal(C);
      const w3 = r.normal(Cout * C * 9), w1 = r.normal(Cout * C), b1 = r.normal(Cout);
      poisonPool(d, B * Math.max(C, Cout) * (H + 9) * (W + 9) * 4 * 4 + 4096, 2);
      const x = Tensor.fromArray(d, xs, [B, C, H, W]);
      const gamma = Tensor.fromArray(d, ga, [C]), beta = Tensor.fromArray(d, be, [C]);
      const wk3 = Tensor.fromArray(d, w3, [Cout, C, 3, 3]), wk = Tensor.fromArray(d, w1, [Cout, C, 1, 1]), bk = Tensor.fromArray(d, b1, [Cout]);
      expect(geometryFor(B, C, H, W, Cout, 1, 0), '1×1 conv geometry').toEqual({ Hp: H, Wp: W, pad: 0 });
      const hRef = groupNormRef(xs, [B, C, H, W], groups, ga, be, 1e-5, true).y;
      const n = { groups, gamma, beta, eps: 1e-5, silu: true };
      const [plain, nPlain] = counted(() => {
        const h = groupNorm(x, groups, gamma, beta, 1e-5, { silu: true });
        return [h, conv2d(h, wk3, { padding: 1 }), conv2d(x, wk, { bias: bk })];
      });
      for (const keep of [true, false]) {
        const [r2, nFused] = counted(() => groupNormConv2d(x, n, wk3, { padding: 1 }, { keep, side: { w: wk, opts: { bias: bk } } }));
        expect(nFused, 'both convs skip their packing passes').toBe(nPlain - 2);
        expect(relErr(await r2.y.toArray(), reference([B, C, H, W, Cout, 3, 1, 1], Float32Array.from(hRef), w3, { silu: false })), `3×3 conv keep ${keep}`).toBeLessThan(1e-4);
        expect(relErr(await r2.side!.toArray(), conv2dRef(xs, [B, C, H, W], w1, [Cout, C, 1, 1], { bias: b1 }).data), `1×1 conv of the norm input keep ${keep} ${[B, C, H, W]}`).toBeLessThan(1e-4);
        if (keep) expect(relErr(await r2.norm!.y.toArray(), hRef), 'norm output').toBeLessThan(1e-5);
        [r2.y, r2.side!, ...(r2.norm ? [r2.norm.y, r2.norm.mean, r2.norm.rstd] : [])].forEach((t) => t.dispose());
      }
      [x, gamma, beta, wk3, wk, bk, ...plain].forEach((t) => t.dispose());
    }
  });

  it('an input in parts is read in place; layouts it cannot read are concatenated, with the same values', async (ctx) => {
    if (!usable) return ctx.skip();
    let seed = TEST_SEED + 900;
    // [B, part channels, H, W, groups, Cout]: two and three parts, aligned (28×7) and unaligned (7×7) planes
    const cases: [number, number[], number, number, number, number][] = [[2, [16, 8], 28, 7, 6, 12], [3, [8, 16, 8], 7, 7, 4, 20], [2, [12, 12], 6, 6, 4, 8]];
    for (const [B, cs, H, W, groups, Cout] of cases) {
      const r = rng(seed++);
      const C = cs.reduce((a, b) => a + b, 0);
      const xs = cs.map((c) => r.normal(B * c * H * W));
      const ga = r.uniform(C, 0.5, 1.5), be = r.normal(C), w3 = r.normal(Cout * C * 9), w1 = r.normal(Cout * C), w3b = r.normal(Cout * C * 9);
      // the concatenation, on the CPU
      const cat = new Float32Array(B * C * H * W);
      for (let b = 0; b < B; b++) {
        let c0 = 0;
        cs.forEach((c, i) => {
          cat.set(xs[i].subarray(b * c * H * W, (b + 1) * c * H * W), (b * C + c0) * H * W);
          c0 += c;
        });
      }
      poisonPool(d, B * Math.max(C, Cout) * (H + 9) * (W + 9) * 4 * 4 + 4096, 2);
      const parts = xs.map((v, i) => Tensor.fromArray(d, v, [B, cs[i], H, W]));
      const gamma = Tensor.fromArray(d, ga, [C]), beta = Tensor.fromArray(d, be, [C]);
      const wk3 = Tensor.fromArray(d, w3, [Cout, C, 3, 3]), wk1 = Tensor.fromArray(d, w1, [Cout, C, 1, 1]), wk3b = Tensor.fromArray(d, w3b, [Cout, C, 3, 3]);
      const refOf = (g: number) => reference([B, C, H, W, Cout, 3, 1, 1], Float32Array.from(groupNormRef(cat, [B, C, H, W], g, ga, be, 1e-5, true).y), w3, { silu: false });
      const n = { groups, gamma, beta, eps: 1e-5, silu: true };
      // in place: one norm dispatch a part, no concatenation, neither conv packs
      const [out, nOut] = counted(() => groupNormConv2d(parts, n, wk3, { padding: 1 }, { side: { w: wk1 } }));
      expect(nOut, `one norm dispatch a part, two per conv ${cs}`).toBe(cs.length + 4);
      expect(relErr(await out.y.toArray(), refOf(groups)), `conv of the norm ${cs}`).toBeLessThan(1e-4);
      expect(relErr(await out.side!.toArray(), conv2dRef(cat, [B, C, H, W], w1, [Cout, C, 1, 1], {}).data), `1×1 conv of the concatenation ${cs}`).toBeLessThan(1e-4);
      // one group over all channels (each part splits it), or a side conv reading a padded texture:
      // the concatenation is written, and the values are the same
      const one = groupNormConv2d(parts, { ...n, groups: 1 }, wk3, { padding: 1 }, { side: { w: wk1 } });
      expect(relErr(await one.y.toArray(), refOf(1)), `one group ${cs}`).toBeLessThan(1e-4);
      expect(relErr(await one.side!.toArray(), conv2dRef(cat, [B, C, H, W], w1, [Cout, C, 1, 1], {}).data), `1×1 conv, one group ${cs}`).toBeLessThan(1e-4);
      const padded = groupNormConv2d(parts, n, wk3, { padding: 1 }, { side: { w: wk3b, opts: { padding: 1 } } });
      expect(relErr(await padded.y.toArray(), refOf(groups)), `padded side ${cs}`).toBeLessThan(1e-4);
      expect(relErr(await padded.side!.toArray(), conv2dRef(cat, [B, C, H, W], w3b, [Cout, C, 3, 3], { padding: 1 }).data), `3×3 side conv ${cs}`).toBeLessThan(1e-4);
      [...parts, gamma, beta, wk3, wk1, wk3b, out.y, out.side!, one.y, one.side!, padded.y, padded.side!].forEach((t) => t.dispose());
    }
  });

  it('where the conv does not take the implicit path, the plain kernels give the same values', async (ctx) => {
    if (!usable) return ctx.skip();
    const r = rng(TEST_SEED + 700);
    const [B, cs, H, W, groups, Cout] = [2, [8, 8], 7, 7, 4, 12];
    const C = 16;
    const xs = cs.map((c) => r.normal(B * c * H * W)), ga = r.uniform(C, 0.5, 1.5), be = r.normal(C), wv = r.normal(Cout * C * 9), w1 = r.normal(Cout * C);
    const cat = new Float32Array(B * C * H * W);
    for (let b = 0; b < B; b++) cs.forEach((c, i) => cat.set(xs[i].subarray(b * c * H * W, (b + 1) * c * H * W), (b * C + i * 8) * H * W));
    poisonPool(d, B * C * (H + 9) * (W + 9) * 4 * 4 + 4096, 3);
    const parts = xs.map((v, i) => Tensor.fromArray(d, v, [B, cs[i], H, W]));
    const gamma = Tensor.fromArray(d, ga, [C]), beta = Tensor.fromArray(d, be, [C]);
    const w = Tensor.fromArray(d, wv, [Cout, C, 3, 3]), wk1 = Tensor.fromArray(d, w1, [Cout, C, 1, 1]);
    const yRef = reference([B, C, H, W, Cout, 3, 1, 1], Float32Array.from(groupNormRef(cat, [B, C, H, W], groups, ga, be, 1e-5, true).y), wv, { silu: false });
    await d.withPolicy({ convImplicit: 'never' }, async () => {
      expect(geometryFor(B, C, H, W, Cout)).toBeNull();
      const out = groupNormConv2d(parts, { groups, gamma, beta, eps: 1e-5, silu: true }, w, { padding: 1 }, { side: { w: wk1 } });
      expect(relErr(await out.y.toArray(), yRef), 'conv of the norm, plain kernels').toBeLessThan(1e-4);
      expect(relErr(await out.side!.toArray(), conv2dRef(cat, [B, C, H, W], w1, [Cout, C, 1, 1], {}).data), 'side conv, plain kernels').toBeLessThan(1e-4);
      [out.y, out.side!].forEach((t) => t.dispose());
    });
    [...parts, gamma, beta, w, wk1].forEach((t) => t.dispose());
  });
});

describe(`×2 up-sampling fused with the conv after it (upsample2Conv2d, seed ${TEST_SEED})`, () => {
  it('the conv of the up-sampling\'s texture matches conv(upsample(x)) even when the slot held NaNs', async (ctx) => {
    if (!usable) return ctx.skip();
    let seed = TEST_SEED + 1000;
    // 7×7 → 14×14 (block geometry), 5×6 → 10×12 (row strips), channels not a multiple of 4
    for (const [B, C, H, W, Cout] of [[2, 16, 7, 7, 8], [3, 6, 5, 6, 12]]) {
      const r = rng(seed++);
      const xs = r.normal(B * C * H * W), wv = r.normal(Cout * C * 9);
      const H2 = 2 * H, W2 = 2 * W;
      const g = geometryFor(B, C, H2, W2, Cout)!;
      // fill the slot the up-sampling writes with NaNs: every texel the kernel leaves unwritten would show
      const texels = B * g.Hp * g.Wp * Math.ceil(C / 4);
      const nan = Tensor.fromArray(d, new Float32Array(texels * 4).fill(NaN), [texels, 4]);
      packTexture(d, 'pack', nan, 'GN', { R: texels, C: 4, Rp: texels, C4p: 1 });
      const x = Tensor.fromArray(d, xs, [B, C, H, W]), w = Tensor.fromArray(d, wv, [Cout, C, 3, 3]);
      const up = new Float32Array(B * C * H2 * W2);
      for (let p = 0; p < B * C; p++) for (let i = 0; i < H2; i++) for (let j = 0; j < W2; j++) up[(p * H2 + i) * W2 + j] = xs[(p * H + (i >> 1)) * W + (j >> 1)];
      const [y, nFused] = counted(() => upsample2Conv2d(x, w, { padding: 1 }));
      const [plain, nPlain] = counted(() => {
        const u = upsampleNearest2d(x, 2);
        return [u, conv2d(u, w, { padding: 1 })];
      });
      expect(nFused, 'the up-sampling writes the conv\'s texture in place of its packing pass').toBe(nPlain - 1);
      expect(relErr(await y.toArray(), reference([B, C, H2, W2, Cout, 3, 1, 1], up, wv, { silu: false })), `${[B, C, H, W]}`).toBeLessThan(1e-4);
      const y2 = await d.withPolicy({ convImplicit: 'never' }, () => upsample2Conv2d(x, w, { padding: 1 }));
      expect(relErr(await y2.toArray(), reference([B, C, H2, W2, Cout, 3, 1, 1], up, wv, { silu: false })), `plain kernels ${[B, C, H, W]}`).toBeLessThan(1e-4);
      [nan, x, w, y, y2, ...plain].forEach((t) => t.dispose());
    }
  });
});
}, { convImplicit: 'always' });

describe('generated implicit-GEMM shaders', () => {
  it('match scripts/gen-conv2d-tex.mjs (edit the generator, not the .wgsl)', () => {
    const r = spawnSync(process.execPath, ['scripts/gen-conv2d-tex.mjs', '--check'], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
  });
  it('match scripts/gen-conv2d-blk.mjs', () => {
    const r = spawnSync(process.execPath, ['scripts/gen-conv2d-blk.mjs', '--check'], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
  });
});
