// The conv paths inside the network: a small U-Net (channels large enough for the texture paths)
// with the implicit-GEMM conv forced on, against the float64 reference of the same network
// (test/unet_ref.ts); its gradients against those of the buffer kernels (which test/unet.test.ts
// checks against finite differences); and the autograd rule of conv2d's fused extras (cbias,
// residual) against their closed forms.
import { describe, it, expect, beforeAll } from 'vitest';
import { device, rng, relErr, poisonPool, TEST_SEED } from './helpers.js';
import type { Device } from '../src/gpu/device.js';
import { Tensor } from '../src/tensor/tensor.js';
import { grad, noGrad } from '../src/autograd/engine.js';
import * as op from '../src/autograd/ops.js';
import { materialize } from '../src/nn/module.js';
import { UNet, unetConfig } from '../src/nn/unet.js';
import { unetRef, type ParamValues } from '../test/unet_ref.js';

let d: Device;
let usable = false;
beforeAll(async () => {
  d = await device();
  usable = d.caps.subgroups;
});

async function net(seed: number) {
  const cfg = unetConfig('small', {
    channels: 1, imageSize: 12, base: 16, mults: [1, 2], numResBlocks: 1, attnResolutions: [], midAttention: true, maxGroups: 4,
    fourierScale: 1, zeroInitLast: false, seed: seed % 1000,
  });
  const n = new UNet(cfg);
  const arena = materialize(d, n);
  const r = rng(seed);
  const vals = await arena.read();
  for (const [name, v] of vals) {
    const noise = r.normal(v.data.length);
    const amp = name.endsWith('gamma') || name.endsWith('bias') || name.endsWith('beta') ? 0.2 : 0.05;
    for (let i = 0; i < v.data.length; i++) v.data[i] += amp * noise[i];
  }
  arena.load(vals);
  const back = await arena.read();
  const P: ParamValues = new Map(arena.params.map(([name, p]) => [p, Float64Array.from(back.get(name)!.data)]));
  return { n, P };
}

describe(`conv paths in the U-Net (seed ${TEST_SEED})`, () => {
  it('forward with the implicit-GEMM conv forced matches the float64 reference', async (ctx) => {
    if (!usable) return ctx.skip();
    const { n, P } = await net(TEST_SEED);
    const r = rng(TEST_SEED + 1);
    const B = 3, xs = [B, 1, 12, 12];
    const xf = r.normal(B * 144), sf = r.uniform(B, 0.3, 3);
    const ref = unetRef(n, P, { d: Float64Array.from(xf), s: xs }, Float64Array.from(sf));
    await d.withPolicy({ convImplicit: 'always' }, async () => {
      // without gradients the norms write only their convs' input textures (groupNormConv2d): run
      // that first, on a poisoned pool, so that no buffer holds a right answer from an earlier run
      poisonPool(d, B * 32 * 14 * 14 * 4 * 4, 8);
      const y2 = noGrad(() => n.forward(Tensor.fromArray(d, xf, xs), Tensor.fromArray(d, sf, [B, 1])));
      expect(relErr(await y2.toArray(), ref.d), 'no-grad (norms write only the packed texture)').toBeLessThan(1e-4);
      const y = n.forward(Tensor.fromArray(d, xf, xs), Tensor.fromArray(d, sf, [B, 1]));
      expect(relErr(await y.toArray(), ref.d), 'with gradients on').toBeLessThan(1e-4);
    });
  });

  it('gradients (input and every parameter) agree between the implicit path and the buffer kernels', async (ctx) => {
    if (!usable) return ctx.skip();
    const { n } = await net(TEST_SEED + 5);
    const r = rng(TEST_SEED + 6);
    const B = 2, xs = [B, 1, 12, 12];
    const xf = r.normal(B * 144), sf = r.uniform(B, 0.3, 3);
    const gout = r.normal(B * 144);
    const run = (mode: 'always' | 'never') => d.withPolicy({ convImplicit: mode, convTex: mode === 'never' ? 'never' : 'auto' }, async () => {
      const x = Tensor.fromArray(d, xf, xs);
      x.requiresGrad = true;
      const params = n.namedParameters().map(([, p]) => p.value);
      const y = n.forward(x, Tensor.fromArray(d, sf, [B, 1]));
      const gs = grad(y, [x, ...params], { gradOutput: Tensor.fromArray(d, gout, xs), allowUnused: true });
      return Promise.all(gs.map((g) => g?.toArray() ?? null));
    });
    const a = await run('always'), b = await run('never');
    const names = ['x', ...n.namedParameters().map(([k]) => k)];
    const bad: string[] = [];
    // The key bias's true gradient is 0 (softmax ignores a constant added to a row of logits):
    // both paths give rounding noise there, so it is left out.
    a.forEach((g, i) => {
      if (!g || !b[i] || names[i].endsWith('attn.k.bias')) return;
      const e = relErr(g, b[i]!);
      if (!(e < 2e-4)) bad.push(`${names[i]}: ${e}`);
    });
    expect(bad, bad.join('; ')).toEqual([]);
  });

  it("conv2d's cbias and residual: values and gradients in closed form", async () => {
    const r = rng(TEST_SEED + 9);
    for (const mode of ['always', 'never'] as const) {
      if (mode === 'always' && !usable) continue;
      await d.withPolicy({ convImplicit: mode }, async () => {
        const B = 2, Cin = 5, Cout = 20, H = 9;
        const x = Tensor.fromArray(d, r.normal(B * Cin * H * H), [B, Cin, H, H]);
        const w = Tensor.fromArray(d, r.normal(Cout * Cin * 9), [Cout, Cin, 3, 3]);
        const bias = Tensor.fromArray(d, r.normal(Cout), [Cout]);
        const cbv = r.normal(B * Cout), resv = r.normal(B * Cout * H * H), gv = r.normal(B * Cout * H * H);
        const cbias = Tensor.fromArray(d, cbv, [B, Cout]), residual = Tensor.fromArray(d, resv, [B, Cout, H, H]);
        for (const t of [x, w, bias, cbias, residual]) t.requiresGrad = true;
        const y = op.conv2d(x, w, bias, { padding: 1, cbias, residual });
        const plain = op.conv2d(x, w, bias, { padding: 1 });
        const [yv, pv] = await Promise.all([y.toArray(), plain.toArray()]);
        const want = pv.map((v, i) => v + cbv[Math.floor(i / (H * H))] + resv[i]);
        expect(relErr(yv, want), `y (${mode})`).toBeLessThan(1e-5);
        const g = Tensor.fromArray(d, gv, [B, Cout, H, H]);
        const [gx, gw, gb, gcb, gres] = grad(y, [x, w, bias, cbias, residual], { gradOutput: g });
        const [px, pw, pb] = grad(plain, [x, w, bias], { gradOutput: g });
        const cbRef = new Float64Array(B * Cout);
        gv.forEach((v, i) => (cbRef[Math.floor(i / (H * H))] += v));
        expect(gcb!.shape).toEqual([B, Cout]);
        expect(relErr(await gcb!.toArray(), cbRef), `dcbias (${mode})`).toBeLessThan(1e-5);
        expect(relErr(await gres!.toArray(), gv), `dresidual (${mode})`).toBeLessThan(1e-6);
        expect(relErr(await gx!.toArray(), await px!.toArray()), `dx (${mode})`).toBeLessThan(1e-6);
        expect(relErr(await gw!.toArray(), await pw!.toArray()), `dw (${mode})`).toBeLessThan(1e-6);
        expect(relErr(await gb!.toArray(), await pb!.toArray()), `dbias (${mode})`).toBeLessThan(1e-6);
      });
    }
  });
});
