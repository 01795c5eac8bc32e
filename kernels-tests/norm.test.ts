import { describe, it, expect, beforeAll } from 'vitest';
import { device, rng, relErr, poisonPool, TEST_SEED, itUnder } from './helpers.js';
import { Tensor } from '../src/tensor/tensor.js';
import { groupNorm, groupNormWithStats, groupNormBackward } from '../src/tensor/ops/norm.js';
import { groupNormRef, groupNormBackwardRef } from '../src/tensor/cpu/norm.js';
import type { Device } from '../src/gpu/device.js';

let d: Device;
beforeAll(async () => {
  d = await device();
});

const numel = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

// Both launch styles run on every adapter: workgroup trees and thread-per-group.
for (const style of ['gpu', 'cpu'] as const)
describe(`groupNorm, ${style} style (seed ${TEST_SEED})`, () => {
  // the policy's rowStyle forces the style for this block's tests (Device.withPolicy)
  const it = itUnder({ rowStyle: style });
  const cases: [number[], number][] = [
    [[1, 1], 1],
    [[7, 6], 2],           // [B, C] (2-element groups are ill-conditioned: gx ≈ 0 up to eps)
    [[3, 8, 33], 4],       // [B, C, L]
    [[2, 32, 7, 7], 8],
    [[2, 4, 33, 33], 2],   // long groups: 2178 elements
    [[1, 64, 4, 4], 32],
    [[3, 6, 1, 129], 1],
    // spatial size a multiple of 4: the cpu style's vec4 forward (shaders/norm_vec4.wgsl)
    [[3, 12, 6, 6], 3],
    [[2, 8, 28, 28], 4],
  ];
  const variants = [
    { affine: false, silu: false },
    { affine: true, silu: false },
    { affine: true, silu: true },
  ];
  for (const v of variants) {
    it(`forward and backward (affine ${v.affine}, silu ${v.silu})`, async () => {
      const r = rng(TEST_SEED + (v.affine ? 1 : 0) + (v.silu ? 2 : 0));
      for (const [shape, groups] of cases) {
        const C = shape[1];
        const xs = r.uniform(numel(shape), -3, 5);   // off-centre: the mean matters
        const gs = r.normal(numel(shape));
        const ga = v.affine ? r.uniform(C, 0.5, 1.5) : null;
        const be = v.affine ? r.uniform(C, -0.5, 0.5) : null;
        poisonPool(d, xs.length * 4 + 4096, 2);
        const x = Tensor.fromArray(d, xs, shape);
        const gamma = ga ? Tensor.fromArray(d, ga) : undefined;
        const beta = be ? Tensor.fromArray(d, be) : undefined;
        const { y, mean, rstd } = groupNormWithStats(x, groups, gamma, beta, 1e-5, { silu: v.silu });
        const ref = groupNormRef(xs, shape, groups, ga, be, 1e-5, v.silu);
        const tag = `${shape} groups ${groups}`;
        expect(mean.shape).toEqual([shape[0], groups]);
        expect(relErr(await y.toArray(), ref.y), `y ${tag}`).toBeLessThan(1e-4);
        expect(relErr(await mean.toArray(), ref.mean), `mean ${tag}`).toBeLessThan(1e-5);
        expect(relErr(await rstd.toArray(), ref.rstd), `rstd ${tag}`).toBeLessThan(1e-4);
        const g = Tensor.fromArray(d, gs, shape);
        const b = groupNormBackward(x, g, mean, rstd, groups, gamma, { silu: v.silu, beta });
        const bref = groupNormBackwardRef(xs, gs, shape, groups, ga, be, 1e-5, v.silu);
        expect(relErr(await b.gx.toArray(), bref.gx), `gx ${tag}`).toBeLessThan(1e-4);
        expect(relErr(await b.ggamma.toArray(), bref.ggamma), `ggamma ${tag}`).toBeLessThan(1e-4);
        expect(relErr(await b.gbeta.toArray(), bref.gbeta), `gbeta ${tag}`).toBeLessThan(1e-4);
        [x, g, y, mean, rstd, b.gx, b.ggamma, b.gbeta, ...(gamma ? [gamma, beta!] : [])].forEach((t) => t.dispose());
      }
    });
  }

  it('the reference backward matches finite differences of the reference forward', () => {
    const r = rng(TEST_SEED + 9);
    const shape = [2, 4, 3], groups = 2;
    const xs = Array.from(r.uniform(24, -2, 2)), gs = Array.from(r.normal(24));
    const ga = Array.from(r.uniform(4, 0.5, 1.5)), be = Array.from(r.uniform(4, -0.5, 0.5));
    for (const silu of [false, true]) {
      const loss = (xx: number[], gg: number[], bb: number[]) => groupNormRef(xx, shape, groups, gg, bb, 1e-5, silu).y.reduce((a, y, i) => a + y * gs[i], 0);
      const an = groupNormBackwardRef(xs, gs, shape, groups, ga, be, 1e-5, silu);
      const h = 1e-6;
      const fd = (arr: number[], i: number, f: (a: number[]) => number) => {
        const p = [...arr], m = [...arr];
        p[i] += h; m[i] -= h;
        return (f(p) - f(m)) / (2 * h);
      };
      const fx = xs.map((_, i) => fd(xs, i, (a) => loss(a, ga, be)));
      const fg = ga.map((_, i) => fd(ga, i, (a) => loss(xs, a, be)));
      const fb = be.map((_, i) => fd(be, i, (a) => loss(xs, ga, a)));
      expect(relErr(an.gx, fx)).toBeLessThan(1e-6);
      expect(relErr(an.ggamma, fg)).toBeLessThan(1e-6);
      expect(relErr(an.gbeta, fb)).toBeLessThan(1e-6);
    }
  });

  it('groupNorm without stats, and errors naming the shape and axis', async () => {
    const x = Tensor.fromArray(d, Float32Array.from({ length: 12 }, (_, i) => i), [2, 6]);
    const y = groupNorm(x, 3);
    expect(relErr(await y.toArray(), groupNormRef(Array.from({ length: 12 }, (_, i) => i), [2, 6], 3, null, null, 1e-5).y)).toBeLessThan(1e-5);
    expect(() => groupNorm(x, 4)).toThrow(/4 groups .*6 channels \(axis 1\) of \[2, 6\]/);
    expect(() => groupNorm(x, 3, Tensor.fromArray(d, [1, 2]))).toThrow(/gamma \[2\] .*\[2, 6\]/);
    expect(() => groupNorm(Tensor.fromArray(d, [1, 2]), 1)).toThrow(/rank >= 2.*\[2\]/);
    [x, y].forEach((t) => t.dispose());
  });
});
