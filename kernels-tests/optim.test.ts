import { describe, it, expect, beforeAll } from 'vitest';
import { device, rng, relErr, poisonPool, TEST_SEED } from './helpers.js';
import { Tensor } from '../src/tensor/tensor.js';
import { adamStep, sgdStep, emaUpdate, createOptimState, writeOptimState } from '../src/tensor/ops/optim.js';
import { adamRef, sgdRef, emaRef, sumSquaresRef, gradScaleRef } from '../src/tensor/cpu/optim.js';
import type { Device } from '../src/gpu/device.js';

let d: Device;
beforeAll(async () => {
  d = await device();
});

const f = Math.fround;
const SIZES = [1, 7, 257, 100003];
// t jumps exercise the in-kernel 1 − βᵗ (binary powering) far from t = 1
const TS = [1, 2, 3, 50, 12345];

type Clip = 'none' | 'active' | 'inactive';

/**
 * ‖out − ref‖ / max(‖ref‖, ‖scale‖): relErr, except that a result that cancels to near zero (a
 * momentum average of gradients of both signs, at n = 1) is measured against the size of its terms.
 */
function errScaled(out: ArrayLike<number>, ref: ArrayLike<number>, scale: ArrayLike<number>): number {
  let num = 0, den = 0, sc = 0;
  for (let i = 0; i < ref.length; i++) {
    if (!Number.isFinite(out[i])) return Infinity;
    num += (out[i] - ref[i]) ** 2;
    den += ref[i] ** 2;
    sc += scale[i] ** 2;
  }
  return Math.sqrt(num / Math.max(den, sc));
}

describe(`optim (seed ${TEST_SEED})`, () => {
  for (const clip of ['none', 'active', 'inactive'] as Clip[]) {
    it(`AdamW over several steps, clipping ${clip}, odd sizes`, async () => {
      const r = rng(TEST_SEED + clip.length);
      for (const n of SIZES) {
        poisonPool(d, n * 4 + 256, 2);
        const hyper = { beta1: f(0.9), beta2: f(0.999), eps: f(1e-8), weightDecay: f(0.01) };
        const p0 = r.uniform(n, -1, 1);
        const params = Tensor.fromArray(d, p0), m = Tensor.fromArray(d, new Float32Array(n)), v = Tensor.fromArray(d, new Float32Array(n));
        const grads = Tensor.empty(d, [n]), gsq = Tensor.empty(d, [1]);
        const P = Float64Array.from(p0), M = new Float64Array(n), V = new Float64Array(n);
        // the same recursions on |g| and |p0|: the size of the terms each result sums
        const MA = new Float64Array(n), VA = new Float64Array(n), PA = Float64Array.from(p0, Math.abs);
        const state = createOptimState(d);
        let lrSum = 0;
        for (let k = 0; k < TS.length; k++) {
          const g = r.normal(n).map((x) => x * (0.5 + k));
          grads.write(g);
          const ss = f(sumSquaresRef(g));
          gsq.write([ss]);
          const norm = Math.sqrt(ss);
          const maxNorm = clip === 'active' ? f(0.3 * norm) : clip === 'inactive' ? f(10 * norm + 1) : undefined;
          const lr = f(0.01 / (k + 1)), gradScale = k === 2 ? f(0.5) : 1;
          lrSum += lr;
          writeOptimState(state, { lr, t: TS[k], gradScale });
          adamStep({ params, grads, m, v }, hyper, state, clip === 'none' ? {} : { gradSumSq: gsq, maxNorm });
          adamRef(P, g, M, V, { ...hyper, lr, t: TS[k], gradScale, gradSumSq: ss, maxNorm });
          adamRef(new Float64Array(n), g.map(Math.abs), MA, VA, { ...hyper, lr, t: TS[k], gradScale, gradSumSq: ss, maxNorm });
          if (clip === 'active') expect(gradScaleRef({ gradScale, gradSumSq: ss, maxNorm })).toBeLessThan(gradScale * 0.7);
        }
        // a parameter near zero moves by about lr a step: f32 rounding of the update (1 − β₂ᵗ at t = 1
        // is 0.001 to ~2e-5) is relative to that movement, not to the parameter
        for (let i = 0; i < n; i++) PA[i] += lrSum;
        expect(errScaled(await params.toArray(), P, PA), `params n=${n}`).toBeLessThan(1e-5);
        expect(errScaled(await m.toArray(), M, MA), `m n=${n}`).toBeLessThan(1e-5);
        expect(relErr(await v.toArray(), V), `v n=${n}`).toBeLessThan(1e-5);
        [params, m, v, grads, gsq].forEach((t) => t.dispose());
        state.dispose();
      }
    });
  }

  it('recorded AdamW over arena views replays with new lr, t and grads', async () => {
    const r = rng(TEST_SEED + 7);
    const n = 1000;
    const align = d.limits.minStorageBufferOffsetAlignment / 4;
    const off = Math.ceil(n / align) * align;
    poisonPool(d, 4 * 4 * off + 256, 2);
    // one arena holds params, m and v; another the grads (views at aligned offsets)
    const arena = Tensor.fromArray(d, new Float32Array(3 * off)).keep();
    const p0 = r.uniform(n);
    arena.view(0, [n]).write(p0);
    const params = arena.view(0, [n]).keep(), m = arena.view(off, [n]).keep(), v = arena.view(2 * off, [n]).keep();
    const garena = Tensor.empty(d, [off + n]).keep();
    const grads = garena.view(off, [n]).keep();
    const gsq = Tensor.empty(d, [1]).keep();
    const state = createOptimState(d);
    const hyper = { beta1: f(0.8), beta2: f(0.99), eps: f(1e-6), weightDecay: f(0.1) };
    const { recording } = d.record(() => {
      adamStep({ params, grads, m, v }, hyper, state, { gradSumSq: gsq, maxNorm: 2 });
    });
    expect(recording.dispatchCount).toBe(2); // prologue (per-step scalars) + update
    const P = Float64Array.from(p0), M = new Float64Array(n), V = new Float64Array(n);
    for (let t = 1; t <= 4; t++) {
      const g = r.normal(n).map((x) => x * 0.1 * t);
      grads.write(g);
      const ss = f(sumSquaresRef(g));
      gsq.write([ss]);
      const lr = f(0.003 * t);
      writeOptimState(state, { lr, t });
      recording.replay();
      adamRef(P, g, M, V, { ...hyper, lr, t, gradSumSq: ss, maxNorm: 2 });
    }
    expect(relErr(await params.toArray(), P)).toBeLessThan(1e-5);
    expect(relErr(await m.toArray(), M)).toBeLessThan(1e-5);
    expect(relErr(await v.toArray(), V)).toBeLessThan(1e-5);
    recording.dispose();
    [params, m, v, grads, garena, arena, gsq].forEach((t) => t.dispose());
    state.dispose();
  });

  it('SGD with and without (Nesterov) momentum', async () => {
    const r = rng(TEST_SEED + 3);
    for (const [mu, nesterov] of [[0, false], [0.9, false], [0.9, true]] as [number, boolean][]) {
      for (const n of [7, 257]) {
        poisonPool(d, n * 4 + 256, 2);
        const p0 = r.uniform(n);
        const params = Tensor.fromArray(d, p0), m = Tensor.fromArray(d, new Float32Array(n)), grads = Tensor.empty(d, [n]);
        const P = Float64Array.from(p0), M = new Float64Array(n);
        const PA = Float64Array.from(p0, Math.abs), MA = new Float64Array(n);
        const state = createOptimState(d);
        const gsq = Tensor.empty(d, [1]);
        for (let t = 1; t <= 3; t++) {
          const g = r.normal(n);
          grads.write(g);
          const ss = f(sumSquaresRef(g));
          gsq.write([ss]);
          const maxNorm = nesterov ? f(0.5 * Math.sqrt(ss)) : undefined; // clipping in the Nesterov case
          writeOptimState(state, { lr: f(0.05), t });
          sgdStep({ params, grads, m: mu ? m : undefined }, { momentum: f(mu), weightDecay: f(0.01), nesterov }, state, { gradSumSq: gsq, maxNorm });
          sgdRef(P, g, M, { lr: f(0.05), momentum: f(mu), weightDecay: f(0.01), nesterov, gradSumSq: ss, maxNorm });
          sgdRef(PA, g.map((x) => -Math.abs(x)), MA, { lr: f(0.05), momentum: f(mu), weightDecay: 0, nesterov, gradSumSq: ss, maxNorm });
        }
        gsq.dispose();
        expect(errScaled(await params.toArray(), P, PA), `sgd μ=${mu} nesterov=${nesterov} n=${n}`).toBeLessThan(1e-5);
        [params, m, grads].forEach((t) => t.dispose());
        state.dispose();
      }
    }
  });

  it('EMA over several steps, odd sizes', async () => {
    const r = rng(TEST_SEED + 5);
    for (const n of SIZES) {
      poisonPool(d, n * 4 + 256, 2);
      const e0 = r.uniform(n);
      const ema = Tensor.fromArray(d, e0), params = Tensor.empty(d, [n]);
      const E = Float64Array.from(e0), EA = Float64Array.from(e0, Math.abs);
      for (const decay of [0.999, 0.9, 0.5, 0.99]) {
        const pv = r.uniform(n, -2, 2);
        params.write(pv);
        expect(emaUpdate(ema, params, decay)).toBe(ema);
        emaRef(E, pv, f(decay));
        emaRef(EA, pv.map(Math.abs), f(decay));
      }
      expect(errScaled(await ema.toArray(), E, EA), `ema n=${n}`).toBeLessThan(1e-5);
      [ema, params].forEach((t) => t.dispose());
    }
  });

  it('rejects mismatched sizes, aliasing and a missing Σg²', async () => {
    const a = Tensor.fromArray(d, new Float32Array(8)), b = Tensor.fromArray(d, new Float32Array(7));
    const c = Tensor.fromArray(d, new Float32Array(8)), e = Tensor.fromArray(d, new Float32Array(8));
    const s = createOptimState(d);
    const h = { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 };
    expect(() => adamStep({ params: a, grads: b, m: c, v: e }, h, s)).toThrow(/grads \[7\] does not match params \[8\]/);
    expect(() => adamStep({ params: a, grads: c, m: c, v: e }, h, s)).toThrow(/shares storage/);
    expect(() => adamStep({ params: a, grads: c, m: e, v: a.reshape([8]) }, h, s)).toThrow(/shares storage/);
    expect(() => adamStep({ params: a, grads: c, m: e, v: b }, h, s, { maxNorm: 1 })).toThrow();
    expect(() => writeOptimState(s, { lr: 1, t: 0 })).toThrow(/t must be/);
    expect(() => emaUpdate(a, b, 0.9)).toThrow(/\[7\]/);
    [a, b, c, e].forEach((t) => t.dispose());
    s.dispose();
  });
});

describe('EMA decay warm-up from the optimizer step', () => {
  it('uses d = min(decay, (1+t)/(10+t)) with t read from the optimizer state', async () => {
    const r = rng(TEST_SEED + 4242);
    const n = 257;
    const e0 = r.uniform(n), p0 = r.uniform(n);
    const ema = Tensor.fromArray(d, e0), params = Tensor.fromArray(d, p0);
    const state = createOptimState(d);
    const ref = Float64Array.from(e0);
    for (const t of [1, 2, 50, 5000]) {
      writeOptimState(state, { lr: 1e-3, t });
      emaUpdate(ema, params, 0.999, { warmupFrom: state });
      emaRef(ref, p0, Math.min(0.999, (1 + t) / (10 + t)));
    }
    expect(relErr(await ema.toArray(), ref)).toBeLessThan(1e-6);
    state.dispose();
  });
});
