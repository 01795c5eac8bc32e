// Shared test helpers: one device per test file, seeded random inputs, NaN-poisoned pool, errors.
import { createDevice, type Device } from '../src/gpu/device.js';
import { describe, it, type TestContext } from 'vitest';
import type { KernelPolicy } from '../src/gpu/policy.js';

let dev: Promise<Device> | null = null;
export function device(): Promise<Device> {
  return (dev ??= createDevice());
}

/** Fresh inputs each run unless SCOREGPU_TEST_SEED is set; the seed is printed on failure via the message. */
export const TEST_SEED = Number(process.env.SCOREGPU_TEST_SEED ?? Math.floor(Math.random() * 2 ** 31));

/** mulberry32: small seeded generator for test inputs. */
export function rng(seed: number) {
  let s = seed >>> 0;
  const next = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    uniform: (n: number, lo = -1, hi = 1) => Float32Array.from({ length: n }, () => lo + (hi - lo) * next()),
    normal: (n: number) =>
      Float32Array.from({ length: n }, () => Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next())),
  };
}

/** ‖out − ref‖ / ‖ref‖ (absolute norm when ref is 0); NaN anywhere gives Infinity. */
export function relErr(out: ArrayLike<number>, ref: ArrayLike<number>): number {
  if (out.length !== ref.length) throw new Error(`length ${out.length} vs reference ${ref.length}`);
  let num = 0, den = 0;
  for (let i = 0; i < ref.length; i++) {
    const d = out[i] - ref[i];
    if (!Number.isFinite(out[i]) && out[i] !== ref[i]) return Infinity;
    num += d * d;
    den += ref[i] * ref[i];
  }
  return den === 0 ? Math.sqrt(num) : Math.sqrt(num / den);
}

/**
 * Error of sums of signed terms, measured against each sum's natural size rather than its value:
 * ‖out − ref‖ / ‖max(|ref|, scale)‖, where scale[i] = sqrt(Σ terms²) of sum i. A sum of random-sign
 * terms can land arbitrarily close to zero, where f32 rounding (≈ u·scale) is huge relative to the
 * result but not to the terms; dropping or doubling one term still moves the sum by ≈ scale/√n,
 * far above any tolerance used with this.
 */
export function sumErr(out: ArrayLike<number>, ref: ArrayLike<number>, scale: ArrayLike<number>): number {
  if (out.length !== ref.length || scale.length !== ref.length)
    throw new Error(`lengths ${out.length} / ${ref.length} / ${scale.length}`);
  let num = 0, den = 0;
  for (let i = 0; i < ref.length; i++) {
    if (!Number.isFinite(out[i]) && out[i] !== ref[i]) return Infinity;
    const d = out[i] - ref[i], m = Math.max(Math.abs(ref[i]), scale[i]);
    num += d * d;
    den += m * m;
  }
  return den === 0 ? Math.sqrt(num) : Math.sqrt(num / den);
}

/**
 * Fill the pool with NaN-poisoned buffers of every size class up to `maxBytes`, so kernel outputs
 * (which come from the pool) start as NaN and any element a kernel forgets to write shows up.
 */
export function poisonPool(d: Device, maxBytes = 1 << 22, perClass = 3): void {
  const sizes = new Set<number>();
  for (let b = 256; b <= maxBytes; b = Math.ceil(b * 1.25)) sizes.add(b);
  const bufs: GPUBuffer[] = [];
  for (const s of sizes) {
    for (let k = 0; k < perClass; k++) {
      const buf = d.pool.acquire(s);
      d.write(buf, new Float32Array(buf.size / 4).fill(NaN));
      bufs.push(buf);
    }
  }
  for (const b of bufs) d.pool.release(b);
}

/** A test declaration like vitest's `it`. */
export type ItFn = (name: string, fn: (ctx: TestContext) => unknown, timeout?: number) => void;

/** vitest's `it`, each body run under `change` of the test device's kernel policy (Device.withPolicy). */
export function itUnder(change: Partial<KernelPolicy>): ItFn {
  return (name, fn, timeout) => it(name, async (ctx) => (await device()).withPolicy(change, () => fn(ctx)), timeout);
}

/**
 * Declare `body`'s tests twice, as suites with packing passes staged through a buffer and stored
 * straight to the texture (src/tensor/ops/texel_out.ts: CPU adapters stage, GPUs store), so both
 * ways run on every adapter: `body` declares its tests with the `it` it is given, which runs them
 * under that texStaging (and `policy`).
 */
export function forEachTexelOutput(body: (staging: 'always' | 'never', it: ItFn) => void, policy: Partial<KernelPolicy> = {}): void {
  for (const staging of ['always', 'never'] as const) {
    describe(`texel outputs ${staging === 'always' ? 'staged through a buffer' : 'stored to the texture'}`, () => {
      body(staging, itUnder({ ...policy, texStaging: staging }));
    });
  }
}
