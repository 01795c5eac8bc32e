import { describe, it, expect, beforeAll } from 'vitest';
import { device, relErr, poisonPool, TEST_SEED } from './helpers.js';
import { Tensor } from '../src/tensor/tensor.js';
import {
  randn, rand, rademacher, randint, randomBits, fillRandn, createClock, setClock, setSeed, AUTO_STREAM,
} from '../src/tensor/ops/random.js';
import {
  philox4x32_10, mulhilo32, mulhilo32Big, randomBitsRef, normalRef, uniformRef, rademacherRef, randintRef,
  normalCdf, ksStatistic, u32Of,
} from '../src/tensor/cpu/random.js';
import type { Device } from '../src/gpu/device.js';

let d: Device;
beforeAll(async () => {
  d = await device();
});

const hex = (a: ArrayLike<number>) => Array.from(a, (x) => (x >>> 0).toString(16).padStart(8, '0')).join(' ');
const bits = async (t: Tensor) => new Uint32Array((await t.toArray()).buffer);
const seedU = u32Of(TEST_SEED);
// Statistical tests at the 1% (or 0.1%) level use a fixed key: with TEST_SEED they would fail
// 1 run in 100 by design. The numbers are a pure function of the key, so this is deterministic.
const STAT_SEED = 20240611;

/** Normals have unit scale: measure ‖out − ref‖ against max(‖ref‖, √n·std), so one z near 0 (n = 1) is fair. */
function errNormal(out: ArrayLike<number>, ref: ArrayLike<number>, std = 1): number {
  const e = relErr(out, ref);
  let den = 0;
  for (let i = 0; i < ref.length; i++) den += ref[i] * ref[i];
  return e * Math.sqrt(den) / Math.max(Math.sqrt(den), Math.sqrt(ref.length) * std);
}

describe(`random (seed ${TEST_SEED})`, () => {
  it('CPU Philox4x32-10 matches the Random123 known-answer vectors', () => {
    expect(hex(philox4x32_10([0, 0, 0, 0], [0, 0]))).toBe('6627e8d5 e169c58d bc57ac4c 9b00dbd8');
    expect(hex(philox4x32_10([~0, ~0, ~0, ~0], [~0, ~0]))).toBe('408f276d 41c83b0e a20bc7c6 6d5451fd');
    expect(hex(philox4x32_10([0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344], [0xa4093822, 0x299f31d0]))).toBe(
      'd16cfe09 94fdcceb 5001e420 24126ea1',
    );
    for (let i = 0; i < 2000; i++) {
      const a = (Math.random() * 2 ** 32) >>> 0, b = (Math.random() * 2 ** 32) >>> 0;
      expect(mulhilo32(a, b)).toEqual(mulhilo32Big(a, b));
    }
  });

  it('kernel raw bits equal the CPU Philox bit for bit', async () => {
    const keys = [
      { seed: 0, stream: 0, offset: 0, step: 0 },
      { seed: 0xffffffff, stream: 0xfffffffe, offset: 0xffffffff, step: 2 ** 40 + 5 },
      { seed: seedU, stream: 3, offset: 7, step: 123456 },
    ];
    for (const k of keys) {
      for (const n of [1, 7, 257]) {
        poisonPool(d, n * 4 + 256, 2);
        const clock = createClock(d, k.step);
        const t = randomBits(d, [n], k.seed, { stream: k.stream, offset: k.offset, clock });
        expect(hex(await bits(t)), `key ${JSON.stringify(k)} n=${n}`).toBe(hex(randomBitsRef(n, k)));
        t.dispose();
        clock.dispose();
      }
    }
    // unseeded draws read the same function under the device's seed, the AUTO_STREAM and the eager offset
    setSeed(d, 5);
    d.rngOffset = 41;
    const t = randomBits(d, [9]);
    expect(hex(await bits(t))).toBe(hex(randomBitsRef(9, { seed: 5, stream: AUTO_STREAM, offset: 41, step: 0 })));
    expect(d.rngOffset).toBe(42);
    setSeed(d, 0);
    t.dispose();
  });

  it('float maps match their CPU references at odd sizes', async () => {
    for (const n of [1, 7, 257, 100003]) {
      poisonPool(d, n * 4 + 256, 2);
      const k = { seed: seedU, stream: 11, offset: n, step: 3 };
      const clock = createClock(d, 3);
      const o = { stream: 11, offset: n, clock };
      const z = randn(d, [n], k.seed, o), u = rand(d, [n], k.seed, o), r = rademacher(d, [n], k.seed, o), ri = randint(d, [n], 1000, k.seed, o);
      expect(errNormal(await z.toArray(), normalRef(n, k)), `randn n=${n}`).toBeLessThan(1e-5);
      expect(Array.from(await u.toArray())).toEqual(Array.from(uniformRef(n, k)));
      expect(Array.from(await r.toArray())).toEqual(Array.from(rademacherRef(n, k)));
      expect(Array.from(await ri.toArray())).toEqual(Array.from(randintRef(n, 1000, k)));
      const zs = randn(d, [n], k.seed, { ...o, mean: 2, std: 0.5 });
      expect(errNormal(await zs.toArray(), normalRef(n, k, 2, 0.5), 0.5)).toBeLessThan(1e-5);
      const us = rand(d, [n], k.seed, { ...o, low: -3, high: 1 });
      expect(relErr(await us.toArray(), uniformRef(n, k, -3, 1))).toBeLessThan(1e-6);
      [z, u, r, ri, zs, us].forEach((t) => t.dispose());
      clock.dispose();
    }
  });

  it('1e6 normals: mean, variance and KS against Φ', async () => {
    const n = 1_000_000;
    const z = await randn(d, [n], STAT_SEED, { stream: 1 }).toArray();
    let s = 0, s2 = 0;
    for (let i = 0; i < n; i++) { s += z[i]; s2 += z[i] * z[i]; }
    const mean = s / n, vr = s2 / n - mean * mean;
    expect(Math.abs(mean)).toBeLessThan(5e-3);
    expect(Math.abs(vr - 1)).toBeLessThan(1e-2);
    expect(ksStatistic(z, normalCdf)).toBeLessThan(1.63 / Math.sqrt(n));
  });

  it('uniforms: KS against U(0,1), range [0,1)', async () => {
    const n = 1_000_000;
    const u = await rand(d, [n], STAT_SEED, { stream: 2 }).toArray();
    let lo = Infinity, hi = -Infinity;
    for (let i = 0; i < n; i++) { lo = Math.min(lo, u[i]); hi = Math.max(hi, u[i]); }
    expect(lo).toBeGreaterThanOrEqual(0);
    expect(hi).toBeLessThan(1);
    expect(ksStatistic(u, (x) => Math.min(1, Math.max(0, x)))).toBeLessThan(1.63 / Math.sqrt(n));
  });

  it('rademacher mean and values; randint range and rough uniformity', async () => {
    const n = 200_003;
    const r = await rademacher(d, [n], STAT_SEED, { stream: 3 }).toArray();
    let s = 0, bad = 0;
    for (const x of r) { if (x !== 1 && x !== -1) bad++; s += x; }
    expect(bad).toBe(0);
    expect(Math.abs(s / n)).toBeLessThan(5 / Math.sqrt(n)); // 5σ
    const high = 37;
    const ri = await randint(d, [n], high, STAT_SEED, { stream: 4 }).toArray();
    const counts = new Array(high).fill(0);
    let outside = 0;
    for (const x of ri) {
      if (Number.isInteger(x) && x >= 0 && x < high) counts[x]++;
      else outside++;
    }
    expect(outside).toBe(0);
    // chi-square with 36 dof: 99.9% quantile ≈ 67.98
    const e = n / high;
    const chi2 = counts.reduce((a, c) => a + (c - e) ** 2 / e, 0);
    expect(chi2).toBeLessThan(68);
  });

  it('seeds, streams, clock steps and eager calls', async () => {
    const n = 1001;
    const a = await randn(d, [n], 1, { stream: 0 }).toArray();
    const a2 = await randn(d, [n], 1, { stream: 0 }).toArray();
    const b = await randn(d, [n], 2, { stream: 0 }).toArray();
    const c = await randn(d, [n], 1, { stream: 1 }).toArray();
    expect(Array.from(a2)).toEqual(Array.from(a)); // one seed repeats bit for bit
    const differ = (x: Float32Array, y: Float32Array) => x.some((v, i) => v !== y[i]);
    expect(differ(a, b)).toBe(true);
    expect(differ(a, c)).toBe(true);
    // a different clock step gives different numbers; back to the same step repeats
    const clock = createClock(d);
    const t = Tensor.empty(d, [n]);
    fillRandn(t, 1, { stream: 0, clock });
    expect(Array.from(await t.toArray())).toEqual(Array.from(a));
    setClock(clock, 1);
    fillRandn(t, 1, { stream: 0, clock });
    const s1 = await t.toArray();
    expect(differ(s1, a)).toBe(true);
    setClock(clock, 0);
    fillRandn(t, 1, { stream: 0, clock });
    expect(Array.from(await t.toArray())).toEqual(Array.from(a));
    // successive unseeded calls differ; an explicit seed determines the draw (stream 0, offset 0),
    // between unseeded calls too; setSeed replays an unseeded sequence
    setSeed(d, 99);
    const e1 = await randn(d, [n]).toArray(), e3 = await randn(d, [n], 5).toArray(), e2 = await randn(d, [n]).toArray(), e4 = await randn(d, [n], 5).toArray();
    expect(differ(e1, e2)).toBe(true);
    expect(Array.from(e4)).toEqual(Array.from(e3));
    expect(Array.from(e3)).toEqual(Array.from(await randn(d, [n], 5, { stream: 0 }).toArray()));
    expect(differ(e3, await randn(d, [n], 6).toArray())).toBe(true);
    setSeed(d, 99);
    expect(Array.from(await randn(d, [n]).toArray())).toEqual(Array.from(e1));
    expect(Array.from(await randn(d, [n]).toArray())).toEqual(Array.from(e2));
    t.dispose();
    clock.dispose();
  });

  it('a recorded draw gets new numbers per replay from the clock', async () => {
    const n = 513;
    const clock = createClock(d);
    const t = Tensor.empty(d, [n]).keep();
    const { recording } = d.record(() => {
      fillRandn(t, 7, { stream: 2, clock });
    });
    const seen: Float32Array[] = [];
    for (const step of [0, 1, 2, 1]) {
      setClock(clock, step);
      recording.replay();
      const got = await t.toArray();
      expect(errNormal(got, normalRef(n, { seed: 7, stream: 2, offset: 0, step }))).toBeLessThan(1e-5);
      seen.push(got);
    }
    expect(Array.from(seen[3])).toEqual(Array.from(seen[1]));
    expect(seen[0].some((v, i) => v !== seen[1][i])).toBe(true);
    recording.dispose();
    t.dispose();
    clock.dispose();
  });
});
