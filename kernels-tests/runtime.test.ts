// The runtime itself: reflection-driven bindings, errors that name what went wrong, the pool and
// scopes, and record/replay.
import { describe, it, expect, beforeAll } from 'vitest';
import { device } from './helpers.js';
import type { Device } from '../src/gpu/device.js';
import { Tensor } from '../src/tensor/tensor.js';
import { unary, binary } from '../src/tensor/ops/elementwise.js';
import { matmul } from '../src/tensor/ops/matmul.js';
import { KernelCompileError, LimitError, ShapeError } from '../src/gpu/errors.js';
import { sizeClass } from '../src/gpu/pool.js';

let d: Device;
beforeAll(async () => {
  d = await device();
});

const good = `
struct P { n: u32, scale: f32 }
@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<uniform> p: P;
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) g: vec3<u32>) {
  if (g.x < p.n) { out[g.x] = a[g.x] * p.scale; }
}`;

describe('runtime', () => {
  it('binds by the names the WGSL declares and packs the uniform by reflection', async () => {
    const a = Tensor.fromArray(d, [1, 2, 3, 4, 5], [5]);
    const o = Tensor.empty(d, [5]);
    d.run({ file: 'inline-good.wgsl', source: good }, { a, out: o, p: { n: 5, scale: 2.5 } }, 1);
    expect(Array.from(await o.toArray())).toEqual([2.5, 5, 7.5, 10, 12.5]);
    expect(() => d.run({ file: 'inline-good.wgsl', source: good }, { a, out: o }, 1)).toThrow(/binding 'p' not given/);
    expect(() => d.run({ file: 'inline-good.wgsl', source: good }, { a, out: o, p: { n: 5, scael: 1 } }, 1)).toThrow(/no member 'scael'/);
  });

  it('a WGSL compile error names the file and the line', async () => {
    const bad = good.replace('out[g.x] = a[g.x] * p.scale;', 'out[g.x] = a[g.x] * undefined_thing;');
    let err: unknown;
    try {
      const a = Tensor.fromArray(d, [1], [1]);
      d.run({ file: 'broken.wgsl', source: bad }, { a, out: Tensor.empty(d, [1]), p: { n: 1, scale: 1 } }, 1);
      await d.sync();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(KernelCompileError);
    expect(String((err as Error).message)).toMatch(/broken\.wgsl:7/);
  });

  it('a tensor over the adapter buffer limit names the limit', () => {
    const max = d.limits.maxStorageBufferBindingSize;
    expect(() => Tensor.empty(d, [Math.ceil(max / 4) + 16], 'huge')).toThrow(LimitError);
    expect(() => Tensor.empty(d, [Math.ceil(max / 4) + 16], 'huge')).toThrow(new RegExp(`huge.*maxStorageBufferBindingSize of ${max}`));
  });

  it('mismatched shapes name both shapes', () => {
    const a = Tensor.fromArray(d, new Float32Array(6), [2, 3]);
    const b = Tensor.fromArray(d, new Float32Array(8), [4, 2]);
    expect(() => matmul(a, b)).toThrow(ShapeError);
    expect(() => matmul(a, b)).toThrow(/\[2, 3\].*\[4, 2\]/);
    expect(() => Tensor.fromArray(d, [1, 2, 3], [2, 2])).toThrow(/3 values do not fill shape \[2, 2\]/);
    expect(() => a.reshape([4, 2])).toThrow(/\[2, 3\].*\[4, 2\]/);
  });

  it('pools buffers by size class and releases what a scope created', async () => {
    expect(sizeClass(1)).toBe(256);
    expect(sizeClass(1000)).toBe(1024);
    expect(sizeClass(1500)).toBe(1536);
    for (let b = 1; b < 1 << 20; b = Math.ceil(b * 1.37) + 1) {
      const s = sizeClass(b);
      expect(s).toBeGreaterThanOrEqual(b);
      expect(s).toBeLessThanOrEqual(Math.max(256, Math.ceil(b * 1.5) + 16));
    }
    await d.sync();
    const live0 = d.pool.liveBytes;
    const kept = d.scope(() => {
      const x = Tensor.fromArray(d, new Float32Array(1000).fill(1), [1000]);
      const y = unary('exp', x);
      return binary('add', y, x);
    });
    // only the returned tensor survives the scope
    expect(d.pool.liveBytes - live0).toBe(sizeClass(4000));
    expect((await kept.toArray())[0]).toBeCloseTo(Math.E + 1, 5);
    kept.dispose();
    expect(d.pool.liveBytes).toBe(live0);
    expect(d.pool.peakBytes).toBeGreaterThanOrEqual(3 * sizeClass(4000));
  });

  it('records once and replays with one submit, rereading inputs written between replays', async () => {
    const x = Tensor.fromArray(d, [1, 2, 3], [3]).keep();
    const { recording, result } = d.record(() => binary('mul', unary('exp', x), x));
    expect(recording.dispatchCount).toBe(2);
    await d.sync();
    const s0 = d.submits;
    recording.replay();
    expect(d.submits - s0).toBe(1);
    expect(Array.from(await result.toArray()).map((v) => +v.toFixed(4))).toEqual([1, 2, 3].map((v) => +(Math.exp(v) * v).toFixed(4)));
    x.write([0, -1, 0.5]);
    recording.replay();
    expect(Array.from(await result.toArray()).map((v) => +v.toFixed(4))).toEqual([0, -1, 0.5].map((v) => +(Math.exp(v) * v).toFixed(4)));
    expect(() => d.record(() => Tensor.fromArray(d, [1], [1]))).toThrow(/upload inside a recording/);
    recording.dispose();
  });

  it('reports uncaptured device errors naming the kernels in flight', async () => {
    // Binding a buffer too small for the shader's minimum binding size is a validation error.
    const src = `
@group(0) @binding(0) var<storage, read_write> out: array<vec4<f32>, 4>;
@compute @workgroup_size(1) fn main() { out[0] = vec4<f32>(1.0); }`;
    let err: unknown;
    try {
      d.run({ file: 'needs64bytes.wgsl', source: src }, { out: { buffer: d.dummy, byteOffset: 0, byteSize: 16 } }, 1);
      await d.sync();
    } catch (e) {
      err = e;
    }
    expect(String(err)).toMatch(/needs64bytes\.wgsl/);
  });
});
