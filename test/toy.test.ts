// End to end on a toy set, one short seeded case per objective: train on the GPU, sample with the
// objective's sampler, and require the samples to have moved most of the way from the uniform
// start to the data (energy distance to held-out data well under the start's).
import { describe, it, expect, beforeAll } from 'vitest';
import { device } from '../kernels-tests/helpers.js';
import type { Device } from '../src/gpu/device.js';
import { toyConfig, buildToyModel, toyLoss, trainerConfig, sampleToyModel, emaModel } from '../src/train/toy_recipes.js';
import { Trainer, rows } from '../src/train/trainer.js';
import { loadDataset } from '../src/data/dataset.js';
import { evaluateSamples } from '../src/eval/metrics.js';
import { LOSSES, type LossName } from '../src/score/losses.js';
import { rng } from '../kernels-tests/helpers.js';

let d: Device;
beforeAll(async () => {
  d = await device();
});

const short: Record<LossName, { steps: number; sampleSteps: number; stepSize: number; sigma?: number }> = {
  dsm: { steps: 800, sampleSteps: 300, stepSize: 0.05, sigma: 0.3 },
  deen: { steps: 1500, sampleSteps: 300, stepSize: 0.05, sigma: 0.3 },
  ssm: { steps: 800, sampleSteps: 300, stepSize: 0.05 },
  ssmvr: { steps: 800, sampleSteps: 300, stepSize: 0.05 },
  esm: { steps: 800, sampleSteps: 300, stepSize: 0.05 },
  ncsn: { steps: 2000, sampleSteps: 100, stepSize: 5e-5 },
};

describe('toy 2-D, every objective end to end (8 gaussians)', () => {
  for (const loss of LOSSES) {
    it(loss, async () => {
      const s = short[loss];
      // short runs keep a constant rate: the full recipes' cosine decay would spend much of a short run slow
      const optim = { ...toyConfig({ loss }).optim, schedule: 'constant' as const };
      const cfg = toyConfig({ loss, data: '8gaussians', hidden: [64, 64], batchSize: 256, seed: 7, steps: s.steps, sigma: s.sigma ?? 0.1, sampleSteps: s.sampleSteps, stepSize: s.stepSize, optim });
      const data = loadDataset(cfg.data, { seed: cfg.seed, nTrain: 8192, nHeld: 500 });
      const { model, arena } = buildToyModel(d, cfg);
      const t = new Trainer(d, arena, toyLoss(d, cfg, model), rows(data.train, 2), trainerConfig(cfg, 50));
      const losses: number[] = [];
      await t.run(cfg.steps, (_, l) => void losses.push(l));
      expect(losses.every(Number.isFinite)).toBe(true);
      const res = await sampleToyModel(d, cfg, emaModel(d, cfg, t), { n: 500 });
      expect(res.samples.every(Number.isFinite)).toBe(true);
      const r = rng(1);
      const start = r.uniform(1000, -cfg.initScale, cfg.initScale);
      const m = evaluateSamples(res.samples, data.held, data.held2, 2);
      const m0 = evaluateSamples(start, data.held, data.held2, 2);
      // the chain must close most of the gap between its uniform start and the data
      expect(m.energyDistance, `ED ${m.energyDistance} vs start ${m0.energyDistance} (floor ${m.floor.energyDistance})`).toBeLessThan(0.3 * m0.energyDistance);
      t.dispose();
    });
  }
});
