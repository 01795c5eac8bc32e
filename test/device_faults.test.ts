// The device (issue 15, item 8): a device lost mid-run — simulated by destroying the GPUDevice
// under the library, as a driver reset or a reclaimed browser device would — ends training and
// sampling with a DeviceLostError (one line, catchable; the CLI prints it as one line), and the run
// folder keeps its last checkpoint intact. A buffer over the adapter's limits, and one the device
// has no memory for, fail naming the tensor, its size and the limit. Out-of-memory cannot be
// provoked safely on a shared CPU adapter (lavapipe allocates host memory lazily), so that case runs
// on a GPUDevice wrapper whose out-of-memory error scope reports what a real device would.
import { describe, it, expect, beforeAll } from 'vitest';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { device, TEST_SEED } from '../kernels-tests/helpers.js';
import { createDevice, Device } from '../src/gpu/device.js';
import { DeviceError, DeviceLostError, LimitError, OutOfMemoryError } from '../src/gpu/errors.js';
import { Tensor } from '../src/tensor/tensor.js';
import * as op from '../src/autograd/ops.js';
import { toyConfig } from '../src/train/toy_recipes.js';
import { trainToy, loadToyRun } from '../src/train/toy_run.js';
import { runPlan, type SamplerPlan } from '../src/score/sampling/plan.js';
import { isExpectedError } from '../src/cli/main.js';

let d: Device;
beforeAll(async () => {
  d = await device();
});

describe(`device faults (seed ${TEST_SEED})`, () => {
  it('a device lost mid-training: DeviceLostError naming the step, the last checkpoint intact', async () => {
    const lost = await createDevice();
    const dir = mkdtempSync(join(tmpdir(), 'scoregpu-lost-'));
    const cfg = toyConfig({ loss: 'dsm', data: 'moons', hidden: [16, 16], batchSize: 32, steps: 60, seed: TEST_SEED % 1000 });
    const err = await trainToy(lost, cfg, {
      out: dir, logEvery: 5, checkpointEvery: 10, nTrain: 512,
      onLog: (step) => {
        if (step === 30) lost.device.destroy(); // under the library: it learns of the loss from the device
      },
    }).catch((e) => e);
    expect(err).toBeInstanceOf(DeviceLostError);
    expect(err).toBeInstanceOf(DeviceError); // what pages and callers catch
    expect(isExpectedError(err)).toBe(true); // the CLI prints its message as one line
    expect(err.message).not.toMatch(/\n/);
    expect(err.message).toMatch(new RegExp(`^the WebGPU device was lost \\(destroyed.*\\) during training, after step 30; the checkpoint of step 20 in ${dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is intact`));
    // the checkpoint on disk is whole and loads on a live device
    const run = loadToyRun(d, dir, 'params');
    expect(run.step).toBe(20);
    expect((await run.arena.data.toArray()).every(Number.isFinite)).toBe(true);
    expect(readFileSync(join(dir, 'loss.csv'), 'utf8').split('\n')[1]).toMatch(/^5,/);
  });

  it('a device lost mid-sampling: the chain rejects with DeviceLostError', async () => {
    const lost = await createDevice();
    const net = { forward: (x: Tensor) => op.scale(x, -0.5) };
    const plan: SamplerPlan = {
      name: 'test chain', init: { kind: 'normal', std: 1 }, clip: false,
      steps: Array.from({ length: 100 }, () => ({ cond: 1, coef: { p: 1, q: 0, a: 0.9, b: 0.05, c: 0.1 } })),
    };
    let at = 0;
    const err = await runPlan(lost, net, plan, {
      n: 64, shape: [3], seed: 1, progressEvery: 10,
      onProgress: (done) => {
        at = done;
        if (done === 40) lost.device.destroy();
      },
    }).catch((e) => e);
    expect(err).toBeInstanceOf(DeviceLostError);
    expect(err.message).toMatch(/^the WebGPU device was lost \(destroyed/);
    expect(at).toBeLessThanOrEqual(50);
  });

  it('over the adapter limit: a LimitError naming the tensor, its size and the limit', () => {
    const { maxStorageBufferBindingSize: bind, maxBufferSize: whole } = d.limits;
    const max = Math.min(bind, whole);
    const n = Math.floor(max / 4) + 1 + Math.floor(Math.random() * 1000);
    let err: unknown;
    try {
      Tensor.empty(d, [n], 'attention scores');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(LimitError);
    const limit = bind <= whole ? 'maxStorageBufferBindingSize' : 'maxBufferSize';
    expect((err as Error).message).toBe(`attention scores [${n}] needs ${n * 4} bytes, over the adapter's ${limit} of ${max} bytes`);
    expect(isExpectedError(err)).toBe(true);
    // nothing was allocated for it
    expect(d.pool.stats().liveBytes).toBeGreaterThanOrEqual(0);
  });

  it('out of memory: an OutOfMemoryError naming the tensor, its size, the live bytes and the limit', async () => {
    const real = await createDevice();
    // the GPUDevice as a real one reports a failed allocation: an 'out-of-memory' error scope with an error
    const BIG = 1 << 20;
    const scopes: { filter: string; oom: boolean }[] = [];
    const gd = real.device;
    const fake = new Proxy(gd, {
      get(t, p) {
        if (p === 'pushErrorScope') return (f: GPUErrorFilter) => (scopes.push({ filter: f, oom: false }), t.pushErrorScope(f));
        if (p === 'popErrorScope') {
          return async () => {
            const s = scopes.pop();
            const e = await t.popErrorScope();
            return s?.oom ? ({ message: 'Out of memory (simulated)' } as GPUError) : e;
          };
        }
        if (p === 'createBuffer') {
          return (desc: GPUBufferDescriptor) => {
            const s = scopes[scopes.length - 1];
            if (desc.size >= BIG && s?.filter === 'out-of-memory') s.oom = true;
            return t.createBuffer(desc);
          };
        }
        const v = Reflect.get(t, p, t);
        return typeof v === 'function' ? v.bind(t) : v;
      },
    });
    const dev = new Device(real.gpu, real.adapter, fake, real.info);
    const small = Tensor.fromArray(dev, new Float32Array(1000).fill(1), [1000], 'small');
    await dev.sync(); // small allocations pass
    const big = Tensor.empty(dev, [BIG / 4 + 7], 'decoder activations');
    op.scale(small, 2);
    const err = await dev.sync().catch((e) => e);
    expect(err).toBeInstanceOf(OutOfMemoryError);
    expect(err).toBeInstanceOf(LimitError);
    expect(err.message).toMatch(new RegExp(`^out of GPU memory for decoder activations \\[${BIG / 4 + 7}\\]: ${1.5 * BIG} bytes, with \\d+ bytes live on the device \\(the adapter's maxBufferSize is ${gd.limits.maxBufferSize} bytes\\): Out of memory \\(simulated\\)$`));
    big.dispose();
    small.dispose();
    dev.destroy();
    real.destroy();
  });
});
