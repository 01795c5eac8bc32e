// Inpainting's masked projection x ← m ⊙ (mean·y + std·z) + (1 − m) ⊙ x against its float64
// reference, with z from the CPU Philox reference under the same key; poisoned pool, odd sizes,
// random masks; std 0 / mean 1 leaves the known pixels equal to y bit for bit; a recorded projection
// follows the level and clock the host writes between replays.
import { describe, it, expect, beforeAll } from 'vitest';
import { device, rng, poisonPool, TEST_SEED } from './helpers.js';
import { Tensor } from '../src/tensor/tensor.js';
import { inpaintProject, ProjectionLevel } from '../src/tensor/ops/inpaint_project.js';
import { createClock } from '../src/tensor/ops/random.js';
import { inpaintProjectRef } from '../src/tensor/cpu/affine_update.js';
import { normalRef, u32Of } from '../src/tensor/cpu/random.js';
import type { Device } from '../src/gpu/device.js';

let d: Device;
beforeAll(async () => {
  d = await device();
});
const seed = u32Of(TEST_SEED);

function maxAbsErr(got: ArrayLike<number>, ref: ArrayLike<number>): number {
  let e = 0;
  for (let i = 0; i < ref.length; i++) e = Math.max(e, Number.isFinite(got[i]) ? Math.abs(got[i] - ref[i]) : Infinity);
  return e;
}

describe(`inpainting projection (seed ${TEST_SEED})`, () => {
  it('matches the float64 reference at odd sizes with random masks, levels and clock steps', async () => {
    const r = rng(TEST_SEED);
    for (const n of [1, 3, 5, 31, 785, 4099]) {
      poisonPool(d, n * 4 + 256, 3);
      const step = 1 + Math.floor(r.next() * 1000), stream = 1 + Math.floor(r.next() * 5000);
      const clock = createClock(d, step);
      const xv = r.uniform(n, -3, 3), yv = r.uniform(n, -1, 1);
      const frac = r.next();
      const mv = Float32Array.from(r.uniform(n, 0, 1), (u) => (u < frac ? 1 : 0));
      const l = { mean: r.uniform(1, 0.01, 1)[0], std: r.uniform(1, 0, 1.5)[0] };
      const x = Tensor.fromArray(d, xv), y = Tensor.fromArray(d, yv), m = Tensor.fromArray(d, mv);
      const level = new ProjectionLevel(d);
      level.write(l);
      expect(inpaintProject(x, y, m, level, { seed, stream, clock })).toBe(x);
      const z = normalRef(n, { seed, stream, offset: 0, step });
      const ref = inpaintProjectRef(xv, yv, mv, z, { mean: Math.fround(l.mean), std: Math.fround(l.std) });
      const got = await x.toArray();
      expect(maxAbsErr(got, ref), `n=${n}`).toBeLessThan(2e-5);
      for (let i = 0; i < n; i++) if (mv[i] === 0) expect(got[i], `unknown pixel ${i} kept`).toBe(xv[i]);
      [x, y, m].forEach((t) => t.dispose());
      level.dispose();
      clock.dispose();
    }
  });

  it('mean 1, std 0 gives y exactly on the known pixels, even over non-finite x; recorded replays follow the host', async () => {
    const r = rng(TEST_SEED + 1);
    const n = 1003;
    const yv = r.uniform(n, -1, 1), mv = Float32Array.from(r.uniform(n, 0, 1), (u) => (u < 0.4 ? 1 : 0));
    const xv = r.uniform(n, -2, 2);
    xv[0] = NaN;
    mv[0] = 1;
    const x = Tensor.fromArray(d, xv), y = Tensor.fromArray(d, yv), m = Tensor.fromArray(d, mv);
    const level = new ProjectionLevel(d);
    const clock = createClock(d, 1);
    const { recording } = d.record(() => inpaintProject(x, y, m, level, { seed, stream: 7, clock }));
    let cur: Float64Array = Float64Array.from(xv);
    for (const [k, l] of [[1, { mean: 0.7, std: 0.3 }], [2, { mean: 0.9, std: 0.05 }], [3, { mean: 1, std: 0 }]] as const) {
      level.write(l);
      clock.set(k);
      recording.replay();
      cur = inpaintProjectRef(cur, yv, mv, normalRef(n, { seed, stream: 7, offset: 0, step: k }), { mean: Math.fround(l.mean), std: Math.fround(l.std) });
      const got = await x.toArray();
      expect(maxAbsErr(got.subarray(1), cur.subarray(1)), `replay ${k}`).toBeLessThan(2e-5);
    }
    const got = await x.toArray();
    for (let i = 0; i < n; i++) expect(got[i]).toBe(mv[i] ? yv[i] : xv[i]);
    recording.dispose();
    [x, y, m].forEach((t) => t.dispose());
    level.dispose();
    clock.dispose();
  });

  it('rejects mismatched sizes, aliasing and bad levels', () => {
    const x = Tensor.fromArray(d, [1, 2, 3, 4]);
    const level = new ProjectionLevel(d);
    expect(() => inpaintProject(x, Tensor.fromArray(d, [1, 2, 3]), x, level)).toThrow(/known image y \[3\] does not match x \[4\]/);
    expect(() => inpaintProject(x, Tensor.fromArray(d, [1, 2, 3, 4]), x, level)).toThrow(/mask shares storage/);
    expect(() => level.write({ mean: 1, std: -1 })).toThrow(/std ≥ 0/);
    expect(() => level.write({ mean: NaN, std: 0 })).toThrow(/finite/);
  });
});
