// Annealed Langevin sampling of the toy NCSN MLP, eager with one read-back at the end: steps/s.
import { toyConfig, buildToyModel, sigmasOf } from '../../train/toy_recipes.js';
import { annealedLangevin } from '../../score/samplers.js';
import { median } from '../timing.js';
import type { BenchGroup } from '../group.js';

export const samplingGroup: BenchGroup = {
  name: 'sampling',
  async run({ device, quick, add }) {
    const cfg = toyConfig({ loss: 'ncsn' });
    const { model } = buildToyModel(device, cfg);
    const sigmas = sigmasOf(cfg);
    const T = quick ? 10 : 50, n = 1024;
    const run = () => annealedLangevin(device, model, sigmas, { n, shape: [cfg.dim], seed: 3, stepsPerLevel: T, eps: cfg.stepSize, init: 'uniform', initScale: 3, progressEvery: 1_000_000 });
    await run();
    const times: number[] = [];
    for (let r = 0; r < (quick ? 2 : 3); r++) {
      const a = performance.now();
      await run();
      times.push(performance.now() - a);
    }
    const ms = median(times), steps = sigmas.length * T;
    add({
      group: 'sampling', name: 'annealed Langevin (toy NCSN MLP)', shape: `${n} points, ${sigmas.length}×${T} steps`, ms: ms / steps,
      stepsPerSecond: (1e3 * steps) / ms, note: `${((1e3 * steps) / ms).toFixed(0)} steps/s (eager, one read-back at the end)`,
    });
  },
};
