import { describe, expect, beforeAll } from 'vitest';
import { device, rng, relErr, poisonPool, TEST_SEED, itUnder } from './helpers.js';
import { Tensor } from '../src/tensor/tensor.js';
import { conv2d, conv2dBackwardInput, conv2dBackwardWeight, conv2dOutSize } from '../src/tensor/ops/conv2d.js';
import { conv2dRef, conv2dBackwardInputRef, conv2dBackwardWeightRef } from '../src/tensor/cpu/conv2d.js';
import type { Device } from '../src/gpu/device.js';

// The buffer kernels (shaders/conv2d.wgsl) on every adapter: the texture paths are switched off
// here (the device's kernel policy) and have their own tests (conv2d_tex.test.ts, conv2d_implicit.test.ts).
let d: Device;
beforeAll(async () => {
  d = await device();
});
const it = itUnder({ convTex: 'never', convImplicit: 'never' });

// [B, Cin, H, W, Cout, k, stride, padding]
type Case = [number, number, number, number, number, number, number, number];
const cases: Case[] = [
  [2, 3, 9, 11, 5, 3, 1, 1],
  [1, 5, 7, 13, 9, 3, 2, 1],
  [2, 4, 8, 8, 8, 3, 1, 0],
  [1, 7, 10, 9, 3, 3, 2, 0],
  [2, 6, 5, 7, 11, 1, 1, 0],
  [1, 9, 6, 9, 4, 1, 2, 0],
  [1, 1, 17, 19, 16, 3, 1, 1],
  [2, 16, 4, 4, 1, 3, 1, 1],
  [1, 3, 1, 1, 2, 1, 1, 0],
];
const name = (c: Case) => `x[${c[0]},${c[1]},${c[2]},${c[3]}] w[${c[4]},${c[1]},${c[5]},${c[5]}] s${c[6]} p${c[7]}`;

describe(`conv2d (seed ${TEST_SEED})`, () => {
  it('forward: stride 1/2, padding 0/1, 3×3 and 1×1, odd channels and sizes, bias + silu', async () => {
    let seed = TEST_SEED;
    for (const c of cases) {
      const [B, Cin, H, W, Cout, k, stride, padding] = c;
      for (const epi of [false, true]) {
        const r = rng(seed++);
        const xs = [B, Cin, H, W], ws = [Cout, Cin, k, k];
        const xv = r.normal(B * Cin * H * W), wv = r.normal(Cout * Cin * k * k), bv = r.normal(Cout);
        const ref = conv2dRef(xv, xs, wv, ws, { stride, padding, bias: epi ? bv : undefined, act: epi ? 'silu' : 'none' });
        poisonPool(d, ref.data.length * 4 + 4096, 2);
        const x = Tensor.fromArray(d, xv, xs), w = Tensor.fromArray(d, wv, ws), bias = epi ? Tensor.fromArray(d, bv, [Cout]) : undefined;
        const y = conv2d(x, w, { stride, padding, bias, act: epi ? 'silu' : 'none' });
        expect(y.shape).toEqual(ref.shape);
        expect(relErr(await y.toArray(), ref.data), name(c) + (epi ? ' +bias silu' : '')).toBeLessThan(1e-4);
        [x, w, y, bias].forEach((t) => t?.dispose());
      }
    }
  });
  it('forward with other tile configs', async () => {
    let seed = TEST_SEED + 500;
    for (const config of [{ tp: 4, tc4: 1, wg: 8 }, { tp: 8, tc4: 2, wg: 16 }, { tp: 2, tc4: 4, wg: 8 }]) {
      for (const c of [cases[0], cases[1]]) {
        const [B, Cin, H, W, Cout, k, stride, padding] = c;
        const r = rng(seed++);
        const xs = [B, Cin, H, W], ws = [Cout, Cin, k, k];
        const xv = r.normal(B * Cin * H * W), wv = r.normal(Cout * Cin * k * k);
        const ref = conv2dRef(xv, xs, wv, ws, { stride, padding });
        poisonPool(d, ref.data.length * 4 + 4096, 2);
        const x = Tensor.fromArray(d, xv, xs), w = Tensor.fromArray(d, wv, ws);
        const y = conv2d(x, w, { stride, padding, config });
        expect(relErr(await y.toArray(), ref.data), `${name(c)} ${JSON.stringify(config)}`).toBeLessThan(1e-4);
        [x, w, y].forEach((t) => t.dispose());
      }
    }
  });
  it('backward input and weight against their references', async () => {
    let seed = TEST_SEED + 1000;
    for (const c of cases) {
      const [B, Cin, H, W, Cout, k, stride, padding] = c;
      const r = rng(seed++);
      const Ho = conv2dOutSize(H, k, stride, padding), Wo = conv2dOutSize(W, k, stride, padding);
      const xs = [B, Cin, H, W], ws = [Cout, Cin, k, k], gs = [B, Cout, Ho, Wo];
      const xv = r.normal(B * Cin * H * W), wv = r.normal(Cout * Cin * k * k), gv = r.normal(B * Cout * Ho * Wo);
      poisonPool(d, xv.length * 4 + 4096, 2);
      const x = Tensor.fromArray(d, xv, xs), w = Tensor.fromArray(d, wv, ws), gy = Tensor.fromArray(d, gv, gs);
      const gx = conv2dBackwardInput(gy, w, xs, { stride, padding });
      expect(gx.shape).toEqual(xs);
      expect(relErr(await gx.toArray(), conv2dBackwardInputRef(gv, gs, wv, ws, xs, { stride, padding })), `dx ${name(c)}`).toBeLessThan(1e-4);
      const gw = conv2dBackwardWeight(x, gy, ws, { stride, padding });
      expect(gw.shape).toEqual(ws);
      expect(relErr(await gw.toArray(), conv2dBackwardWeightRef(xv, xs, gv, gs, ws, { stride, padding })), `dw ${name(c)}`).toBeLessThan(1e-4);
      [x, w, gy, gx, gw].forEach((t) => t.dispose());
    }
  });
  it('backward input is the adjoint of the forward map: <conv(x), g> = <x, convBwdInput(g)>', async () => {
    let seed = TEST_SEED + 2000;
    for (const c of [cases[0], cases[1], cases[3], cases[5]]) {
      const [B, Cin, H, W, Cout, k, stride, padding] = c;
      const r = rng(seed++);
      const Ho = conv2dOutSize(H, k, stride, padding), Wo = conv2dOutSize(W, k, stride, padding);
      const xs = [B, Cin, H, W], ws = [Cout, Cin, k, k], gs = [B, Cout, Ho, Wo];
      const x = Tensor.fromArray(d, r.normal(B * Cin * H * W), xs), w = Tensor.fromArray(d, r.normal(Cout * Cin * k * k), ws);
      const g = Tensor.fromArray(d, r.normal(B * Cout * Ho * Wo), gs);
      const y = conv2d(x, w, { stride, padding }), gx = conv2dBackwardInput(g, w, xs, { stride, padding });
      const [yv, gv, xv, gxv] = await Promise.all([y.toArray(), g.toArray(), x.toArray(), gx.toArray()]);
      let lhs = 0, rhs = 0, scale = 0;
      for (let i = 0; i < yv.length; i++) { lhs += yv[i] * gv[i]; scale += Math.abs(yv[i] * gv[i]); }
      for (let i = 0; i < xv.length; i++) rhs += xv[i] * gxv[i];
      expect(Math.abs(lhs - rhs) / scale, name(c)).toBeLessThan(1e-5);
      [x, w, g, y, gx].forEach((t) => t.dispose());
    }
  });
  it('shape errors name both shapes', () => {
    const x = Tensor.empty(d, [1, 3, 8, 8]), w = Tensor.empty(d, [4, 5, 3, 3]);
    expect(() => conv2d(x, w)).toThrow(/\[1, 3, 8, 8\].*\[4, 5, 3, 3\]/);
    [x, w].forEach((t) => t.dispose());
  });
});
