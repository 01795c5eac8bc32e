import { describe, expect, beforeAll } from 'vitest';
import { device, rng, relErr, poisonPool, TEST_SEED, itUnder } from './helpers.js';
import { Tensor } from '../src/tensor/tensor.js';
import { conv2d, conv2dBackwardInput, conv2dBackwardWeight, conv2dOutSize } from '../src/tensor/ops/conv2d.js';
import { conv2dRef, conv2dBackwardInputRef, conv2dBackwardWeightRef } from '../src/tensor/cpu/conv2d.js';
import type { Device } from '../src/gpu/device.js';

// conv2d forward and both gradients on the im2col + texture GEMM path (conv2d_tex.ts), forced on every adapter
// that has subgroups of at least 8 lanes.
let d: Device;
let usable = false;
beforeAll(async () => {
  d = await device();
  usable = d.caps.subgroups;
  if (!usable) console.warn('conv2d_tex tests skipped: the adapter has no `subgroups` feature with subgroups of ≥ 8 lanes');
});
// the implicit GEMM has its own tests (conv2d_implicit.test.ts)
const it = itUnder({ convTex: 'always', convImplicit: 'never' });

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
  [1, 3, 1, 1, 2, 1, 1, 0],
];
const name = (c: Case) => `x[${c[0]},${c[1]},${c[2]},${c[3]}] w[${c[4]},${c[1]},${c[5]},${c[5]}] s${c[6]} p${c[7]}`;

describe(`conv2d texture GEMM (seed ${TEST_SEED})`, () => {
  it('forward (bias + silu) and both gradients against their references', async (ctx) => {
    if (!usable) return ctx.skip();
    let seed = TEST_SEED;
    for (const c of cases) {
      const [B, Cin, H, W, Cout, k, stride, padding] = c;
      const r = rng(seed++);
      const Ho = conv2dOutSize(H, k, stride, padding), Wo = conv2dOutSize(W, k, stride, padding);
      const xs = [B, Cin, H, W], ws = [Cout, Cin, k, k], gs = [B, Cout, Ho, Wo];
      const xv = r.normal(B * Cin * H * W), wv = r.normal(Cout * Cin * k * k), bv = r.normal(Cout), gv = r.normal(B * Cout * Ho * Wo);
      const epi = seed % 2 === 0;
      const ref = conv2dRef(xv, xs, wv, ws, { stride, padding, bias: epi ? bv : undefined, act: epi ? 'silu' : 'none' });
      poisonPool(d, Math.max(ref.data.length, xv.length, wv.length) * 4 + 4096, 2);
      const x = Tensor.fromArray(d, xv, xs), w = Tensor.fromArray(d, wv, ws), gy = Tensor.fromArray(d, gv, gs);
      const bias = epi ? Tensor.fromArray(d, bv, [Cout]) : undefined;
      const y = conv2d(x, w, { stride, padding, bias, act: epi ? 'silu' : 'none' });
      expect(relErr(await y.toArray(), ref.data), `y ${name(c)}${epi ? ' +bias silu' : ''}`).toBeLessThan(1e-4);
      const gx = conv2dBackwardInput(gy, w, xs, { stride, padding });
      expect(relErr(await gx.toArray(), conv2dBackwardInputRef(gv, gs, wv, ws, xs, { stride, padding })), `dx ${name(c)}`).toBeLessThan(1e-4);
      const gw = conv2dBackwardWeight(x, gy, ws, { stride, padding });
      expect(relErr(await gw.toArray(), conv2dBackwardWeightRef(xv, xs, gv, gs, ws, { stride, padding })), `dw ${name(c)}`).toBeLessThan(1e-4);
      [x, w, gy, y, gx, gw, bias].forEach((t) => t?.dispose());
    }
  });
});
