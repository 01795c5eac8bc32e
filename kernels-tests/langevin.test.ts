import { describe, it, expect, beforeAll } from 'vitest';
import { device, rng, relErr, poisonPool, TEST_SEED } from './helpers.js';
import { Tensor } from '../src/tensor/tensor.js';
import { langevinStep, langevinUpdate, langevinNoise } from '../src/tensor/ops/langevin.js';
import { randn, createClock, setClock } from '../src/tensor/ops/random.js';
import { langevinRef, langevinUpdateRef } from '../src/tensor/cpu/langevin.js';
import { normalRef, u32Of } from '../src/tensor/cpu/random.js';
import type { Device } from '../src/gpu/device.js';

let d: Device;
beforeAll(async () => {
  d = await device();
});

const seed = u32Of(TEST_SEED);

/** The kernel's own z: run the update with x = 0, s = 0, step = 0, noiseScale = 1. */
async function kernelZ(n: number, opts: { stream: number; clock?: ReturnType<typeof createClock> }): Promise<Float32Array> {
  const zero = Tensor.fromArray(d, new Float32Array(n));
  const zs = Tensor.fromArray(d, new Float32Array(n));
  const out = Tensor.empty(d, [n]);
  langevinStep(zero, zs, { step: 0, noiseScale: 1, seed, ...opts, out });
  const z = await out.toArray();
  [zero, zs, out].forEach((t) => t.dispose());
  return z;
}

/** relErr, but a result that cancels to near zero (n = 1) is measured against the size of its terms. */
function errScaled(out: ArrayLike<number>, ref: ArrayLike<number>, x: ArrayLike<number>, s: ArrayLike<number>, z: ArrayLike<number>, a: number, b: number): number {
  let num = 0, den = 0;
  for (let i = 0; i < ref.length; i++) {
    if (!Number.isFinite(out[i])) return Infinity;
    num += (out[i] - ref[i]) ** 2;
    den += Math.max(ref[i] ** 2, (Math.abs(x[i]) + Math.abs(a * s[i]) + Math.abs(b * z[i])) ** 2);
  }
  return Math.sqrt(num / den);
}

describe(`langevin (seed ${TEST_SEED})`, () => {
  it('matches x + step·s + noise·z with the kernel\'s own z, in place and out of place, odd sizes', async () => {
    const r = rng(TEST_SEED);
    for (const n of [1, 7, 257, 100003]) {
      poisonPool(d, n * 4 + 256, 2);
      const clock = createClock(d, 17);
      const z = await kernelZ(n, { stream: 5, clock });
      // z is the same draw randn makes under the same key
      const zr = langevinNoise(d, [n], seed, { stream: 5, clock });
      expect(errScaled(z, await zr.toArray(), new Float64Array(n).fill(1), z, z, 0, 0)).toBeLessThan(1e-6); // bit for bit on lavapipe; same code on any adapter
      expect(errScaled(z, normalRef(n, { seed, stream: 5, offset: 0, step: 17 }), new Float64Array(n).fill(1), z, z, 0, 0)).toBeLessThan(1e-5);
      const xv = r.uniform(n, -2, 2), sv = r.uniform(n, -3, 3);
      const x = Tensor.fromArray(d, xv), s = Tensor.fromArray(d, sv);
      const out = Tensor.empty(d, [n]);
      expect(langevinStep(x, s, { step: 0.37, noiseScale: 0.81, seed, stream: 5, clock, out })).toBe(out);
      const ref = langevinRef(xv, sv, z, 0.37, 0.81);
      expect(errScaled(await out.toArray(), ref, xv, sv, z, 0.37, 0.81), `out n=${n}`).toBeLessThan(1e-6);
      expect(Array.from(await x.toArray())).toEqual(Array.from(xv)); // x untouched
      expect(langevinStep(x, s, { step: 0.37, noiseScale: 0.81, seed, stream: 5, clock })).toBe(x);
      expect(errScaled(await x.toArray(), ref, xv, sv, z, 0.37, 0.81), `in place n=${n}`).toBeLessThan(1e-6);
      // plain Langevin
      x.write(xv);
      langevinUpdate(x, s, 0.01, seed, { stream: 5, clock });
      expect(errScaled(await x.toArray(), langevinUpdateRef(xv, sv, z, 0.01), xv, sv, z, 0.005, 0.1), `langevinUpdate n=${n}`).toBeLessThan(1e-6);
      [zr, x, s, out].forEach((t) => t.dispose());
      clock.dispose();
    }
  });

  it('coef tensor scales step and noise on the device', async () => {
    const n = 1031;
    const r = rng(TEST_SEED + 1);
    const xv = r.uniform(n), sv = r.uniform(n);
    const z = await kernelZ(n, { stream: 9 });
    const x = Tensor.fromArray(d, xv), s = Tensor.fromArray(d, sv), coef = Tensor.fromArray(d, [0.5, 3]);
    langevinStep(x, s, { step: 0.2, noiseScale: 0.1, seed, stream: 9, coef });
    expect(relErr(await x.toArray(), langevinRef(xv, sv, z, 0.1, 0.3))).toBeLessThan(1e-6);
    [x, s, coef].forEach((t) => t.dispose());
  });

  it('box clamps each coordinate to its own [lo, hi] in the same pass (rows of odd width, in place and out, with coef)', async () => {
    const r = rng(TEST_SEED + 2);
    for (const [rows, D] of [[1, 1], [37, 3], [501, 7], [64, 2]] as const) {
      const n = rows * D;
      poisonPool(d, n * 4 + 256, 2);
      const z = await kernelZ(n, { stream: 4 });
      // boxes that cut off a good share of the results on both sides, one per coordinate
      const lo = r.uniform(D, -1.5, -0.2), hi = r.uniform(D, 0.2, 1.5);
      const xv = r.uniform(n, -2, 2), sv = r.uniform(n, -3, 3);
      const box = Tensor.fromArray(d, [...lo, ...hi], [2, D]);
      const x = Tensor.fromArray(d, xv, [rows, D]), s = Tensor.fromArray(d, sv, [rows, D]);
      const coef = Tensor.fromArray(d, [0.5, 2]);
      const ref = langevinRef(xv, sv, z, 0.2, 0.6).map((v, i) => Math.min(Math.max(v, lo[i % D]), hi[i % D]));
      const clipped = ref.filter((v, i) => v === lo[i % D] || v === hi[i % D]).length;
      if (n > 10) expect(clipped, `${rows}×${D}: the test must clip`).toBeGreaterThan(n / 10);
      const out = Tensor.empty(d, [rows, D]);
      langevinStep(x, s, { step: 0.4, noiseScale: 0.3, seed, stream: 4, coef, box, out });
      langevinStep(x, s, { step: 0.4, noiseScale: 0.3, seed, stream: 4, coef, box });
      for (const [what, got] of [['out', await out.toArray()], ['in place', await x.toArray()]] as const) {
        for (let i = 0; i < n; i++) expect(Math.abs(got[i] - ref[i]), `${what} ${rows}×${D} element ${i}`).toBeLessThan(1e-5 * (1 + Math.abs(ref[i])));
      }
      [x, s, coef, box, out].forEach((t) => t.dispose());
    }
    const x = Tensor.fromArray(d, new Float32Array(12), [4, 3]), s = Tensor.fromArray(d, new Float32Array(12), [4, 3]);
    const bad = Tensor.fromArray(d, new Float32Array(8), [2, 4]);
    expect(() => langevinStep(x, s, { step: 1, noiseScale: 1, box: bad })).toThrow(/box must be \[2, D\].*\[2, 4\].*\[4, 3\]/);
    [x, s, bad].forEach((t) => t.dispose());
  });

  it('recorded step: new noise per clock step, same noise for the same step', async () => {
    const n = 300;
    const clock = createClock(d);
    const x = Tensor.fromArray(d, new Float32Array(n)).keep(), s = Tensor.fromArray(d, new Float32Array(n).fill(1)).keep();
    const { recording } = d.record(() => {
      langevinUpdate(x, s, 0.04, seed, { clock, stream: 1 });
    });
    const results: Float32Array[] = [];
    for (const step of [3, 4, 3]) {
      x.write(new Float32Array(n));
      setClock(clock, step);
      recording.replay();
      const got = await x.toArray();
      const z = normalRef(n, { seed, stream: 1, offset: 0, step });
      expect(relErr(got, langevinUpdateRef(new Float64Array(n), new Float64Array(n).fill(1), z, 0.04))).toBeLessThan(1e-5);
      results.push(got);
    }
    expect(Array.from(results[2])).toEqual(Array.from(results[0]));
    expect(results[1].some((v, i) => v !== results[0][i])).toBe(true);
    recording.dispose();
    [x, s].forEach((t) => t.dispose());
    clock.dispose();
  });

  it('successive unseeded calls draw different noise; a seed repeats it', async () => {
    const n = 64;
    const x = Tensor.fromArray(d, new Float32Array(n)), s = Tensor.fromArray(d, new Float32Array(n));
    const a = Tensor.empty(d, [n]), b = Tensor.empty(d, [n]), c = Tensor.empty(d, [n]), e = Tensor.empty(d, [n]);
    langevinStep(x, s, { step: 0, noiseScale: 1, out: a });
    langevinStep(x, s, { step: 0, noiseScale: 1, out: b });
    langevinStep(x, s, { step: 0, noiseScale: 1, seed: 3, out: c });
    langevinStep(x, s, { step: 0, noiseScale: 1, seed: 3, out: e });
    const av = await a.toArray(), bv = await b.toArray();
    expect(av.some((v, i) => v !== bv[i])).toBe(true);
    expect(Array.from(await e.toArray())).toEqual(Array.from(await c.toArray()));
    [x, s, a, b, c, e].forEach((t) => t.dispose());
  });

  it('rejects mismatched sizes and aliasing', async () => {
    const x = Tensor.fromArray(d, new Float32Array(8)), s = Tensor.fromArray(d, new Float32Array(7));
    expect(() => langevinStep(x, s, { step: 1, noiseScale: 1 })).toThrow(/\[8\].*\[7\]/);
    expect(() => langevinStep(x, x, { step: 1, noiseScale: 1 })).toThrow(/shares storage/);
    expect(() => langevinStep(x, x.reshape([8]), { step: 1, noiseScale: 1, out: x })).toThrow(/shares storage/);
    [x, s].forEach((t) => t.dispose());
  });
});
