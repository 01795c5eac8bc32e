import { describe, it, expect, beforeAll } from 'vitest';
import { device, rng, poisonPool, TEST_SEED } from './helpers.js';
import { Tensor } from '../src/tensor/tensor.js';
import { affineUpdate, UpdateCoefficients, type UpdateCoef } from '../src/tensor/ops/affine_update.js';
import { ByteRows } from '../src/tensor/ops/bytes.js';
import { randn, createClock } from '../src/tensor/ops/random.js';
import { affineUpdateRef, gatherBytesRef } from '../src/tensor/cpu/affine_update.js';
import { u32Of } from '../src/tensor/cpu/random.js';
import type { Device } from '../src/gpu/device.js';

let d: Device;
beforeAll(async () => {
  d = await device();
});
const seed = u32Of(TEST_SEED);

/** Error against the size of the terms (a random combination can cancel to near zero). */
function termErr(out: ArrayLike<number>, ref: ArrayLike<number>, scale: ArrayLike<number>): number {
  let num = 0, den = 0;
  for (let i = 0; i < ref.length; i++) {
    if (!Number.isFinite(out[i])) return Infinity;
    num += (out[i] - ref[i]) ** 2;
    den += Math.max(ref[i] ** 2, scale[i] ** 2);
  }
  return Math.sqrt(num / Math.max(den, 1e-30));
}

describe(`affine update x ← a·x + b·clip(p·x + q·out) + c·z (seed ${TEST_SEED})`, () => {
  it('matches the float64 reference with randn\'s own z, odd sizes, with and without clipping and a mask', async () => {
    const r = rng(TEST_SEED);
    for (const n of [1, 7, 33, 257, 50001]) {
      for (const variant of ['plain', 'clip', 'mask'] as const) {
        poisonPool(d, n * 4 + 256, 2);
        const clock = createClock(d, 1 + (n % 97));
        const xv = r.uniform(n, -2, 2), ov = r.uniform(n, -3, 3);
        const k: UpdateCoef = { p: r.uniform(1, -2, 2)[0], q: r.uniform(1, -2, 2)[0], a: r.uniform(1, -1.5, 1.5)[0], b: r.uniform(1, -1.5, 1.5)[0], c: r.uniform(1, 0.1, 1)[0], lo: -0.6, hi: 0.8 };
        const x = Tensor.fromArray(d, xv), out = Tensor.fromArray(d, ov);
        const coef = new UpdateCoefficients(d);
        coef.write(k);
        const mask = variant === 'mask' ? Float32Array.from(r.uniform(n, 0, 1), (u) => (u < 0.5 ? 0 : 1)) : undefined;
        const known = variant === 'mask' ? r.uniform(n, -1, 1) : undefined;
        const mt = mask && Tensor.fromArray(d, mask), kt = known && Tensor.fromArray(d, known);
        expect(affineUpdate(x, out, coef, { seed, stream: 3, clock, clip: variant === 'clip', mask: mt, known: kt })).toBe(x);
        const z = await randn(d, [n], seed, { stream: 3, clock }).toArray();
        const ref = affineUpdateRef(xv, ov, z, k, { clip: variant === 'clip', mask, known });
        const scale = Float64Array.from(xv, (xi, i) => Math.abs(k.a * xi) + Math.abs(k.b) * (Math.abs(k.p * xi) + Math.abs(k.q * ov[i])) + Math.abs(k.c * z[i]));
        const got = await x.toArray();
        expect(termErr(got, ref, scale), `${variant} n=${n}`).toBeLessThan(1e-6);
        if (variant === 'mask') for (let i = 0; i < n; i++) if (mask![i] === 0) expect(got[i]).toBe(Math.fround(known![i])); // known pixels exactly
        [x, out, mt, kt].forEach((t) => t?.dispose());
        coef.dispose();
        clock.dispose();
      }
    }
  });

  it('rewritten coefficients reach a recorded step; c = 0 draws no noise; the clock moves the noise', async () => {
    const n = 1001;
    const r = rng(TEST_SEED + 1);
    const xv = r.uniform(n, -1, 1), ov = r.uniform(n, -1, 1);
    const x = Tensor.fromArray(d, xv), out = Tensor.fromArray(d, ov);
    const coef = new UpdateCoefficients(d);
    const clock = createClock(d, 1);
    coef.write({ p: 0, q: 1, a: 1, b: 0.5, c: 0 });
    const { recording } = d.record(() => affineUpdate(x, out, coef, { seed, stream: 9, clock }));
    // recording captures without running: x is unchanged until the first replay
    recording.replay();
    const once = await x.toArray();
    expect(termErr(once, affineUpdateRef(xv, ov, new Float64Array(n), { p: 0, q: 1, a: 1, b: 0.5, c: 0 }), xv)).toBeLessThan(1e-6);
    coef.write({ p: 0, q: 0, a: 0, b: 0, c: 1 });
    clock.set(2);
    recording.replay();
    const z2 = await x.toArray();
    clock.set(3);
    recording.replay();
    const z3 = await x.toArray();
    expect(termErr(z2, await randn(d, [n], seed, { stream: 9, clock: createClock(d, 2) }).toArray(), new Float64Array(n).fill(1))).toBeLessThan(1e-6);
    let same = 0;
    for (let i = 0; i < n; i++) if (z2[i] === z3[i]) same++;
    expect(same).toBeLessThan(5);
    recording.dispose();
    coef.dispose();
  });

  it('rejects a model output that aliases x and non-finite coefficients', () => {
    const x = Tensor.fromArray(d, [1, 2, 3, 4]);
    const coef = new UpdateCoefficients(d);
    expect(() => affineUpdate(x, x, coef)).toThrow(/shares storage/);
    expect(() => coef.write({ p: 0, q: 1, a: NaN, b: 0, c: 0 })).toThrow(/coefficient a/);
    expect(() => affineUpdate(x, Tensor.fromArray(d, [1, 2, 3]), coef)).toThrow(/differ in size/);
  });
});

describe(`byte rows: gather and scale (seed ${TEST_SEED})`, () => {
  it('gathers u8 rows of odd widths by index and scales them, out-of-range rows giving 0', async () => {
    const r = rng(TEST_SEED + 2);
    for (const [rows, row, m] of [[1, 1, 1], [37, 3, 5], [101, 784, 64], [13, 7, 29]]) {
      poisonPool(d, m * row * 4 + 256, 2);
      const bytes = Uint8Array.from(r.uniform(rows * row, 0, 256), (v) => Math.floor(v));
      const data = new ByteRows(d, bytes, [row]);
      const idxv = Float32Array.from(r.uniform(m, -0.49, rows - 0.51), Math.round);
      if (m > 3) idxv[2] = rows; // one index past the end
      const idx = Tensor.fromArray(d, idxv);
      for (const [scale, shift] of [[2 / 255, -1], [1 / 255, 0]]) {
        const out = data.gatherScaled(idx, scale, shift);
        expect(out.shape).toEqual([m, row]);
        const got = await out.toArray();
        const ref = gatherBytesRef(bytes, row, idxv, scale, shift);
        let maxErr = 0;
        for (let i = 0; i < ref.length; i++) maxErr = Math.max(maxErr, Number.isFinite(got[i]) ? Math.abs(got[i] - ref[i]) : Infinity);
        expect(maxErr, `rows=${rows} row=${row} m=${m}`).toBeLessThan(1e-6);
        out.dispose();
      }
      data.dispose();
      idx.dispose();
    }
  });

  it('rejects data that are not whole rows', () => {
    expect(() => new ByteRows(d, new Uint8Array(10), [3])).toThrow(/not whole rows/);
  });
});
