// The U-Net score network against a float64 CPU reference of the same network (test/unet_ref.ts):
// forward, and the gradient with respect to the input and several parameters against central
// finite differences of the reference along random directions (test/gradcheck.ts's pattern).
import { describe, it, expect, beforeAll } from 'vitest';
import { device, rng, relErr, TEST_SEED } from '../kernels-tests/helpers.js';
import type { Device } from '../src/gpu/device.js';
import { Tensor } from '../src/tensor/tensor.js';
import { grad } from '../src/autograd/engine.js';
import { materialize, type Param, type ParamArena } from '../src/nn/module.js';
import { UNet, unetConfig, createUNet, type UNetConfig } from '../src/nn/unet.js';
import { unetRef, type ParamValues } from './unet_ref.js';

let d: Device;
beforeAll(async () => {
  d = await device();
});

const dotf = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
};
const close = (a: number, n: number, tol = 2e-3) => Math.abs(a - n) <= tol * Math.max(1, Math.abs(n));

/** A tiny network whose parameters are perturbed away from the DDPM init (zero convs, unit γ). */
async function tiny(over: Partial<UNetConfig>, seed: number): Promise<{ net: UNet; arena: ParamArena; P: ParamValues }> {
  const cfg = unetConfig('small', {
    channels: 2, imageSize: 6, base: 8, mults: [1, 2], numResBlocks: 1, attnResolutions: [3], midAttention: true, maxGroups: 4,
    fourierScale: 1, seed: seed % 1000, ...over,
  });
  const net = new UNet(cfg);
  const arena = materialize(d, net);
  const r = rng(seed);
  const vals = await arena.read();
  for (const [name, v] of vals) {
    const noise = r.normal(v.data.length);
    const amp = name.endsWith('gamma') || name.endsWith('bias') || name.endsWith('beta') ? 0.2 : 0.1;
    for (let i = 0; i < v.data.length; i++) v.data[i] += amp * noise[i];
  }
  arena.load(vals);
  const back = await arena.read();
  const P: ParamValues = new Map(arena.params.map(([name, p]) => [p, Float64Array.from(back.get(name)!.data)]));
  return { net, arena, P };
}

describe(`U-Net (seed ${TEST_SEED})`, () => {
  it('reference preset has ~3.6M parameters, small ~100–300k', () => {
    const ref = createUNet('reference');
    expect(Math.abs(ref.parameterCount() / 3.6e6 - 1)).toBeLessThan(0.05);
    const small = createUNet('small').parameterCount();
    expect(small).toBeGreaterThan(100e3);
    expect(small).toBeLessThan(300e3);
  });

  it('rejects sizes that do not halve evenly and wrong input shapes', () => {
    expect(() => unetConfig('reference', { imageSize: 30 })).toThrow(/halve/);
    const net = new UNet(unetConfig('small', { imageSize: 8, base: 8, mults: [1, 2], maxGroups: 4 }));
    materialize(d, net);
    expect(() => net.forward(Tensor.empty(d, [2, 1, 4, 4]), Tensor.empty(d, [2, 1]))).toThrow(/not \[B, 1, 8, 8\]/);
  });

  const variants: [string, Partial<UNetConfig>][] = [
    ['fourier σ, strided conv, ÷σ', {}],
    ['sinusoidal t, avg-pool', { embedding: 'sinusoidal', resample: 'avgpool', attnResolutions: [] }],
  ];
  for (const [name, over] of variants) {
    it(`forward matches the float64 reference (${name})`, async () => {
      const { net, P } = await tiny(over, TEST_SEED);
      const r = rng(TEST_SEED + 1);
      const B = 2;
      const xs = [B, net.cfg.channels, 6, 6];
      const x = Float64Array.from(r.normal(xs.reduce((a, b) => a * b)));
      const s = net.cfg.embedding === 'fourier' ? Float64Array.from(r.uniform(B, 0.3, 3)) : Float64Array.from({ length: B }, () => Math.floor(r.next() * 1000));
      const xf = Float32Array.from(x), sf = Float32Array.from(s);
      const y = net.forward(Tensor.fromArray(d, xf, xs), Tensor.fromArray(d, sf, [B, 1]));
      expect(y.shape).toEqual(xs);
      const ref = unetRef(net, P, { d: Float64Array.from(xf), s: xs }, Float64Array.from(sf));
      const err = relErr(await y.toArray(), ref.d);
      expect(err, `relErr ${err}`).toBeLessThan(1e-4);
    });
  }

  it('backward matches finite differences of the reference (input and parameters)', async () => {
    const { net, P } = await tiny({}, TEST_SEED + 7);
    const r = rng(TEST_SEED + 8);
    const B = 2;
    const xs = [B, net.cfg.channels, 6, 6];
    const xf = r.normal(xs.reduce((a, b) => a * b));
    const sf = r.uniform(B, 0.3, 3);
    const x = Tensor.fromArray(d, xf, xs);
    x.requiresGrad = true;
    const y = net.forward(x, Tensor.fromArray(d, sf, [B, 1]));
    const w = r.normal(y.size);
    const named = new Map(net.namedParameters());
    const which = [
      'convIn.weight', 'embed0.weight', 'down0.res0.conv1.weight', 'down0.res0.temb.bias', 'down0.down.conv.weight',
      'down1.res0.skip.weight', 'down1.attn0.q.weight', 'down1.attn0.k.bias', 'mid.attn.v.weight', 'mid.res2.norm1.gamma',
      'up1.res1.conv2.weight', 'up1.up.conv.weight', 'up0.res0.norm1.beta', 'normOut.gamma', 'convOut.weight',
    ];
    const params: Param[] = which.map((n) => {
      const p = named.get(n);
      if (!p) throw new Error(`no parameter ${n}`);
      return p;
    });
    const gs = grad(y, [x, ...params.map((p) => p.value)], { gradOutput: Tensor.fromArray(d, w, y.shape) });

    const x64 = Float64Array.from(xf), s64 = Float64Array.from(sf), w64 = Float64Array.from(w);
    const f = (xv: Float64Array, PP: ParamValues) => dotf(unetRef(net, PP, { d: xv, s: xs }, s64).d, w64);
    const h = 1e-4;
    const failures: string[] = [];
    for (let j = 0; j <= params.length; j++) {
      const g = await gs[j]!.toArray();
      const base = j === 0 ? x64 : P.get(params[j - 1])!;
      const u = Float64Array.from(r.normal(base.length));
      const at = (t: number) => {
        const shifted = base.map((v, i) => v + t * u[i]);
        if (j === 0) return f(shifted, P);
        return f(x64, new Map(P).set(params[j - 1], shifted));
      };
      const numeric = (at(h) - at(-h)) / (2 * h);
      const analytic = dotf(g, u);
      const label = j === 0 ? 'x' : which[j - 1];
      if (!close(analytic, numeric)) failures.push(`${label}: ${analytic} vs ${numeric}`);
    }
    expect(failures, failures.join('; ')).toEqual([]);
  });
});
