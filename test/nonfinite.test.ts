// Numerics (issue 15, item 7): a NaN or an infinity in the loss or the gradients is found on the
// device (shaders/guard.wgsl, inside the recorded step; read with the loss at the log interval, so
// still one submit per step). The step is never applied — weights, Adam's moments and the EMA stay
// bit for bit as they were — and the run stops naming the step and the first parameter whose
// gradient was not finite, keeping the last good checkpoint; with nonFinite: 'skip' it goes on and
// counts the skipped steps. The poison is injected at chosen steps through one parameter only: the
// loss gets + k·Σ θ², θ one parameter of the network, k a device scalar written between replays
// (0 normally, NaN or ∞ at the poisoned steps), so only θ's gradient turns non-finite.
import { describe, it, expect, beforeAll } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { device, rng, TEST_SEED } from '../kernels-tests/helpers.js';
import type { Device } from '../src/gpu/device.js';
import { Tensor } from '../src/tensor/tensor.js';
import * as op from '../src/autograd/ops.js';
import { toyConfig, buildToyModel, toyLoss, trainerConfig } from '../src/train/toy_recipes.js';
import { Trainer, TrainingDiverged, rows, type LossFn } from '../src/train/trainer.js';
import { defaultAdam } from '../src/train/optimizer.js';
import { sampleToy } from '../src/data/toy.js';
import { trainToy, loadToyRun } from '../src/train/toy_run.js';

let d: Device;
beforeAll(async () => {
  d = await device();
});

const R = rng(TEST_SEED);

/** A toy trainer whose loss is poisoned through parameter number `which` when `k` holds NaN/∞. */
function poisoned(nonFinite: 'stop' | 'skip', which: number) {
  const cfg = toyConfig({ loss: 'dsm', data: 'moons', hidden: [16, 12], batchSize: 48, seed: 1 + Math.floor(R.next() * 1000), optim: defaultAdam({ lr: 2e-3 }) });
  const { model, arena } = buildToyModel(d, cfg);
  const k = Tensor.fromArray(d, [0], [1], 'poison').keep();
  const base = toyLoss(d, cfg, model);
  const [name, theta] = arena.params[which];
  const loss: LossFn = (batch, noise) => op.add(base(batch, noise), op.mul(k, op.sum(op.square(theta.value))));
  const t = new Trainer(d, arena, loss, rows(sampleToy('moons', 1024, 1 + Math.floor(R.next() * 1000)), 2), { ...trainerConfig(cfg, 5), nonFinite });
  return { t, k, name, theta, arena };
}

/** The trainer's whole state as bytes: weights, Adam's moments, EMA. */
async function state(t: Trainer): Promise<Buffer> {
  const parts = [t.arena.data, t.optimizer.m, t.optimizer.v, t.ema!.shadow];
  return Buffer.concat(await Promise.all(parts.map(async (x) => Buffer.from((await x.toArray()).buffer))));
}

describe(`non-finite steps, found on the device (seed ${TEST_SEED})`, () => {
  it('stop: the run ends at the next log naming the step and the parameter; the step is not applied', async () => {
    const which = 1 + Math.floor(R.next() * 3); // not the first parameter: the name must be found, not guessed
    const { t, k, name, theta } = poisoned('stop', which);
    const bad = 6 + Math.floor(R.next() * 4); // in the second log interval (steps 6..9)
    t.runStep(); // eager first step
    await t.readLog();
    const submits = d.submits;
    let err: unknown;
    let before: Buffer | null = null;
    for (let s = 2; s <= 15 && !err; s++) {
      if (s === bad) {
        before = await state(t);
        k.write([R.next() < 0.5 ? NaN : Infinity]);
      }
      t.runStep();
      if (s === bad) {
        expect((await state(t)).equals(before!), 'the poisoned step changed the state').toBe(true);
        k.write([0]);
      }
      if (s % 5 === 0) await t.readLog().catch((e) => (err = e));
    }
    expect(err).toBeInstanceOf(TrainingDiverged);
    const e = err as TrainingDiverged;
    expect(e.step).toBe(bad);
    expect(e.param).toBe(name);
    expect(e.at.shape).toEqual(theta.shape);
    expect(e.at.element).toBe(0);
    expect(Number.isFinite(e.loss)).toBe(false);
    expect(e.message).toMatch(new RegExp(`^training diverged at step ${bad}: the first non-finite gradient is in parameter '${name.replace(/\./g, '\\.')}'`));
    // the check adds no read-back: steps 2..10 took one submit each, plus the state reads around the bad step
    expect(d.submits - submits).toBeLessThanOrEqual(9 + 8 + 2);
    t.dispose();
    k.dispose();
  });

  it('skip: poisoned steps leave every value as it was, the others train, and the log counts them', async () => {
    const { t, k } = poisoned('skip', 2);
    const poison = new Set([7, 13, 14]);
    const logs: [number, number, number][] = [];
    let changed = 0;
    t.runStep();
    for (let s = 2; s <= 20; s++) {
      const check = poison.has(s) || s === 8;
      const before = check ? await state(t) : null;
      k.write([poison.has(s) ? (s === 14 ? -Infinity : NaN) : 0]);
      t.runStep();
      if (check) {
        const same = (await state(t)).equals(before!);
        if (poison.has(s)) expect(same, `step ${s} was applied`).toBe(true);
        else changed += same ? 0 : 1;
      }
      if (s % 5 === 0) {
        const l = await t.readLog();
        logs.push([s, l.loss, l.skipped]);
      }
    }
    expect(changed, 'a clean step must change the weights').toBe(1);
    expect(logs.map(([s, , n]) => [s, n])).toEqual([[5, 0], [10, 1], [15, 2], [20, 0]]);
    expect(logs.every(([, l]) => Number.isFinite(l))).toBe(true);
    expect(t.skippedSteps).toBe(3);
    // a run where every step of a log interval is bad is not going anywhere: it stops
    k.write([NaN]);
    for (let s = 0; s < 5; s++) t.runStep();
    const err = await t.readLog().catch((e) => e);
    expect(err).toBeInstanceOf(TrainingDiverged);
    expect(err.message).toMatch(/^training diverged at step 25: the last 5 steps were all non-finite \(skipped\); the run's first, step 7: /);
    t.dispose();
    k.dispose();
  });

  it('a learning rate that blows up stops the run and keeps the last good checkpoint', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'scoregpu-nan-'));
    const cfg = toyConfig({ loss: 'dsm', data: 'moons', hidden: [16, 16], batchSize: 32, steps: 40, seed: 3, optim: defaultAdam({ lr: 1e25, clipNorm: 0 }) });
    const r = await trainToy(d, cfg, { out: dir, logEvery: 1, checkpointEvery: 1, nTrain: 512 });
    expect(r.diverged).toBeInstanceOf(TrainingDiverged);
    const e = r.diverged!;
    expect(e.message).toMatch(/^training diverged at step \d+: /);
    expect(r.checkpointStep).toBe(e.step - 1);
    // the checkpoint on disk is the last good step's, and loads (its weights are finite)
    const run = loadToyRun(d, dir, 'params');
    expect(run.step).toBe(e.step - 1);
    expect((await run.arena.data.toArray()).every(Number.isFinite)).toBe(true);
    r.trainer.dispose();
  });
});
