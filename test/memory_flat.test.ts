// Memory stays flat (issue 15, item 9): a 10,000-step toy training run and a 3,000-step sampling
// chain keep the device's live and pooled bytes exactly constant once warm (no buffer made after
// the first steps) and the Node heap within a small bound (measured after a forced GC at every
// sample); disposing the trainer and the model gives back everything they took, and destroying the
// device empties its pool, after which any work throws DeviceLostError.
import { describe, it, expect } from 'vitest';
import v8 from 'node:v8';
import vm from 'node:vm';
import { TEST_SEED, rng } from '../kernels-tests/helpers.js';
import { createDevice, type Device } from '../src/gpu/device.js';
import { DeviceLostError } from '../src/gpu/errors.js';
import { Tensor } from '../src/tensor/tensor.js';
import * as op from '../src/autograd/ops.js';
import { toyConfig, buildToyModel, toyLoss, trainerConfig } from '../src/train/toy_recipes.js';
import { Trainer, rows } from '../src/train/trainer.js';
import { sampleToy } from '../src/data/toy.js';
import { runPlan, type SamplerPlan } from '../src/score/sampling/plan.js';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

interface Sample {
  at: number;
  live: number;
  buffers: number;
  pooled: number;
  allocations: number;
  heap: number;
}

function sample(d: Device, at: number): Sample {
  gc();
  const s = d.pool.stats();
  return { at, live: s.liveBytes, buffers: s.liveBuffers, pooled: s.pooledBytes, allocations: s.allocations, heap: process.memoryUsage().heapUsed };
}

/** After the warm-up samples: device memory exactly constant, no new buffers, heap growth under `heapBound` bytes. */
function expectFlat(samples: Sample[], warm: number, heapBound: number, what: string) {
  const w = samples.filter((s) => s.at >= warm);
  expect(w.length, what).toBeGreaterThan(4);
  const first = w[0];
  for (const s of w) {
    expect(s.live, `${what}: live GPU bytes at ${s.at}`).toBe(first.live);
    expect(s.buffers, `${what}: live buffers at ${s.at}`).toBe(first.buffers);
    expect(s.pooled, `${what}: pooled bytes at ${s.at}`).toBe(first.pooled);
    expect(s.allocations, `${what}: buffers made by ${s.at}`).toBe(first.allocations);
  }
  // the heap: the later half's median against the earlier half's (GC noise cancels; a leak of even
  // 100 bytes a step over 10,000 steps would be 0.5 MB)
  const med = (a: number[]) => [...a].sort((x, y) => x - y)[a.length >> 1];
  const half = w.length >> 1;
  const growth = med(w.slice(half).map((s) => s.heap)) - med(w.slice(0, half).map((s) => s.heap));
  expect(growth, `${what}: heap growth ${growth} bytes`).toBeLessThan(heapBound);
  return growth;
}

describe(`memory over long runs (seed ${TEST_SEED})`, () => {
  it('10,000 training steps and a 3,000-step chain keep GPU and heap memory flat; destroy empties the device', async () => {
    const d = await createDevice();
    const cfg = toyConfig({ loss: 'dsm', data: 'moons', hidden: [32, 32], batchSize: 64, seed: TEST_SEED % 1000 });
    const { model, arena } = buildToyModel(d, cfg);
    const t = new Trainer(d, arena, toyLoss(d, cfg, model), rows(sampleToy('moons', 2048, TEST_SEED % 997), 2), trainerConfig(cfg, 250));
    const train: Sample[] = [];
    const t0 = performance.now();
    await t.run(10_000, (step) => void train.push(sample(d, step)));
    const trainSec = (performance.now() - t0) / 1000;
    const trainGrowth = expectFlat(train, 1000, 1 << 20, 'training');

    // a long chain on the trained network: x ← 0.98·x + 0.01·s(x) + 0.1·z, read back only at the end
    const net = { forward: (x: Tensor) => model.score(x) };
    const plan: SamplerPlan = {
      name: 'langevin', init: { kind: 'normal', std: 1 }, clip: false,
      steps: Array.from({ length: 3000 }, () => ({ cond: 1, coef: { p: 0, q: 1, a: 0.98, b: 0.01, c: 0.1 } })),
    };
    const chain: Sample[] = [];
    const t1 = performance.now();
    const r = await runPlan(d, net, plan, { n: 256, shape: [2], seed: 5, progressEvery: 100, onProgress: (done) => void chain.push(sample(d, done)) });
    const chainSec = (performance.now() - t1) / 1000;
    expect(r.samples.every(Number.isFinite)).toBe(true);
    const chainGrowth = expectFlat(chain, 300, 1 << 20, 'sampling');
    console.log(`memory: 10,000 steps in ${trainSec.toFixed(1)} s (heap growth ${(trainGrowth / 1024).toFixed(0)} kB, ${train[train.length - 1].live} GPU bytes live), 3,000-step chain in ${chainSec.toFixed(1)} s (heap growth ${(chainGrowth / 1024).toFixed(0)} kB)`);

    // disposing what the run made gives it all back: what remains are the device's own constants
    const before = sample(d, 0);
    t.dispose();
    arena.dispose();
    const after = sample(d, 0);
    expect(before.buffers - after.buffers).toBeGreaterThanOrEqual(7); // data, arena, grads, m, v, EMA, the recording's
    expect(after.buffers, 'buffers left after disposing the run').toBeLessThanOrEqual(8);
    expect(after.live, 'bytes left after disposing the run').toBeLessThanOrEqual(8 * 1024);
    d.destroy();
    const gone = d.stats();
    expect([gone.liveBytes, gone.liveBuffers, gone.pooledBytes, gone.uniforms]).toEqual([0, 0, 0, 0]);
    expect(() => op.scale(Tensor.fromArray(d, [1, 2], [2]), 2)).toThrow(DeviceLostError);
  });

  it('new uniform values at every dispatch (an adaptive solve\'s t and h) keep the uniform cache bounded; a recording\'s uniforms outlive eviction until it is disposed', async () => {
    const d = await createDevice();
    d.uniformCacheLimit = 16;
    const n = 37;
    const xs = Array.from({ length: n }, (_, i) => Math.sin(i * 1.7 + TEST_SEED) * 3);
    const x = Tensor.fromArray(d, xs, [n]).keep();
    // a step recorded before the flood: y = 3·x + 1 then (·0.5 − 2), two uniforms of its own
    const { recording, result: y } = d.record(() => op.affine(op.affine(x, 3, 1), 0.5, -2).keep());
    expect(d.stats().uniformsPinned).toBe(2);
    const rand = rng(TEST_SEED).next;
    for (let k = 0; k < 400; k++) {
      const a = 1 + rand(), b = rand() - 0.5;
      const z = d.scope(() => op.affine(x, a, b).keep());
      if (k % 50 === 0 || k === 399) {
        const got = await z.toArray();
        for (let i = 0; i < n; i++) expect(got[i]).toBeCloseTo(Math.fround(Math.fround(a * Math.fround(xs[i])) + b), 4);
      }
      z.dispose();
      expect(d.stats().uniforms).toBeLessThanOrEqual(16);
    }
    await d.sync(); // no validation error from a destroyed buffer in flight
    // the recording's two uniforms were evicted from the cache long ago, yet it still replays right
    x.write(xs.map((v) => -v));
    recording.replay();
    const yr = await y.toArray();
    for (let i = 0; i < n; i++) expect(yr[i]).toBeCloseTo((3 * -xs[i] + 1) * 0.5 - 2, 4);
    recording.dispose();
    const s = d.stats();
    expect([s.uniformsPinned, s.uniformsRetired]).toEqual([0, 0]); // gone now (no command was open)
    await d.sync();
    d.destroy();
  });
});
